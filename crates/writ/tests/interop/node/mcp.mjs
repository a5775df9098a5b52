// The official TypeScript MCP SDK's client (@modelcontextprotocol/sdk) against the example MCP
// server (examples/mcp-server) protected by Writ, run by crates/writ/tests/api/mcp.rs: the server's
// 401 → its RFC 9728 metadata → Writ's metadata → the client known by its metadata document (which
// this script serves over HTTPS) → authorization code with PKCE, the person logging in and
// consenting on Writ's pages (driven over HTTP as a browser posts the forms) → a tool call; then a
// tool that needs more scope: 403 insufficient_scope → a second authorization → the call succeeds.
// With `dcr`, the client registers itself (RFC 7591) instead of naming its metadata document.
//
// usage: node mcp.mjs MCP_URL ORG EMAIL PASSWORD CERT KEY cimd|dcr
// Prints what happened as JSON; exits non-zero on any failure.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [mcpUrl, org, email, password, certFile, keyFile, mode] = process.argv.slice(2);
const redirectUrl = 'http://127.0.0.1:53682/callback';

// The client's metadata document, served over HTTPS (a certificate of the test's CA, which Writ
// trusts through fetch_ca_file).
const documents = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.setHeader('cache-control', 'max-age=300');
  res.end(JSON.stringify(metadataDocument()));
});
await new Promise((ready) => documents.listen(0, '127.0.0.1', ready));
const clientMetadataUrl = `https://127.0.0.1:${documents.address().port}/client.json`;
// No refresh tokens: on insufficient_scope this SDK (1.32) refreshes first, and a refresh cannot
// widen a grant (RFC 6749 §6), so it would meet the same 403; without one it authorizes again with
// the scopes the server named. (The Python SDK's run covers refresh tokens.)
const clientMetadata = {
  application_type: 'native',
  client_name: 'Writ MCP interop (TypeScript SDK)',
  redirect_uris: [redirectUrl],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
};
function metadataDocument() {
  return { client_id: clientMetadataUrl, ...clientMetadata };
}

/// A person's browser: keeps Writ's cookies, logs in when asked, allows, and stops at the
/// redirect to the client.
const cookies = new Map();
async function visit(url, init = {}) {
  const headers = { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...init.headers };
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  for (const set of res.headers.getSetCookie()) {
    const [pair] = set.split(';');
    const at = pair.indexOf('=');
    cookies.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return res;
}
const field = (page, name) => {
  const m = page.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no field ${name} in: ${page.slice(0, 500)}`);
  return m[1].replaceAll('&#43;', '+').replaceAll('&#47;', '/').replaceAll('&#61;', '=').replaceAll('&amp;', '&');
};
async function personAllows(authorizationUrl) {
  const origin = new URL(authorizationUrl).origin;
  const post = (path, form) => visit(origin + path, {
    method: 'POST', body: new URLSearchParams(form), headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
  });
  let res = await visit(authorizationUrl.toString());
  for (let hops = 0; hops < 10; hops++) {
    if (res.status === 303 || res.status === 302) {
      const location = new URL(res.headers.get('location'), origin);
      if (location.href.startsWith(redirectUrl)) return location;
      res = await visit(location.href);
      continue;
    }
    const page = await res.text();
    if (res.status !== 200) throw new Error(`Writ answered ${res.status}: ${page.slice(0, 500)}`);
    if (page.includes('name="password"')) {
      res = await post('/oauth/login', { csrf: field(page, 'csrf'), return_to: field(page, 'return_to'), org, email, password });
    } else if (page.includes('name="decision"')) {
      seen.consentPages.push(page.match(/describes itself on <strong>([^<]*)<\/strong>/)?.[1] ?? (page.includes('nobody checked it') ? 'unverified' : null));
      res = await post('/oauth/consent', { csrf: field(page, 'csrf'), request: field(page, 'request'), decision: 'allow' });
    } else {
      throw new Error(`an unexpected page: ${page.slice(0, 500)}`);
    }
  }
  throw new Error('too many redirects');
}

const seen = { authorizations: [], consentPages: [], tokens: [] };
let pendingCode = null;
let verifier;
let stored;
let tokens;
const provider = {
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() { return clientMetadata; },
  clientMetadataUrl: mode === 'dcr' ? undefined : clientMetadataUrl,
  clientInformation: () => stored,
  saveClientInformation: (info) => {
    stored = info;
    seen.registered = info.client_id;
  },
  tokens: () => tokens,
  saveTokens: (t) => {
    if (t.refresh_token) throw new Error('a refresh token, though the client asked for none');
    tokens = t;
    seen.tokens.push(JSON.parse(Buffer.from(t.access_token.split('.')[1], 'base64url')));
  },
  saveCodeVerifier: (v) => { verifier = v; },
  codeVerifier: () => verifier,
  async redirectToAuthorization(url) {
    seen.authorizations.push(Object.fromEntries(url.searchParams));
    const back = await personAllows(url);
    if (back.searchParams.get('iss') === null) throw new Error(`no iss in ${back}`);
    pendingCode = back.searchParams.get('code');
  },
};

/// Runs `call` on a connected client, going through the authorization when the server asks.
async function withAuthorization(call) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    const client = new Client({ name: 'writ-interop', version: '1.0.0' });
    try {
      await client.connect(transport);
      return await call(client);
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || pendingCode === null) throw e;
      await transport.finishAuth(pendingCode);
      pendingCode = null;
    } finally {
      await client.close().catch(() => {});
    }
  }
  throw new Error('still unauthorized after authorizing');
}

const text = (result) => JSON.parse(result.content[0].text);
const tools = await withAuthorization(async (client) => (await client.listTools()).tools.map((t) => t.name));
const listed = await withAuthorization(async (client) => text(await client.callTool({ name: 'list_invoices', arguments: {} })));
const created = await withAuthorization(async (client) => text(await client.callTool({ name: 'create_invoice', arguments: { amount: 1200 } })));
documents.close();
console.log(JSON.stringify({ clientId: mode === 'dcr' ? seen.registered : clientMetadataUrl, tools, listed, created, ...seen }));
