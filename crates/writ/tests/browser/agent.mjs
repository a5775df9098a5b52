// The agent of the browser tests: a loopback listener for its redirect URI (a registered loopback
// redirect URI matches any port, RFC 8252 §7.3), PKCE, its authorization URL, and the code exchange
// that ends the flow, returning the access token's claims.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

export async function startAgent(issuer, clientId, redirectUri) {
  const server = createServer((req, res) => res.end('agent'));
  await new Promise((ready) => server.listen(0, '127.0.0.1', ready));
  const callback = redirectUri.replace('127.0.0.1/', `127.0.0.1:${server.address().port}/`);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return {
    callback,
    authorize: (state) => `${issuer}/oauth/authorize?` + new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: callback, scope: 'invoices:read',
      state, code_challenge: challenge, code_challenge_method: 'S256',
    }),
    /// The claims of the access token `code` is exchanged for; throws unless the exchange works.
    async exchange(code) {
      const res = await fetch(`${issuer}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: callback, code_verifier: verifier,
        }),
      });
      if (res.status !== 200) throw new Error(`the code exchange: ${res.status}`);
      return JSON.parse(Buffer.from((await res.json()).access_token.split('.')[1], 'base64url'));
    },
    close: () => server.close(),
  };
}
