//! Interop: Python's authlib gets a token through discovery and PyJWT verifies it, for each signing
//! algorithm. CI installs the packages and sets `WRIT_TEST_INTEROP=1`, which makes their absence a
//! failure; elsewhere the test runs when they are importable.

use std::process::Command;

use serde_json::{Value, json};
use writ_testkit::{Backend, spawn_app};

fn python_ready() -> bool {
    let required = std::env::var("WRIT_TEST_INTEROP").is_ok_and(|v| v == "1");
    let importable = Command::new("python3")
        .args(["-c", "import jwt, authlib, joserfc, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        importable || !required,
        "WRIT_TEST_INTEROP=1 but PyJWT/authlib are missing: pip install -r crates/writ/tests/interop/requirements.txt"
    );
    importable
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_oauth_and_jwt_libraries_accept_writ() {
    if !python_ready() {
        eprintln!("PyJWT/authlib not installed: interop not run");
        return;
    }
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let op = app.operator_token().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/interop.py");
    for (n, alg) in [None, Some("RS256"), Some("EdDSA")].into_iter().enumerate() {
        let resource = format!("https://api{n}.example.com/billing");
        let body = json!({"identifier": resource, "name": "Billing", "scopes": [{"name": "invoices:read"}], "signing_alg": alg});
        assert_eq!(app.post("/admin/v1/resources", &op, &body).await.0, 201);
        let org = app.create_org(&op, &format!("org-{n}"), &[(&resource, &["invoices:read"])]).await;
        let (id, secret) = app.create_org_client(&op, &org, &[(&resource, &["invoices:read"])]).await;
        let out = Command::new("python3")
            .args([script, &app.ctx.issuer, &id, &secret, &resource, "invoices:read"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "interop failed for {alg:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["alg"], alg.unwrap_or("ES256"));
        assert_eq!(result["claims"]["oid"], org.as_str());
    }
}

const BILLING: &str = "https://api.example.com/billing";

/// A server, the operator's token, and an org entitled to `invoices:read` on [`BILLING`].
async fn billing() -> (writ_testkit::TestApp, String, String) {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read"])]).await;
    (app, op, org)
}

/// Issue 18: private_key_jwt with authlib's client authentication and with assertions built by
/// PyJWT and joserfc, for each algorithm Writ accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clients_authenticate_with_a_private_key() {
    use openssl::pkey::PKey;
    if !python_ready() {
        eprintln!("PyJWT/authlib not installed: interop not run");
        return;
    }
    let (app, op, org) = billing().await;
    let resource = BILLING;
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/private_key_jwt.py");
    let p256 = || openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let keys: Vec<(&str, PKey<openssl::pkey::Private>)> = vec![
        ("ES256", PKey::from_ec_key(openssl::ec::EcKey::generate(&p256()).unwrap()).unwrap()),
        ("RS256", PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap()),
        ("PS256", PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap()),
        ("EdDSA", PKey::generate_ed25519().unwrap()),
    ];
    for (alg, key) in keys {
        let mut jwk = writ_token::public_jwk_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
        jwk["kid"] = format!("{alg}-1").into();
        let body = json!({"name": alg, "kind": "org", "org_id": org, "jwks": {"keys": [jwk]},
                          "grants": [{"resource": resource, "scopes": ["invoices:read"]}]});
        let (status, created) = app.post("/admin/v1/clients", &op, &body).await;
        assert_eq!(status, 201, "{created}");
        let id = created["client_id"].as_str().unwrap();
        let pem = dir.path().join(format!("{alg}.pem"));
        std::fs::write(&pem, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let out = Command::new("python3")
            .args([script, &app.ctx.issuer, id, pem.to_str().unwrap(), &format!("{alg}-1"), alg, resource])
            .output()
            .unwrap();
        assert!(out.status.success(), "{alg}:\n{}", String::from_utf8_lossy(&out.stderr));
        let tokens: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(tokens.len(), 3, "authlib, PyJWT and joserfc");
        assert!(tokens.iter().all(|t| t["sub"] == id && t["oid"] == org.as_str()), "{tokens:?}");
    }
}

/// Issue 18: a GitHub-Actions-shaped token minted with PyJWT is traded for Writ tokens (the
/// jwt-bearer grant and a client assertion), and PyJWT verifies them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_workloads_trade_a_platform_token() {
    if !python_ready() {
        eprintln!("PyJWT/authlib not installed: interop not run");
        return;
    }
    let (app, op, org) = billing().await;
    let resource = BILLING;
    let p256 = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let platform_key =
        openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&p256).unwrap()).unwrap();
    let mut jwk = writ_token::public_jwk_from_pem(&platform_key.public_key_to_pem().unwrap()).unwrap();
    jwk["kid"] = "gh-1".into();
    let platform = "https://token.actions.githubusercontent.com";
    let body = json!({"issuer": platform, "name": "GitHub Actions", "jwks": {"keys": [jwk]}});
    assert_eq!(app.post("/admin/v1/trusted-issuers", &op, &body).await.0, 201);
    let body = json!({"name": "deploy", "kind": "org", "org_id": org, "token_endpoint_auth_methods": ["federated"],
                      "grants": [{"resource": resource, "scopes": ["invoices:read"]}]});
    let (_, client) = app.post("/admin/v1/clients", &op, &body).await;
    let id = client["client_id"].as_str().unwrap();
    let credential = json!({"issuer": platform, "name": "main", "subject": "repo:acme/app:ref:refs/heads/main",
                            "claims": {"repository_owner": "acme"}});
    assert_eq!(
        app.post(&format!("/admin/v1/clients/{id}/federated-credentials"), &op, &credential).await.0,
        201
    );
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("platform.pem");
    std::fs::write(&pem, platform_key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/federated.py");
    let out = Command::new("python3")
        .args([script, &app.ctx.issuer, id, pem.to_str().unwrap(), platform, "gh-1", resource])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tokens: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        tokens.len() == 2 && tokens.iter().all(|t| t["sub"] == id && t["oid"] == org.as_str()),
        "{tokens:?}"
    );
}

/// Issue 19: an agent built on authlib runs the authorization code grant with PKCE against Writ
/// (the person's login and consent posted as a browser would), refreshes, and meets reuse
/// detection; PyJWT verifies the person's token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_runs_the_authorization_code_grant_and_refreshes() {
    if !python_ready() {
        eprintln!("PyJWT/authlib not installed: interop not run");
        return;
    }
    use super::delegation::{BILLING, NATIVE, PASSWORD, world};
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let w = world(&app).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/delegation.py");
    let out = Command::new("python3")
        .args([
            script,
            &app.ctx.issuer,
            &w.native,
            NATIVE,
            "acme",
            "ada@acme.example",
            PASSWORD,
            BILLING,
            "invoices:read",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "authlib interop failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["claims"]["sub"], w.user.as_str());
    assert_eq!(result["claims"]["oid"], w.org.as_str());
    assert_eq!(result["claims"]["client_id"], w.native.as_str());
    assert_eq!(result["claims"]["scope"], "invoices:read");
}

/// Issue 19: an agent built on Node's openid-client runs the authorization code grant with PKCE
/// (checking `state` and `iss`), refreshes, and runs it again through PAR. CI installs the
/// package (`npm ci` in `crates/writ/tests/interop/node`); elsewhere the test runs when it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_runs_the_authorization_code_grant_with_par() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/node");
    let installed = std::path::Path::new(dir).join("node_modules/openid-client").exists();
    let required = std::env::var("WRIT_TEST_INTEROP").is_ok_and(|v| v == "1");
    assert!(
        installed || !required,
        "WRIT_TEST_INTEROP=1 but openid-client is missing: npm ci --prefix {dir}"
    );
    if !installed {
        eprintln!("openid-client not installed: interop not run");
        return;
    }
    use super::delegation::{BILLING, NATIVE, PASSWORD, world};
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let w = world(&app).await;
    let out = Command::new("node")
        .arg(format!("{dir}/delegation.mjs"))
        .args([
            &app.ctx.issuer,
            &w.native,
            NATIVE,
            "acme",
            "ada@acme.example",
            PASSWORD,
            BILLING,
            "invoices:read",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "openid-client interop failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["claims"]["sub"], w.user.as_str());
    assert_eq!(result["par"]["sub"], w.user.as_str());
    assert_eq!(result["claims"]["aud"], BILLING);
}
