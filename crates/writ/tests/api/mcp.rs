//! MCP end to end (docs/mcp.md, issue 20 point 7): the example MCP server
//! (`examples/mcp-server`: the official `rmcp` crate behind `writ-verify`) and the official MCP
//! SDKs' clients, which nobody here wrote, finding Writ from the server's `401`, introducing
//! themselves by their metadata documents, getting a person's consented token, calling tools, and
//! coming back for more scope when a tool needs it.

use std::process::Command;

use serde_json::{Value, json};
use writ_testkit::TestApp;

use super::delegation::{BILLING, PASSWORD, world};
use super::url_clients::CA;

/// An MCP server for Writ's people: its URL, registered in Writ as a resource the org is entitled
/// to and Ada holds (`invoices:read` and `invoices:write`).
async fn mcp_server(app: &TestApp, op: &str, org: &str, user: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/mcp", listener.local_addr().unwrap().port());
    app.create_resource(op, &url, &["invoices:read", "invoices:write"]).await;
    let both = json!(["invoices:read", "invoices:write"]);
    let entitled = json!([{"resource": BILLING, "scopes": both}, {"resource": url, "scopes": both}]);
    let (status, body) =
        app.patch(&format!("/admin/v1/orgs/{org}"), op, &json!({"entitlements": entitled})).await;
    assert_eq!(status, 200, "{body}");
    let grants =
        json!([{"resource": BILLING, "scopes": ["invoices:read"]}, {"resource": url, "scopes": both}]);
    let (status, body) = app.patch(&format!("/admin/v1/users/{user}"), op, &json!({"grants": grants})).await;
    assert_eq!(status, 200, "{body}");
    let config = writ_verify::VerifierConfig::new(&app.ctx.issuer, &url);
    let verifier = writ_verify::Verifier::new(config).await.unwrap();
    tokio::spawn(writ_example_mcp::McpServer::new(verifier, &url, &app.ctx.issuer).serve(listener));
    url
}

/// Whether the Python SDK (`mcp`) is installed; CI installs it, and then it must be.
fn python_mcp_ready() -> bool {
    let ready = Command::new("python3")
        .args(["-c", "import mcp, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("WRIT_TEST_INTEROP").is_ok_and(|v| v == "1");
    assert!(
        ready || !required,
        "WRIT_TEST_INTEROP=1 but the mcp package is missing: pip install -r crates/writ/tests/interop/requirements.txt"
    );
    if !ready {
        eprintln!("the mcp package is not installed: not run");
    }
    ready
}

/// Whether the SDK at `path` (under `dir`) is installed; CI installs it, and then it must be.
fn installed(dir: &str, path: &str) -> bool {
    let installed = std::path::Path::new(dir).join(path).exists();
    let required = std::env::var("WRIT_TEST_INTEROP").is_ok_and(|v| v == "1");
    assert!(installed || !required, "WRIT_TEST_INTEROP=1 but {path} is missing under {dir}");
    installed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_what_it_should() {
    let app = app().await;
    let w = world(&app).await;
    let url = mcp_server(&app, &w.op, &w.org, &w.user).await;
    let metadata_url = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
    // No token: 401, pointing at the metadata, which points at Writ.
    let res = app.http.post(&url).json(&initialize).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");
    assert!(challenge.contains("scope=\"invoices:read\""), "{challenge}");
    let metadata: Value = app.http.get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], url.as_str());
    assert_eq!(metadata["authorization_servers"], json!([app.ctx.issuer]));
    // A token for another resource of the same org: refused.
    let (id, secret) = app.create_org_client(&w.op, &w.org, &[(BILLING, &["invoices:read"])]).await;
    let billing = app.token(&id, &secret, &[]).await;
    let res = app.http.post(&url).bearer_auth(&billing).json(&initialize).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

/// The official TypeScript SDK (`@modelcontextprotocol/sdk`, npm), with its own OAuth client:
/// known by its metadata document, then registering itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_gets_a_persons_token_and_steps_up() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/node");
    if !installed(dir, "node_modules/@modelcontextprotocol/sdk") {
        eprintln!("@modelcontextprotocol/sdk not installed: not run");
        return;
    }
    for mode in ["cimd", "dcr"] {
        let mut node = Command::new("node");
        node.current_dir(dir).arg("mcp.mjs");
        run_client("the TypeScript SDK", node, mode).await;
    }
}

/// The official Python SDK (`mcp`, PyPI), with its own OAuth client: known by its metadata
/// document, then registering itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_gets_a_persons_token_and_steps_up() {
    if !python_mcp_ready() {
        return;
    }
    for mode in ["cimd", "dcr"] {
        let mut python = Command::new("python3");
        python.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/mcp_client.py"));
        run_client("the Python SDK", python, mode).await;
    }
}

/// An EC P-256 key: its private PEM in `dir` (for the Python SDK to sign with), and its public JWK.
fn ec_key(dir: &std::path::Path, name: &str, kid: &str) -> (std::path::PathBuf, Value) {
    use openssl::ec::{EcGroup, EcKey};
    let group = EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let key = openssl::pkey::PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let mut jwk = writ_token::public_jwk_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
    jwk["kid"] = kid.into();
    (path, jwk)
}

