"""Interop check of workload identity federation: a GitHub-Actions-shaped OIDC token minted with
PyJWT by a stand-in for the platform is traded for a Writ token through the jwt-bearer grant, then
sent as a client assertion; Writ's tokens are verified with PyJWT.

usage: federated.py ISSUER CLIENT_ID PLATFORM_KEY_PEM PLATFORM_ISSUER KID RESOURCE
Prints the verified claims as JSON; exits non-zero on any failure.
"""
import json
import sys
import time
import uuid

import jwt
import requests

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def github_token(pem: bytes, platform: str, kid: str, audience: str) -> str:
    now = int(time.time())
    claims = {
        "jti": str(uuid.uuid4()),
        "sub": "repo:acme/app:ref:refs/heads/main",
        "aud": audience,
        "ref": "refs/heads/main",
        "repository": "acme/app",
        "repository_owner": "acme",
        "job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/main",
        "event_name": "push",
        "iss": platform,
        "nbf": now - 5,
        "iat": now - 5,
        "exp": now + 295,
    }
    return jwt.encode(claims, pem, algorithm="ES256", headers={"kid": kid})


def main() -> None:
    issuer, client_id, pem_path, platform, kid, resource = sys.argv[1:7]
    pem = open(pem_path, "rb").read()
    meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    assert JWT_BEARER in meta["grant_types_supported"], meta
    endpoint = meta["token_endpoint"]

    granted = requests.post(
        endpoint,
        data={"grant_type": JWT_BEARER, "client_id": client_id, "resource": resource,
              "assertion": github_token(pem, platform, kid, issuer)},
        timeout=10,
    )
    assert granted.status_code == 200, granted.text
    assertion = github_token(pem, platform, kid, endpoint)
    as_client = requests.post(
        endpoint,
        data={"grant_type": "client_credentials", "client_id": client_id, "resource": resource,
              "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion},
        timeout=10,
    )
    assert as_client.status_code == 200, as_client.text
    replayed = requests.post(
        endpoint,
        data={"grant_type": JWT_BEARER, "client_id": client_id, "assertion": assertion},
        timeout=10,
    )
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client", replayed.text

    jwks = jwt.PyJWKClient(meta["jwks_uri"])
    verified = []
    for answer in (granted, as_client):
        token = answer.json()["access_token"]
        key = jwks.get_signing_key_from_jwt(token)
        header = jwt.get_unverified_header(token)
        verified.append(jwt.decode(token, key.key, algorithms=[header["alg"]], audience=resource, issuer=issuer))
    print(json.dumps(verified))


if __name__ == "__main__":
    main()
