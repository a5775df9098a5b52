//! `cargo xtask bench --client-auth`: the token endpoint's client-authentication methods in one
//! run on one embedded `writ serve` — secrets (HTTP Basic), `private_key_jwt` (an ES256 assertion
//! per request, each used once) and workload identity federation (a Kubernetes-style token reused,
//! as pods do) — beside node-oidc-provider authenticating with `private_key_jwt` as well. The rows
//! go into `docs/benchmarks.json` (`client_authentication`) and `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::bench::{self, Load, Order};
use crate::server::{Server, target_dir};

/// Clients per method: as many as the main run's, so no client nears its own rate limit.
const CLIENTS: usize = 1_000;
const CONNECTIONS: u32 = 32;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CLUSTER: &str = "https://oidc.cluster.bench.writ.dev";
/// The resource `writ bench-seed` creates (crates/writ/src/seed.rs).
const BENCH_RESOURCE: &str = "https://bench.writ.dev/api";

pub fn run(seconds: u32) -> Result<(), String> {
    bench::ensure_wrk()?;
    crate::cargo(&["build", "--release", "-p", "writ"])?;
    let work = std::env::temp_dir().join(format!("writ-bench-auth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let env =
        vec![("WRIT_DATA_DIR", work.join("data").display().to_string()), ("WRIT_LOG", "info".to_owned())];
    let secrets = bench::seed(&work, &env, CLIENTS)?;
    let server = Server::start(
        &target_dir().join("release/writ"),
        &["serve"],
        &env,
        &work.join("serve.log"),
        "/readyz",
    )?;
    let admin = Admin::sign_in(&server, &work.join("data/operator.json"))?;

    // One key for every key client, the same as the cluster's key for every federated client:
    // what is measured is the check per request, not how many keys there are.
    let (private, public) = key_pair()?;
    let signer =
        writ_token::AssertionSigner::from_pem(&private, Some("bench-1"), false).map_err(|e| e.to_string())?;
    let mut jwk = writ_token::public_jwk_from_pem(&public).map_err(|e| e.to_string())?;
    jwk["kid"] = "bench-1".into();
    let org =
        admin.call("GET", "/admin/v1/orgs", None)?["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    let grants = json!([{"resource": BENCH_RESOURCE, "scopes": ["bench:read"]}]);
    admin.call(
        "POST",
        "/admin/v1/trusted-issuers",
        Some(
            json!({"issuer": CLUSTER, "name": "bench cluster", "jwks": {"keys": [jwk]}, "single_use": false}),
        ),
    )?;
    let (mut key_clients, mut federated) = (Vec::new(), Vec::new());
    for i in 0..CLIENTS {
        let body = json!({"name": format!("key-{i}"), "kind": "org", "org_id": org, "grants": grants, "jwks": {"keys": [jwk]}});
        key_clients.push(id(&admin.call("POST", "/admin/v1/clients", Some(body))?)?);
        let body = json!({"name": format!("pod-{i}"), "kind": "org", "org_id": org, "grants": grants,
                          "token_endpoint_auth_methods": ["federated"]});
        let client = id(&admin.call("POST", "/admin/v1/clients", Some(body))?)?;
        let credential = json!({"issuer": CLUSTER, "name": "pods", "subject": format!("system:serviceaccount:bench:sa-{i}")});
        admin.call("POST", &format!("/admin/v1/clients/{client}/federated-credentials"), Some(credential))?;
        federated.push(client);
    }

    // Requests files: a line is `Authorization` TAB form (no header when empty). Assertions name
    // the issuer as their audience: node-oidc-provider 9 takes nothing else (RFC 7523bis).
    let issuer = format!("http://localhost:{}", server.port);
    let token_endpoint = format!("{issuer}/oauth/token");
    let assertions = |aud: &str, n: usize| -> Result<String, String> {
        let mut out = String::new();
        let now = time_now();
        for i in 0..n {
            let client = &key_clients[i % key_clients.len()];
            let claims = json!({"iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + 290,
                                "jti": writ_core::id::new_token_id()});
            let jwt = signer.sign(&claims).map_err(|e| e.to_string())?;
            let _ = writeln!(out, "\tclient_assertion_type={ASSERTION_TYPE}&client_assertion={jwt}");
        }
        Ok(out)
    };
    // Each assertion once: enough for a generous rate over the run, walked in turn.
    let budget = 40_000 * seconds as usize;
    let pkj_warm = write(&work, "pkj-warm.txt", &assertions(&issuer, CLIENTS * 2)?)?;
    let pkj = write(&work, "pkj.txt", &assertions(&issuer, budget)?)?;
    let mut fed = String::new();
    let now = time_now();
    for (i, client) in federated.iter().enumerate() {
        let claims = json!({"iss": CLUSTER, "sub": format!("system:serviceaccount:bench:sa-{i}"), "aud": [token_endpoint],
                            "iat": now, "nbf": now, "exp": now + 3500, "jti": writ_core::id::new_token_id(),
                            "kubernetes.io": {"namespace": "bench", "serviceaccount": {"name": format!("sa-{i}")}}});
        let jwt = signer.sign(&claims).map_err(|e| e.to_string())?;
        let _ = writeln!(
            fed,
            "\tclient_id={client}&client_assertion_type={ASSERTION_TYPE}&client_assertion={jwt}"
        );
    }
    let fed = write(&work, "federated.txt", &fed)?;

    let token = |requests, warm, order| Load {
        requests: Some(requests),
        warm,
        order,
        path: "/oauth/token",
        body: "grant_type=client_credentials",
    };
    let mut rows = vec![
        with_method(
            bench::measure(
                bench::EMBEDDED,
                &server,
                &token(&secrets, None, Order::Random),
                CLIENTS,
                CONNECTIONS,
                seconds,
            )?,
            "client_secret_basic",
        ),
        with_method(
            bench::measure(
                bench::EMBEDDED,
                &server,
                &token(&pkj, Some(&pkj_warm), Order::Once),
                CLIENTS,
                CONNECTIONS,
                seconds,
            )?,
            "private_key_jwt (ES256)",
        ),
        with_method(
            bench::measure(
                bench::EMBEDDED,
                &server,
                &token(&fed, None, Order::Random),
                CLIENTS,
                CONNECTIONS,
                seconds,
            )?,
            "federated (Kubernetes token, ES256)",
        ),
    ];
    drop(server);

    // The peer: the same clients' ids, the same key, private_key_jwt.
    let ids: String = key_clients.iter().map(|c| format!("{c}\n")).collect();
    let key_file = write(&work, "peer-keys.txt", &ids)?;
    let peer_env = vec![
        ("CLIENTS", secrets.display().to_string()),
        ("KEY_CLIENTS", key_file.display().to_string()),
        ("KEY_CLIENTS_JWK", jwk.to_string()),
    ];
    let peer = bench::start_peer(&work, &peer_env, &work.join("peer.log"))?;
    let peer_issuer = format!("http://localhost:{}", peer.port);
    let peer_warm = write(&work, "peer-warm.txt", &assertions(&peer_issuer, CLIENTS * 2)?)?;
    let peer_budget = write(&work, "peer.txt", &assertions(&peer_issuer, budget / 4)?)?;
    let load = Load {
        requests: Some(&peer_budget),
        warm: Some(&peer_warm),
        order: Order::Once,
        path: "/token",
        body: "grant_type=client_credentials&scope=bench:read",
    };
    rows.push(with_method(
        bench::measure(bench::PEER, &peer, &load, CLIENTS, CONNECTIONS, seconds)?,
        "private_key_jwt (ES256)",
    ));
    drop(peer);
    let _ = std::fs::remove_dir_all(&work);
    bench::record_client_auth(rows)
}

fn with_method(mut row: Value, method: &str) -> Value {
    row["method"] = method.into();
    row
}

fn id(created: &Value) -> Result<String, String> {
    created["client_id"].as_str().map(str::to_owned).ok_or_else(|| format!("no client id in {created}"))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<std::path::PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

fn time_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A fresh P-256 key pair: its private and public PEM.
fn key_pair() -> Result<(Vec<u8>, Vec<u8>), String> {
    let e = |e: openssl::error::ErrorStack| e.to_string();
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).map_err(e)?;
    let key =
        openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).map_err(e)?).map_err(e)?;
    Ok((key.private_key_to_pem_pkcs8().map_err(e)?, key.public_key_to_pem().map_err(e)?))
}

/// The admin API, as the operator of an embedded deployment.
struct Admin {
    port: u16,
    token: String,
}

impl Admin {
    fn sign_in(server: &Server, credential: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(credential).map_err(|e| format!("{}: {e}", credential.display()))?;
        let op: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let basic =
            base64_basic(op["client_id"].as_str().unwrap_or(""), op["client_secret"].as_str().unwrap_or(""));
        let answer = crate::server::http_post(
            server.port,
            "/oauth/token",
            &basic,
            "grant_type=client_credentials&resource=urn:writ:admin",
        )
        .ok_or("the token endpoint did not answer")?;
        let token = body(&answer)?["access_token"]
            .as_str()
            .ok_or_else(|| format!("no operator token: {answer}"))?
            .to_owned();
        Ok(Self { port: server.port, token })
    }

    fn call(&self, method: &str, path: &str, json: Option<Value>) -> Result<Value, String> {
        let answer = crate::server::http_json(
            self.port,
            method,
            path,
            &format!("Bearer {}", self.token),
            json.as_ref(),
        )
        .ok_or_else(|| format!("{method} {path}: no answer"))?;
        if !answer.starts_with("HTTP/1.1 2") {
            return Err(format!("{method} {path}: {answer}"));
        }
        body(&answer)
    }
}

fn body(answer: &str) -> Result<Value, String> {
    let text = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(text).map_err(|e| format!("{e}: {answer}"))
}

fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}
