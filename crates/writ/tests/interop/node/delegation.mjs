// Interop check of the authorization code grant with Node's openid-client 6: discovery, an
// authorization URL with PKCE (S256) and state, a person logging in and consenting on Writ's pages
// (posted over HTTP as a browser would), openid-client checking `state` and `iss` (RFC 9207) and
// exchanging the code, a refresh; then the same through PAR (RFC 9126), where the remembered
// consent answers at once.
//
// usage: node delegation.mjs ISSUER CLIENT_ID REDIRECT_URI ORG EMAIL PASSWORD RESOURCE SCOPE
// Prints the token claims as JSON; exits non-zero on any failure.
import * as client from 'openid-client';

const [issuer, clientId, redirectUri, org, email, password, resource, scope] = process.argv.slice(2);

function assert(ok, what) {
  if (!ok) throw new Error(`assertion failed: ${what}`);
}

/// A browser that keeps cookies and follows nothing by itself.
class Browser {
  cookies = new Map();
  async go(url, form) {
    const headers = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = issuer;
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(new URL(url, issuer), { method: form ? 'POST' : 'GET', headers, body, redirect: 'manual' });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }
}

function field(page, name) {
  const m = page.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert(m, `a ${name} field`);
  return m[1].replaceAll('&amp;', '&').replaceAll('&#38;', '&').replaceAll('&#43;', '+').replaceAll('&#47;', '/').replaceAll('&#61;', '=');
}

/// Follows Writ's redirects until one leaves for the agent's redirect URI.
async function toAgent(browser, answer) {
  while (answer.status === 302 || answer.status === 303) {
    const next = new URL(answer.location, issuer).href;
    if (next.startsWith(redirectUri)) return new URL(next);
    answer = await browser.go(next);
  }
  throw new Error(`no redirect to the agent: ${answer.status} ${answer.text.slice(0, 300)}`);
}

const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
const meta = config.serverMetadata();
assert(meta.authorization_response_iss_parameter_supported === true, 'RFC 9207 advertised');
assert(meta.code_challenge_methods_supported.includes('S256'), 'S256 advertised');

const browser = new Browser();
let verifier = client.randomPKCECodeVerifier();
let state = client.randomState();
const params = {
  redirect_uri: redirectUri,
  scope,
  resource,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
};

// The person logs in when asked, then allows.
let answer = await browser.go(client.buildAuthorizationUrl(config, params).href);
answer = await browser.go(answer.location);
assert(answer.status === 303 && answer.location.startsWith('/oauth/login'), 'asked to log in');
const form = await browser.go(answer.location);
answer = await browser.go('/oauth/login', {
  csrf: field(form.text, 'csrf'), return_to: field(form.text, 'return_to'), org, email, password,
});
assert(answer.status === 303, `logged in (${answer.status})`);
const page = await browser.go(answer.location);
answer = await browser.go('/oauth/consent', {
  csrf: field(page.text, 'csrf'), request: field(page.text, 'request'), decision: 'allow',
});
let callback = await toAgent(browser, answer);

// openid-client checks state and iss, and sends the verifier.
const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
assert(tokens.refresh_token, 'a refresh token');
const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
assert(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token rotates');

// The same through PAR; the consent is remembered, so the answer comes at once.
verifier = client.randomPKCECodeVerifier();
state = client.randomState();
const parUrl = await client.buildAuthorizationUrlWithPAR(config, {
  ...params,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  state,
});
assert(parUrl.searchParams.get('request_uri').startsWith('urn:ietf:params:oauth:request_uri:'), 'a request_uri');
answer = await browser.go(parUrl.href);
answer = await browser.go(answer.location);
callback = await toAgent(browser, answer);
const viaPar = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
const parClaims = JSON.parse(Buffer.from(viaPar.access_token.split('.')[1], 'base64url'));
assert(parClaims.sub === claims.sub, 'the same person');

console.log(JSON.stringify({ claims, par: parClaims }));
