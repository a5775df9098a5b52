//! Writ's pages in headless Chromium (Debian's `chromium`, driven by `playwright-core` from npm,
//! which never downloads a browser): `crates/writ/tests/browser/pages.mjs` sets a password from an
//! invitation, logs in, denies and allows an agent, connects a device, and checks each page for
//! labels, focus order, a 360 px width and its stylesheet under the CSP, saving screenshots under
//! `target/screenshots/`; `vendor.mjs` logs in through the vendor's own login page (the
//! `redirect` mode, served by `docs/examples/vendor_login.py`). CI installs them and sets
//! `WRIT_TEST_INTEROP=1`, which makes their absence a failure; elsewhere the tests run when they
//! are there.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use writ_testkit::{Backend, spawn_app};

use super::delegation::{BILLING, NATIVE, PASSWORD, world};

fn chromium() -> PathBuf {
    PathBuf::from(std::env::var("WRIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
}

/// Where the screenshots go: the build's target directory, as every other artifact.
fn screenshots() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"), PathBuf::from);
    target.join("screenshots")
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");

/// Whether Chromium and playwright-core are there (and, for `python`, PyJWT too); a failure when
/// CI requires them.
fn browser_ready(python: bool) -> bool {
    let pyjwt =
        || Command::new("python3").args(["-c", "import jwt"]).output().is_ok_and(|o| o.status.success());
    let ready = chromium().exists()
        && Path::new(DIR).join("node_modules/playwright-core").exists()
        && (!python || pyjwt());
    let required = std::env::var("WRIT_TEST_INTEROP").is_ok_and(|v| v == "1");
    assert!(
        ready || !required,
        "WRIT_TEST_INTEROP=1 but chromium, playwright-core or PyJWT is missing (apt install chromium; \
         npm ci --prefix {DIR}; pip install -r crates/writ/tests/interop/requirements.txt)"
    );
    if !ready {
        eprintln!("chromium, playwright-core or PyJWT not installed: browser test not run");
    }
    ready
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_uses_the_pages_in_chromium() {
    let dir = DIR;
    if !browser_ready(false) {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let w = world(&app).await;
    let (_, invitation) =
        app.post(&format!("/admin/v1/users/{}/invitations", w.user), &w.op, &json!({})).await;
    let grants = json!([{"resource": BILLING, "scopes": ["invoices:read"]}]);
    let (status, device) = app
        .post(
            "/admin/v1/clients",
            &w.op,
            &json!({"name": "Acme CLI", "kind": "org", "org_id": w.org, "client_type": "public",
                    "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "grants": grants}),
        )
        .await;
    assert_eq!(status, 201, "{device}");
    let shots = screenshots();
    let out = Command::new("node")
        .arg(format!("{dir}/pages.mjs"))
        .args([
            &app.ctx.issuer,
            invitation["url"].as_str().unwrap(),
            "acme",
            "ada@acme.example",
            PASSWORD,
            &w.native,
            NATIVE,
            device["client_id"].as_str().unwrap(),
        ])
        .arg(&shots)
        .output()
        .unwrap();
    assert!(out.status.success(), "the browser run failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["token"]["sub"], w.user.as_str());
    for page in [
        "invitation",
        "account",
        "login-error",
        "consent",
        "device",
        "device-consent",
        "device-done",
        "consents",
    ] {
        assert!(shots.join(format!("{page}.png")).exists(), "no screenshot of {page}");
    }
}

/// Kills the vendor's app when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_on_the_vendors_page_in_chromium() {
    if !browser_ready(true) {
        return;
    }
    // The vendor's key: its private half for the vendor's app, its public half for Writ.
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let key_file = std::env::temp_dir().join(format!("writ-vendor-{}.pem", std::process::id()));
    std::fs::write(&key_file, pair.to_pem_private_key()).unwrap();
    let mut public = Value::Object(pair.to_jwk_public_key().as_ref().clone());
    public["kid"] = "vendor-1".into();
    // The vendor's app on another site (127.0.0.1, while Writ is localhost), at a port it will
    // take once Writ knows where it is.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let login_url = format!("http://127.0.0.1:{port}/writ/login");
    let login = login_url.clone();
    let app = writ_testkit::spawn_app_with(Backend::Sqlite, move |s| {
        s.login_mode = writ_core::LoginMode::Redirect;
        s.login_url = Some(login);
        s.login_keys = Some(json!({ "keys": [public] }).to_string());
    })
    .await
    .unwrap();
    let vendor = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/examples/vendor_login.py"))
        .env("WRIT_ISSUER", &app.ctx.issuer)
        .env("LOGIN_URL", &login_url)
        .env("SIGNING_KEY", &key_file)
        .env("PORT", port.to_string())
        .spawn()
        .unwrap();
    let _vendor = Running(vendor);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read"])]).await;
    let (status, user) = app
        .post(
            "/admin/v1/users",
            &op,
            &json!({"email": "ada@acme.example", "org_id": org, "external_id": "v-ada",
                    "grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let (status, agent) = app
        .post(
            "/admin/v1/clients",
            &op,
            &json!({"name": "Ada's CLI", "kind": "org", "org_id": org, "client_type": "public",
                    "redirect_uris": [NATIVE], "grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    let shots = screenshots();
    let out = Command::new("node")
        .arg(format!("{DIR}/vendor.mjs"))
        .args([&app.ctx.issuer, agent["client_id"].as_str().unwrap(), NATIVE, "ada", "ada's vendor password"])
        .arg(&shots)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&key_file);
    assert!(out.status.success(), "the browser run failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["token"]["sub"], user["id"], "{seen}");
    assert_eq!(seen["token"]["oid"], org.as_str());
    assert!(seen["consent"].as_str().unwrap().contains("Ada's CLI"), "{seen}");
    let cookies = seen["cookies"].as_array().unwrap();
    let session = cookies.iter().find(|c| c["name"] == "writ_session").expect("Writ's session");
    assert_eq!((session["sameSite"].as_str(), session["httpOnly"].as_bool()), (Some("Lax"), Some(true)));
    assert!(cookies.iter().all(|c| c["name"] != "writ_login"), "the login request's cookie is spent: {seen}");
    for page in ["vendor-login", "vendor-consent"] {
        assert!(shots.join(format!("{page}.png")).exists(), "no screenshot of {page}");
    }
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?action=user.logged_in&org_id={org}"), &op).await;
    let logins = events["data"].as_array().unwrap();
    assert_eq!(logins.len(), 2, "a login through the vendor each time: {events}");
    assert!(logins.iter().all(|e| e["details"]["method"] == "redirect"));
}
