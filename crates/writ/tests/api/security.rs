//! The authorization model under attack (docs/security.md): one test per hole that was found,
//! each on every backend.

use serde_json::Value;
use writ_core::ADMIN_AUDIENCE;
use writ_testkit::{TestApp, on_every_backend};

const A: &str = "https://api.example.com/a";
const B: &str = "https://api.example.com/b";

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or_default().to_owned())
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap()
}

on_every_backend!(audiences_never_pool_scopes);

/// Point 1: A grants `read write`, B only `read`, and the client also holds an admin scope. No
/// token lets B's API accept `write`, and no token for an API can be replayed at the admin API.
async fn audiences_never_pool_scopes(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, A, &["read", "write"]).await;
    app.create_resource(&op, B, &["read", "write"]).await;
    let entitled: &[(&str, &[&str])] =
        &[(A, &["read", "write"]), (B, &["read", "write"]), (ADMIN_AUDIENCE, &["admin:orgs:read"])];
    let org = app.create_org(&op, "pool", entitled).await;
    let granted: &[(&str, &[&str])] =
        &[(A, &["read", "write"]), (B, &["read"]), (ADMIN_AUDIENCE, &["admin:orgs:read"])];
    let (id, secret) = app.create_org_client(&op, &org, granted).await;

    let both = [("scope", "read write"), ("resource", A), ("resource", B)];
    assert_eq!(error_of(app.token_request(&id, &secret, &both).await).await, (400, "invalid_scope".into()));
    let unnamed = [("scope", "read write")];
    assert_eq!(
        error_of(app.token_request(&id, &secret, &unnamed).await).await,
        (400, "invalid_target".into())
    );
    let replayable = [("resource", A), ("resource", ADMIN_AUDIENCE), ("scope", "admin:orgs:read")];
    assert_eq!(
        error_of(app.token_request(&id, &secret, &replayable).await).await,
        (400, "invalid_target".into())
    );

    // What is granted on both may go in one token; anything else, one audience at a time.
    let shared = claims_of(&app.token(&id, &secret, &[("resource", A), ("resource", B)]).await);
    assert_eq!((shared["aud"].clone(), shared["scope"].clone()), (serde_json::json!([A, B]), "read".into()));
    let write = claims_of(&app.token(&id, &secret, &[("scope", "write")]).await);
    assert_eq!((write["aud"].as_str(), write["scope"].as_str()), (Some(A), Some("write")));
    let admin = claims_of(&app.token(&id, &secret, &[("scope", "admin:orgs:read")]).await);
    assert_eq!(admin["aud"], ADMIN_AUDIENCE);
}
