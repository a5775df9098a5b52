"""The official MCP Python SDK's client (`mcp`, PyPI) against the example MCP server
(examples/mcp-server) protected by Writ, run by crates/writ/tests/api/mcp.rs: the server's 401 →
its RFC 9728 metadata → Writ's metadata → the client known by its metadata document (which this
script serves over HTTPS) → authorization code with PKCE, the person logging in and consenting on
Writ's pages (driven over HTTP as a browser posts the forms) → a tool call; then a tool that needs
more scope: 403 insufficient_scope → a second authorization → the call succeeds.

With `dcr`, the client registers itself (RFC 7591) instead of naming its metadata document.

usage: mcp_client.py MCP_URL ORG EMAIL PASSWORD CERT KEY cimd|dcr
Prints what happened as JSON; exits non-zero on any failure.
"""
import asyncio
import html
import json
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
import requests
from mcp import ClientSession
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata
from mcp_storage import Memory

MCP_URL, ORG, EMAIL, PASSWORD, CERT, KEY, MODE = sys.argv[1:8]
REDIRECT = "http://127.0.0.1:53683/callback"
METADATA = {
    "client_name": "Writ MCP interop (Python SDK)",
    "redirect_uris": [REDIRECT],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}
seen = {"authorizations": [], "consentPages": [], "tokens": []}


def serve_document() -> str:
    """Serves the client's metadata document over HTTPS (a certificate of the test's CA); its URL."""
    holder = {}

    class Document(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps({"client_id": holder["url"], **METADATA}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("cache-control", "max-age=300")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Document)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    holder["url"] = f"https://127.0.0.1:{server.server_address[1]}/client.json"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return holder["url"]


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no field {name} in {page[:500]}"
    return html.unescape(match.group(1))


browser = requests.Session()
callback: dict = {}


def person_allows(url: str) -> str:
    """The person's browser: logs in when asked, allows, stops at the redirect to the client."""
    origin = "{0.scheme}://{0.netloc}".format(urlparse(url))
    browser.headers["Origin"] = origin
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.status_code in (302, 303):
            location = urljoin(origin + "/", response.headers["Location"])
            if location.startswith(REDIRECT):
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        page = response.text
        assert response.status_code == 200, f"Writ answered {response.status_code}: {page[:500]}"
        if 'name="password"' in page:
            form = {"csrf": field(page, "csrf"), "return_to": field(page, "return_to"), "org": ORG, "email": EMAIL, "password": PASSWORD}
            response = browser.post(f"{origin}/oauth/login", data=form, allow_redirects=False, timeout=10)
        elif 'name="decision"' in page:
            host = re.search(r"describes itself on <strong>([^<]*)</strong>", page)
            seen["consentPages"].append(host.group(1) if host else ("unverified" if "nobody checked it" in page else None))
            form = {"csrf": field(page, "csrf"), "request": field(page, "request"), "decision": "allow"}
            response = browser.post(f"{origin}/oauth/consent", data=form, allow_redirects=False, timeout=10)
        else:
            raise AssertionError(f"an unexpected page: {page[:500]}")
    raise AssertionError("too many redirects")


async def redirect_handler(url: str) -> None:
    seen["authorizations"].append({k: v[0] for k, v in parse_qs(urlparse(url).query).items()})
    callback["url"] = await asyncio.to_thread(person_allows, url)


async def callback_handler() -> AuthorizationCodeResult:
    query = parse_qs(urlparse(callback.pop("url")).query)
    return AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0])


async def main() -> None:
    document_url = serve_document()
    provider = OAuthClientProvider(
        server_url=MCP_URL,
        client_metadata=OAuthClientMetadata.model_validate(METADATA),
        storage=Memory(seen),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=document_url if MODE == "cimd" else None,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                tools = [t.name for t in (await session.list_tools()).tools]
                listed = await session.call_tool("list_invoices", {})
                created = await session.call_tool("create_invoice", {"amount": 1200})
    text = lambda result: json.loads(result.content[0].text)  # noqa: E731
    client_id = document_url if MODE == "cimd" else seen.get("registered")
    print(json.dumps({"clientId": client_id, "tools": tools, "listed": text(listed), "created": text(created), **seen}))


asyncio.run(main())
