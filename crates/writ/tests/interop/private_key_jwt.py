"""Interop check of private_key_jwt: authlib's client authentication, and assertions built by hand
with PyJWT and with joserfc, each get a token from Writ; a replayed assertion is refused.

usage: private_key_jwt.py ISSUER CLIENT_ID PRIVATE_KEY_PEM KID ALG RESOURCE
Prints the claims of the tokens (verified with PyJWT) as JSON; exits non-zero on any failure.
"""
import json
import sys
import time
import uuid

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """authlib's private_key_jwt with a one-minute assertion: authlib signs for an hour unless told
    otherwise, and Writ accepts at most five minutes. Fresh claims per request, so each assertion
    also gets its own `jti` (authlib adds it to the claims it is given)."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


def import_key(pem: bytes, alg: str):
    kind = {"ES256": ECKey, "RS256": RSAKey, "PS256": RSAKey, "EdDSA": OKPKey}[alg]
    return kind.import_key(pem)


def by_hand(token_endpoint: str, client_id: str, assertion: str, resource: str) -> requests.Response:
    return requests.post(
        token_endpoint,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "resource": resource,
        },
        timeout=10,
    )


def main() -> None:
    issuer, client_id, pem_path, kid, alg, resource = sys.argv[1:7]
    pem = open(pem_path, "rb").read()
    meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"], meta
    assert alg in meta["token_endpoint_auth_signing_alg_values_supported"], meta
    endpoint = meta["token_endpoint"]
    tokens = []

    # 1. authlib: the client authentication method as its users configure it. Its default
    #    assertion lives an hour, which Writ refuses; two requests, two assertions.
    too_long = OAuth2Session(
        client_id, import_key(pem, alg), token_endpoint_auth_method=PrivateKeyJWT(endpoint, alg=alg)
    )
    try:
        too_long.fetch_token(endpoint, grant_type="client_credentials", resource=resource)
    except Exception as refused:  # authlib's OAuthError
        assert "invalid_client" in str(refused), refused
    else:
        raise AssertionError("an assertion valid for an hour was accepted")
    session = OAuth2Session(
        client_id,
        import_key(pem, alg),
        token_endpoint_auth_method=ShortLivedPrivateKeyJWT(endpoint, alg=alg, headers={"kid": kid}),
    )
    for _ in range(2):
        token = session.fetch_token(endpoint, grant_type="client_credentials", resource=resource)
    tokens.append(token["access_token"])

    # 2. PyJWT: an assertion built by hand, the issuer as its audience; used twice, refused twice.
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": issuer, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    assertion = jwt.encode(claims, pem, algorithm=alg, headers={"kid": kid})
    first = by_hand(endpoint, client_id, assertion, resource)
    assert first.status_code == 200, first.text
    tokens.append(first.json()["access_token"])
    replay = by_hand(endpoint, client_id, assertion, resource)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client", replay.text

    # 3. joserfc: no kid in the header (the key of the algorithm is found), the endpoint as `aud`.
    claims = dict(claims, aud=endpoint, jti=str(uuid.uuid4()))
    assertion = jose_jwt.encode({"alg": alg}, claims, import_key(pem, alg), algorithms=[alg])
    answer = by_hand(endpoint, client_id, assertion, resource)
    assert answer.status_code == 200, answer.text
    tokens.append(answer.json()["access_token"])

    jwks = jwt.PyJWKClient(meta["jwks_uri"])
    verified = []
    for access_token in tokens:
        key = jwks.get_signing_key_from_jwt(access_token)
        header = jwt.get_unverified_header(access_token)
        claims = jwt.decode(access_token, key.key, algorithms=[header["alg"]], audience=resource, issuer=issuer)
        assert claims["sub"] == client_id, claims
        verified.append(claims)
    print(json.dumps(verified))


if __name__ == "__main__":
    main()
