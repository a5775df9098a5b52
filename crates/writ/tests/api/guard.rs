//! RFC 7009 revocation and RFC 7662 introspection, on the in-memory store (SQLite variant) and on
//! Redis (Postgres variant, when `WRIT_TEST_REDIS_URL` is set).

use serde_json::{Value, json};
use writ_core::GUARD_AUDIENCE;
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";

async fn call(app: &TestApp, path: &str, id: &str, secret: &str, token: &str) -> (u16, Value) {
    let form = [("client_id", id), ("client_secret", secret), ("token", token)];
    let res = app.http.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

on_every_backend!(revoked_tokens_stop_introspecting_as_active, introspection_tells_strangers_nothing);

async fn revoked_tokens_stop_introspecting_as_active(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["r"])]).await;
    let (a, a_secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;
    let (b, b_secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;
    let token = app.token(&a, &a_secret, &[]).await;

    let (status, info) = call(&app, "/oauth/introspect", &a, &a_secret, &token).await;
    assert_eq!(status, 200);
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], a.as_str());
    assert_eq!(info["scope"], "r");
    assert_eq!(info["aud"], BILLING);
    assert_eq!(info["oid"], org.as_str());
    assert_eq!(info["token_type"], "Bearer");

    // Another client cannot revoke it; its owner can, and then it is inactive.
    let (status, err) = call(&app, "/oauth/revoke", &b, &b_secret, &token).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("unauthorized_client")));
    assert_eq!(call(&app, "/oauth/introspect", &a, &a_secret, &token).await.1["active"], true);
    assert_eq!(call(&app, "/oauth/revoke", &a, &a_secret, &token).await.0, 200);
    assert_eq!(call(&app, "/oauth/introspect", &a, &a_secret, &token).await.1, json!({"active": false}));
    // Revoking again, or revoking garbage, is fine (RFC 7009 §2.2).
    assert_eq!(call(&app, "/oauth/revoke", &a, &a_secret, &token).await.0, 200);
    assert_eq!(call(&app, "/oauth/revoke", &a, &a_secret, "not-a-token").await.0, 200);
    // Other tokens of the same client are unaffected.
    let other = app.token(&a, &a_secret, &[]).await;
    assert_eq!(call(&app, "/oauth/introspect", &a, &a_secret, &other).await.1["active"], true);

    // Callers must authenticate, and name the token.
    let (status, err) = call(&app, "/oauth/introspect", &a, "writ_cs_wrong", &other).await;
    assert_eq!((status, err["error"].as_str()), (401, Some("invalid_client")));
    let res = app
        .http
        .post(app.url("/oauth/revoke"))
        .form(&[("client_id", &a), ("client_secret", &a_secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Discovery advertises both endpoints.
    let meta: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["revocation_endpoint"], app.url("/oauth/revoke").replace("127.0.0.1", "localhost"));
    assert_eq!(
        meta["introspection_endpoint"],
        app.url("/oauth/introspect").replace("127.0.0.1", "localhost")
    );
}

async fn introspection_tells_strangers_nothing(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["r"])]).await;
    let (a, a_secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;
    let (stranger, stranger_secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;
    let token = app.token(&a, &a_secret, &[]).await;

    // A stranger learns nothing, not even that the token is genuine.
    assert_eq!(
        call(&app, "/oauth/introspect", &stranger, &stranger_secret, &token).await.1,
        json!({"active": false})
    );

    // A gateway granted guard:introspect may introspect anyone's token.
    let body = json!({"name": "gateway", "kind": "service",
                      "grants": [{"resource": GUARD_AUDIENCE, "scopes": ["guard:introspect"]}]});
    let (status, gateway) = app.post("/admin/v1/clients", &op, &body).await;
    assert_eq!(status, 201, "{gateway}");
    let (gid, gsecret) = (gateway["client_id"].as_str().unwrap(), gateway["client_secret"].as_str().unwrap());
    let (_, info) = call(&app, "/oauth/introspect", gid, gsecret, &token).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], a.as_str());
    // A token of another deployment is simply inactive.
    assert_eq!(
        call(&app, "/oauth/introspect", gid, gsecret, "eyJhbGciOiJFUzI1NiJ9.e30.AA").await.1,
        json!({"active": false})
    );
}
