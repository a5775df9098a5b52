// node-oidc-provider as the benchmark's peer: the client-credentials grant with ES256 JWT access
// tokens (RFC 9068) for one resource, the same scope, and as many clients as Writ's run.
import { readFileSync, writeFileSync } from "node:fs";
import Provider from "oidc-provider";

const port = Number(process.env.PORT || 3000);
const issuer = `http://localhost:${port}`;
const resource = "https://bench.writ.dev/api";
const clients = (process.env.CLIENTS ? readFileSync(process.env.CLIENTS, "utf8").trim().split("\n") : []).map((line) => {
  const [client_id, client_secret] = Buffer.from(line.replace(/^Basic /, ""), "base64").toString().split(":");
  return { client_id, client_secret, grant_types: ["client_credentials"], redirect_uris: [], response_types: [],
           token_endpoint_auth_method: "client_secret_basic", scope: "bench:read", id_token_signed_response_alg: "ES256" };
});
// With KEY_CLIENTS (one client id per line) and KEY_CLIENTS_JWK (their public key), private_key_jwt
// clients too, for `cargo xtask bench --client-auth`.
if (process.env.KEY_CLIENTS) {
  const keys = { keys: [JSON.parse(process.env.KEY_CLIENTS_JWK)] };
  for (const client_id of readFileSync(process.env.KEY_CLIENTS, "utf8").trim().split("\n")) {
    clients.push({ client_id, grant_types: ["client_credentials"], redirect_uris: [], response_types: [],
                   token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "ES256",
                   jwks: keys, scope: "bench:read", id_token_signed_response_alg: "ES256" });
  }
}
// With PEOPLE (a count) and PEOPLE_OUT (a file), a public agent and that many people who
// authorized it, each with a refresh token, written one per line for `cargo xtask bench --delegated`.
const agent = "agent";
if (process.env.PEOPLE) {
  clients.push({ client_id: agent, grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
                 redirect_uris: ["http://127.0.0.1/callback"], token_endpoint_auth_method: "none",
                 scope: "offline_access bench:read", id_token_signed_response_alg: "ES256" });
}
// For PEOPLE, an unbounded in-memory adapter: the quick-start one is an LRU of 1,000 entries,
// fewer than the grants and refresh tokens of the run, whose evicted grants then fail to refresh.
const stored = new Map();
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload) {
    stored.set(this.key(id), payload);
    if (payload.grantId) {
      const members = stored.get(`grant:${payload.grantId}`) ?? new Set();
      stored.set(`grant:${payload.grantId}`, members.add(this.key(id)));
    }
  }
  async find(id) { return stored.get(this.key(id)); }
  async findByUid() { return undefined; }
  async findByUserCode() { return undefined; }
  async consume(id) { const p = stored.get(this.key(id)); if (p) p.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { stored.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const key of stored.get(`grant:${grantId}`) ?? []) stored.delete(key);
    stored.delete(`grant:${grantId}`);
  }
}
const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
const jwk = { ...(await crypto.subtle.exportKey("jwk", privateKey)), use: "sig", alg: "ES256", kid: "peer-1" };

const provider = new Provider(issuer, {
  ...(process.env.PEOPLE ? { adapter: MapAdapter } : {}),
  clients,
  jwks: { keys: [jwk] },
  scopes: ["bench:read", "offline_access"],
  // Every refresh token works once, as Writ's do.
  rotateRefreshToken: true,
  findAccount: (ctx, accountId) => ({ accountId, claims: async () => ({ sub: accountId }) }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      getResourceServerInfo: () => ({ scope: "bench:read", audience: resource, accessTokenFormat: "jwt",
                                      accessTokenTTL: 3600, jwt: { sign: { alg: "ES256" } } }),
      useGrantedResource: () => true,
    },
  },
});
if (process.env.PEOPLE) {
  const client = await provider.Client.find(agent);
  const lines = [];
  for (let i = 0; i < Number(process.env.PEOPLE); i++) {
    const accountId = `person${i}`;
    const grant = new provider.Grant({ accountId, clientId: agent });
    grant.addOIDCScope("offline_access");
    grant.addResourceScope(resource, "bench:read");
    const grantId = await grant.save();
    const refresh = new provider.RefreshToken({ accountId, client, grantId, gty: "authorization_code",
                                                scope: "offline_access bench:read", resource, iiat: Math.floor(Date.now() / 1000) });
    lines.push(`\tclient_id=${agent}&refresh_token=${await refresh.save()}`);
  }
  writeFileSync(process.env.PEOPLE_OUT, lines.join("\n") + "\n");
}
provider.listen(port, "127.0.0.1", () => console.log(`peer listening on ${issuer}`));
