"""The vendor's side of Writ's `redirect` login mode (docs/delegation.md), complete and runnable.

Writ sends a person's browser to LOGIN_URL?request=<a login request Writ signed>. This app checks
the request with Writ's published keys, logs the person in its usual way (here: its own form and
session cookie), and sends the browser back to Writ with a login response signed by its own key,
whose public half the operator gave Writ as `login_keys`.

    pip install 'pyjwt[crypto]'
    WRIT_ISSUER=https://auth.example.com LOGIN_URL=https://app.example.com/writ/login \
        SIGNING_KEY=vendor-key.pem PORT=8000 python3 vendor_login.py

Writ's CI runs this file against a live Writ in headless Chromium (crates/writ/tests/api/browser.rs).
"""

import html
import os
import secrets
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt  # PyJWT

WRIT_ISSUER = os.environ["WRIT_ISSUER"]  # Writ's issuer, exactly as its discovery document says
LOGIN_URL = os.environ["LOGIN_URL"]  # exactly the login_url Writ was given (the request's `aud`)
with open(os.environ["SIGNING_KEY"], "rb") as f:  # a P-256 private key (PEM)
    SIGNING_KEY = f.read()
KEY_ID = os.environ.get("KEY_ID", "vendor-1")  # the `kid` of its public JWK in `login_keys`

writ_keys = jwt.PyJWKClient(f"{WRIT_ISSUER}/.well-known/jwks.json", cache_keys=True)

# The vendor's own people and sessions; a real app has its database, SSO and session store.
PEOPLE = {
    "ada": {"password": "ada's vendor password", "id": "v-ada", "email": "ada@acme.example", "org": "acme"},
}
SESSIONS = {}


def check_login_request(token):
    """The claims of a login request that Writ signed for this page, or an exception."""
    if jwt.get_unverified_header(token).get("typ") != "writ-login-request+jwt":
        raise jwt.InvalidTokenError("not a Writ login request")
    key = writ_keys.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["ES256", "RS256", "EdDSA"],
        audience=LOGIN_URL,
        issuer=WRIT_ISSUER,
        options={"require": ["exp", "iat", "jti", "return_to"]},
    )
    if not claims["return_to"].startswith(WRIT_ISSUER + "/"):
        raise jwt.InvalidTokenError("return_to is not Writ's")
    return claims


def login_response_url(request, person):
    """Where to send the browser: Writ's callback with a response naming the org and the person."""
    now = int(time.time())
    response = jwt.encode(
        {
            "iss": LOGIN_URL,
            "aud": WRIT_ISSUER,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
            "in_response_to": request["jti"],  # binds the response to the browser that asked
            "org_slug": person["org"],  # or "org": the Writ org id
            "external_id": person["id"],  # or "user_id": the Writ user id
            "email": person["email"],  # needed where the org creates people on first login
        },
        SIGNING_KEY,
        algorithm="ES256",
        headers={"typ": "writ-login-response+jwt", "kid": KEY_ID},
    )
    return request["return_to"] + "?" + urllib.parse.urlencode({"response": response})


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != urllib.parse.urlsplit(LOGIN_URL).path:
            return self.answer(404, "not found")
        token = urllib.parse.parse_qs(url.query).get("request", [""])[0]
        try:
            request = check_login_request(token)
        except Exception as e:  # noqa: BLE001 - any bad request gets the same answer
            return self.answer(400, f"bad login request: {e}")
        person = SESSIONS.get(self.cookie("vendor_session"))
        if person:  # already logged in here: straight back to Writ
            return self.redirect(login_response_url(request, person))
        self.answer(
            200,
            '<h1>Log in to Example App</h1><form method="post" action="/login">'
            f'<input type="hidden" name="request" value="{html.escape(token)}">'
            '<label for="username">Username</label><input id="username" name="username">'
            '<label for="password">Password</label><input id="password" name="password" type="password">'
            '<button type="submit">Log in</button></form>',
        )

    def do_POST(self):
        length = min(int(self.headers.get("Content-Length", 0)), 16384)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        field = lambda name: form.get(name, [""])[0]  # noqa: E731
        try:
            request = check_login_request(field("request"))
        except Exception as e:  # noqa: BLE001
            return self.answer(400, f"bad login request: {e}")
        person = PEOPLE.get(field("username"))
        if not person or not secrets.compare_digest(person["password"], field("password")):
            return self.answer(401, "wrong username or password")
        session = secrets.token_urlsafe(32)
        SESSIONS[session] = person
        self.redirect(login_response_url(request, person), f"vendor_session={session}; Path=/; HttpOnly; SameSite=Lax")

    def cookie(self, name):
        for pair in self.headers.get("Cookie", "").split(";"):
            key, _, value = pair.strip().partition("=")
            if key == name:
                return value
        return None

    def redirect(self, location, cookie=None):
        self.send_response(303)
        self.send_header("Location", location)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(f"<!doctype html><title>Example App</title>{body}".encode())

    def log_message(self, *args):  # no request lines (with their tokens) in the log
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
