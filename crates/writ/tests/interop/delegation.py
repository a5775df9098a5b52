"""Interop check of the authorization code grant with authlib, as an agent would use it: discovery,
OAuth2Session with PKCE (S256) building the authorization URL, a person logging in and consenting
on Writ's pages (driven over HTTP, as a browser would post the forms), authlib checking `state`
and exchanging the code, then refreshing; PyJWT verifies the person's token against the JWKS.

usage: delegation.py ISSUER CLIENT_ID REDIRECT_URI ORG EMAIL PASSWORD RESOURCE SCOPE
Prints the verified claims as JSON; exits non-zero on any failure.
"""
import html
import json
import os
import re
import sys
from urllib.parse import parse_qs, urljoin, urlparse

# Writ runs over plain HTTP on loopback in the test; authlib wants HTTPS unless told otherwise.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import jwt  # noqa: E402
import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no field {name} in the page"
    return html.unescape(match.group(1))


def follow(browser: requests.Session, issuer: str, response: requests.Response, stop: str) -> str:
    """Follows redirects within Writ until one leaves for `stop` (the agent's redirect URI)."""
    while response.status_code in (302, 303):
        location = urljoin(issuer + "/", response.headers["Location"])
        if location.startswith(stop):
            return location
        response = browser.get(location, allow_redirects=False, timeout=10)
    raise AssertionError(f"no redirect to the agent: {response.status_code} {response.text[:300]}")


def main() -> None:
    issuer, client_id, redirect_uri, org, email, password, resource, scope = sys.argv[1:9]
    meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["code_challenge_methods_supported"] == ["S256"], meta
    assert meta["authorization_response_iss_parameter_supported"] is True, meta

    agent = OAuth2Session(
        client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, state = agent.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, resource=resource)

    # The person: logs in when asked, then allows.
    browser = requests.Session()
    browser.headers["Origin"] = issuer
    start = browser.get(url, allow_redirects=False, timeout=10)
    consent_url = urljoin(issuer + "/", start.headers["Location"])
    login = browser.get(consent_url, allow_redirects=False, timeout=10)
    assert login.status_code == 303 and "/oauth/login" in login.headers["Location"], login.status_code
    form = browser.get(urljoin(issuer + "/", login.headers["Location"]), timeout=10).text
    logged_in = browser.post(
        f"{issuer}/oauth/login",
        data={"csrf": field(form, "csrf"), "return_to": field(form, "return_to"), "org": org, "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 303, logged_in.text[:300]
    page = browser.get(urljoin(issuer + "/", logged_in.headers["Location"]), timeout=10).text
    allowed = browser.post(
        f"{issuer}/oauth/consent",
        data={"csrf": field(page, "csrf"), "request": field(page, "request"), "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    callback = follow(browser, issuer, allowed, redirect_uri)
    assert parse_qs(urlparse(callback).query)["iss"] == [issuer], callback

    # The agent: authlib checks `state` and sends the verifier.
    token = agent.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and "refresh_token" in token, token
    jwks = jwt.PyJWKClient(meta["jwks_uri"])
    key = jwks.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(token["access_token"], key.key, algorithms=["ES256", "RS256", "EdDSA"], audience=resource, issuer=issuer)

    refreshed = agent.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"], "the refresh token rotates"
    again = jwt.decode(refreshed["access_token"], jwks.get_signing_key_from_jwt(refreshed["access_token"]).key, algorithms=["ES256", "RS256", "EdDSA"], audience=resource, issuer=issuer)
    assert again["sub"] == claims["sub"] and again["cred"] == claims["cred"], (claims, again)

    # The first refresh token was used: presenting it again is refused, and ends the family.
    stale = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": token["refresh_token"]}, timeout=10)
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant", stale.text
    gone = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refreshed["refresh_token"]}, timeout=10)
    assert gone.status_code == 400, gone.text
    print(json.dumps({"claims": claims, "refreshed": again}))


if __name__ == "__main__":
    main()
