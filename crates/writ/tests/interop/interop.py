"""Interop check: a standard OAuth client library (authlib) finds Writ through discovery and gets
a client-credentials token; an independent JWT library (PyJWT, keys from PyJWKClient) verifies it.

usage: interop.py ISSUER CLIENT_ID CLIENT_SECRET RESOURCE SCOPE
Prints the verified claims as JSON; exits non-zero on any failure.
"""
import json
import sys

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session


def main() -> None:
    issuer, client_id, secret, resource, scope = sys.argv[1:6]
    meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["issuer"] == issuer, meta
    assert "client_credentials" in meta["grant_types_supported"], meta
    oidc = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert oidc == meta, "both discovery documents agree"

    tokens = []
    for method in ("client_secret_basic", "client_secret_post"):
        assert method in meta["token_endpoint_auth_methods_supported"], meta
        session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, scope=scope)
        token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials", resource=resource)
        assert token["token_type"] == "Bearer", token
        tokens.append(token["access_token"])

    jwks = jwt.PyJWKClient(meta["jwks_uri"])
    for access_token in tokens:
        header = jwt.get_unverified_header(access_token)
        assert header["typ"] == "at+jwt", header
        key = jwks.get_signing_key_from_jwt(access_token)
        claims = jwt.decode(
            access_token,
            key.key,
            algorithms=[header["alg"]],
            audience=resource,
            issuer=issuer,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
        )
        assert claims["scope"] == scope, claims
        assert claims["client_id"] == client_id == claims["sub"], claims
        try:
            jwt.decode(access_token, key.key, algorithms=[header["alg"]], audience="https://elsewhere.example.com")
        except jwt.InvalidAudienceError:
            pass
        else:
            raise AssertionError("a token for another audience was accepted")
    print(json.dumps({"alg": header["alg"], "claims": claims}))


if __name__ == "__main__":
    main()