/// The official Python SDK's machine clients (a secret, `private_key_jwt`) and its enterprise
/// client (an ID-JAG from the org's IdP, for a person) each call a tool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdks_machine_and_enterprise_clients_call_tools() {
    if !python_mcp_ready() {
        return;
    }
    let app = app().await;
    let w = world(&app).await;
    let url = mcp_server(&app, &w.op, &w.org, &w.user).await;
    let read = json!([{"resource": url, "scopes": ["invoices:read"]}]);
    let client = |body: Value| {
        let app = &app;
        let op = w.op.clone();
        async move {
            let (status, created) = app.post("/admin/v1/clients", &op, &body).await;
            assert_eq!(status, 201, "{created}");
            created
        }
    };
    let keys = tempfile::tempdir().unwrap();
    let (pkj_key, pkj_jwk) = ec_key(keys.path(), "client.pem", "client-1");
    let (idp_key, idp_jwk) = ec_key(keys.path(), "idp.pem", "idp-1");
    let secret =
        client(json!({"name": "Secret agent", "kind": "org", "org_id": w.org, "grants": read})).await;
    let keyed = client(json!({"name": "Keyed agent", "kind": "org", "org_id": w.org, "grants": read,
                               "jwks": {"keys": [pkj_jwk]}}))
    .await;
    let enterprise =
        client(json!({"name": "Enterprise agent", "kind": "org", "org_id": w.org, "grants": read,
                                    "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]}))
        .await;
    let idp = "https://idp.acme.example";
    let trusted = json!({"issuer": idp, "name": "Acme IdP", "jwks": {"keys": [idp_jwk]},
                         "id_jag": {"org_id": w.org, "user_claim": "email"}});
    let (status, body) = app.post("/admin/v1/trusted-issuers", &w.op, &trusted).await;
    assert_eq!(status, 201, "{body}");
    let id = |c: &Value| c["client_id"].as_str().unwrap().to_owned();
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/mcp_machine.py"))
        .args([&url, &app.ctx.issuer, &id(&secret), secret["client_secret"].as_str().unwrap(), &id(&keyed)])
        .arg(&pkj_key)
        .args([&id(&enterprise), enterprise["client_secret"].as_str().unwrap(), idp])
        .arg(&idp_key)
        .arg("ada@acme.example")
        .output()
        .unwrap();
    assert!(out.status.success(), "the Python SDK failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    // A machine's token is the client's own; the enterprise client's is the person's.
    assert_eq!(run["client_secret"]["person"], id(&secret).as_str(), "{run}");
    assert_eq!(run["private_key_jwt"]["person"], id(&keyed).as_str(), "{run}");
    assert_eq!(run["id_jag"]["person"], w.user.as_str(), "{run}");
    assert_eq!(run["id_jag"]["org"], w.org.as_str(), "{run}");
}

/// Runs an SDK's client (`client`, to which the MCP server's URL, the person, the certificate for
/// its metadata document and `mode` are added) against a new Writ and MCP server, and checks its
/// run: `cimd`, known by its metadata document; `dcr`, registering itself.
async fn run_client(what: &str, mut client: Command, mode: &str) {
    let app = app().await;
    let w = world(&app).await;
    let url = mcp_server(&app, &w.op, &w.org, &w.user).await;
    let out = client
        .args([&url, "acme", "ada@acme.example", PASSWORD])
        .arg(&CA.cert_file)
        .arg(&CA.key_file)
        .arg(mode)
        .output()
        .unwrap();
    assert!(out.status.success(), "{what} ({mode}) failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    check_run(&run, &url, &w.user);
    let client_id = run["clientId"].as_str().unwrap();
    match mode {
        "cimd" => {
            assert!(client_id.starts_with("https://127.0.0.1:"), "{run}");
            assert_eq!(
                run["consentPages"],
                json!(["127.0.0.1", "127.0.0.1"]),
                "the consent page names the host"
            );
        }
        _ => {
            assert!(client_id.starts_with("cli_"), "{run}");
            assert_eq!(
                run["consentPages"],
                json!(["unverified", "unverified"]),
                "the page says nobody checked it"
            );
        }
    }
}

/// Writ on SQLite, trusting the test's CA for metadata documents, and taking registrations.
async fn app() -> TestApp {
    let settings = |s: &mut writ_app::settings::Settings| {
        super::url_clients::trusting_the_test_ca(s);
        s.registration = writ_app::delegation::registration::RegistrationMode::Open;
    };
    writ_testkit::spawn_app_with(writ_testkit::Backend::Sqlite, settings).await.unwrap()
}

/// What both SDKs' runs must show.
fn check_run(run: &Value, url: &str, user: &str) {
    let mut tools: Vec<&str> = run["tools"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    tools.sort_unstable();
    assert_eq!(tools, ["create_invoice", "list_invoices"], "{run}");
    assert_eq!(run["listed"]["person"], user, "{run}");
    assert_eq!(run["created"]["created"]["amount"], 1200, "{run}");
    // Two authorizations: what the 401 asked for, then what the tool needed (step-up); each for
    // the MCP server as the resource, with the document's URL as the client id.
    let asked = run["authorizations"].as_array().unwrap();
    assert_eq!(asked.len(), 2, "{run}");
    for a in asked {
        assert_eq!((a["resource"].as_str(), a["client_id"].as_str()), (Some(url), run["clientId"].as_str()));
        assert_eq!(a["code_challenge_method"], "S256");
    }
    assert_eq!(asked[0]["scope"], "invoices:read");
    assert_eq!(asked[1]["scope"], "invoices:read invoices:write");
    let tokens = run["tokens"].as_array().unwrap();
    assert_eq!(tokens.last().unwrap()["scope"], "invoices:read invoices:write");
    for t in tokens {
        assert_eq!((t["aud"].as_str(), t["sub"].as_str()), (Some(url), Some(user)), "{t}");
    }
}
