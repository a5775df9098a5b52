//! Writ's pages in headless Chromium (Debian's `chromium`, driven by `playwright-core` from npm,
//! which never downloads a browser): `crates/writ/tests/browser/pages.mjs` sets a password from an
//! invitation, logs in, denies and allows an agent, connects a device, and checks each page for
//! labels, focus order, a 360 px width and its stylesheet under the CSP, saving screenshots under
//! `target/screenshots/`. CI installs both and sets `WRIT_TEST_INTEROP=1`, which makes their
//! absence a failure; elsewhere the test runs when they are there.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_uses_the_pages_in_chromium() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
    let ready = chromium().exists() && Path::new(dir).join("node_modules/playwright-core").exists();
    let required = std::env::var("WRIT_TEST_INTEROP").is_ok_and(|v| v == "1");
    assert!(
        ready || !required,
        "WRIT_TEST_INTEROP=1 but chromium or playwright-core is missing (apt install chromium; npm ci --prefix {dir})"
    );
    if !ready {
        eprintln!("chromium or playwright-core not installed: browser test not run");
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
