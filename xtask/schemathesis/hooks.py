"""Schemathesis hooks for `cargo xtask schemathesis`: each request carries a fresh enough token of
the operator for the document's audience (WRIT_ST_RESOURCE), fetched from the server's token
endpoint with the operator's credentials (WRIT_ST_CLIENT_ID, WRIT_ST_CLIENT_SECRET) and renewed
every second, since the fuzzer may revoke the operator's tokens (an allowed call) and a revocation
covers tokens issued within the same second. Without an audience (the OAuth endpoints), requests
carry the credentials themselves, as HTTP Basic. Nothing here reaches a command line or a log."""

import base64
import json
import os
import urllib.parse
import urllib.request

import schemathesis


@schemathesis.auth(refresh_interval=1)
class OperatorToken:
    def get(self, case, context):
        """The `Authorization` header value."""
        credentials = f"{os.environ['WRIT_ST_CLIENT_ID']}:{os.environ['WRIT_ST_CLIENT_SECRET']}"
        basic = "Basic " + base64.b64encode(credentials.encode()).decode()
        resource = os.environ.get("WRIT_ST_RESOURCE")
        if not resource:
            return basic
        request = urllib.request.Request(
            os.environ["WRIT_ST_URL"] + "/oauth/token",
            data=urllib.parse.urlencode({"grant_type": "client_credentials", "resource": resource}).encode(),
            headers={"Authorization": basic},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return "Bearer " + json.load(answer)["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = data
