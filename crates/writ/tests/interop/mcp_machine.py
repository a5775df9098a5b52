"""The official MCP Python SDK's machine and enterprise clients (`mcp`, PyPI) against the example
MCP server (examples/mcp-server) protected by Writ, run by crates/writ/tests/api/mcp.rs:

- `ClientCredentialsOAuthProvider`: client credentials with a secret;
- `PrivateKeyJWTOAuthProvider`: client credentials with a `private_key_jwt` assertion the SDK signs;
- `IdentityAssertionOAuthProvider`: enterprise-managed authorization, an ID-JAG (signed here as
  the org's IdP would) traded with the jwt-bearer grant for the person's token.

Each lists the invoices through the MCP server.

usage: mcp_machine.py MCP_URL ISSUER CC_ID CC_SECRET PKJ_ID PKJ_KEY JAG_ID JAG_SECRET IDP IDP_KEY EMAIL
(the keys are PEM files). Prints what each tool call answered as JSON; exits non-zero on any failure.
"""
import asyncio
import json
import sys
import time
import uuid

import httpx2
import jwt
from mcp import ClientSession
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp_storage import Memory

MCP_URL, ISSUER, CC_ID, CC_SECRET, PKJ_ID, PKJ_KEY, JAG_ID, JAG_SECRET, IDP, IDP_KEY, EMAIL = sys.argv[1:12]


async def list_invoices(auth) -> dict:
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                result = await session.call_tool("list_invoices", {})
                return json.loads(result.content[0].text)


async def fetch_id_jag(audience: str, resource: str) -> str:
    """What the org's IdP answers to the client's token exchange: an ID-JAG for the person."""
    now = int(time.time())
    claims = {"iss": IDP, "sub": "ada-at-idp", "email": EMAIL, "aud": audience, "client_id": JAG_ID,
              "jti": str(uuid.uuid4()), "iat": now, "exp": now + 300, "resource": resource, "scope": "invoices:read"}
    key = open(IDP_KEY).read()
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "oauth-id-jag+jwt", "kid": "idp-1"})


async def main() -> None:
    secret = ClientCredentialsOAuthProvider(
        server_url=MCP_URL, storage=Memory(), client_id=CC_ID, client_secret=CC_SECRET, scope="invoices:read", issuer=ISSUER
    )
    signed = SignedJWTParameters(issuer=PKJ_ID, subject=PKJ_ID, signing_key=open(PKJ_KEY).read(), signing_algorithm="ES256")
    key = PrivateKeyJWTOAuthProvider(
        server_url=MCP_URL,
        storage=Memory(),
        client_id=PKJ_ID,
        assertion_provider=signed.create_assertion_provider(),
        scope="invoices:read",
        issuer=ISSUER,
    )
    enterprise = IdentityAssertionOAuthProvider(
        server_url=MCP_URL,
        storage=Memory(),
        client_id=JAG_ID,
        client_secret=JAG_SECRET,
        issuer=ISSUER,
        assertion_provider=fetch_id_jag,
        scope="invoices:read",
    )
    results = {}
    for name, auth in [("client_secret", secret), ("private_key_jwt", key), ("id_jag", enterprise)]:
        results[name] = await list_invoices(auth)
    print(json.dumps(results))


asyncio.run(main())
