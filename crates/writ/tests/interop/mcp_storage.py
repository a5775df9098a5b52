"""The MCP Python SDK's token storage for the interop scripts (mcp_client.py, mcp_machine.py): in
memory, telling `seen` (when given) each token's claims and the registered client's id."""
import base64
import json

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class Memory:
    def __init__(self, seen: dict | None = None):
        self.tokens = None
        self.client = None
        self.seen = seen

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        if self.seen is not None:
            payload = tokens.access_token.split(".")[1]
            self.seen["tokens"].append(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info
        if self.seen is not None:
            self.seen["registered"] = client_info.client_id
