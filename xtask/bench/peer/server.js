// node-oidc-provider as the benchmark's peer: the client-credentials grant with ES256 JWT access
// tokens (RFC 9068) for one resource, the same scope, and as many clients as Writ's run.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const port = Number(process.env.PORT || 3000);
const issuer = `http://localhost:${port}`;
const resource = "https://bench.writ.dev/api";
const clients = readFileSync(process.env.CLIENTS, "utf8").trim().split("\n").map((line) => {
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
const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
const jwk = { ...(await crypto.subtle.exportKey("jwk", privateKey)), use: "sig", alg: "ES256", kid: "peer-1" };

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [jwk] },
  scopes: ["bench:read"],
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
provider.listen(port, "127.0.0.1", () => console.log(`peer listening on ${issuer}`));
