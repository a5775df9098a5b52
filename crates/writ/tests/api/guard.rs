//! RFC 7009 revocation and RFC 7662 introspection, on the in-memory store (SQLite variant) and on
//! Redis (Postgres variant, when `WRIT_TEST_REDIS_URL` is set).

use serde_json::{Value, json};
use writ_core::GUARD_AUDIENCE;
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";

pub(crate) async fn call(app: &TestApp, path: &str, id: &str, secret: &str, token: &str) -> (u16, Value) {
    let form = [("client_id", id), ("client_secret", secret), ("token", token)];
    let res = app.http.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

on_every_backend!(
    revoked_tokens_stop_introspecting_as_active,
    introspection_tells_strangers_nothing,
    admins_revoke_by_token_client_secret_and_org,
    the_revocation_feed_reports_revocations_as_they_happen
);

async fn the_revocation_feed_reports_revocations_as_they_happen(app: TestApp) {
    let op = app.operator_token().await;
    let guard = app.token(&app.operator_id, &app.operator_secret, &[("resource", GUARD_AUDIENCE)]).await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let org = app
        .create_org(&op, "acme", &[(BILLING, &["r"]), (GUARD_AUDIENCE, &["guard:revocations:read"])])
        .await;
    let (a, a_secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;

    let (status, empty) = app.get("/guard/v1/revocations", &guard).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["data"], json!([]));
    let token = app.token(&a, &a_secret, &[]).await;
    assert_eq!(call(&app, "/oauth/revoke", &a, &a_secret, &token).await.0, 200);
    let (_, feed) = app.get("/guard/v1/revocations", &guard).await;
    let first = &feed["data"][0];
    assert_eq!(first["kind"], "token");
    let jti = first["id"].as_str().unwrap().to_owned();
    let (_, lookup) = app.get(&format!("/guard/v1/revocations/{jti}"), &guard).await;
    assert_eq!(lookup, json!({"jti": jti, "revoked": true}));
    assert_eq!(app.get("/guard/v1/revocations/unknown", &guard).await.1["revoked"], false);

    // A follower waiting after the last entry is woken by the next revocation.
    let cursor = feed["next_cursor"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/guard/v1/revocations?after={cursor}&wait=10"));
    let waiting = app.http.get(url).bearer_auth(&guard).send();
    let revoke = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.post(&format!("/admin/v1/clients/{a}/revoke-tokens"), &op, &json!({})).await.0, 201);
    };
    let started = std::time::Instant::now();
    let (res, ()) = tokio::join!(waiting, revoke);
    let next: Value = res.unwrap().json().await.unwrap();
    assert_eq!(next["data"].as_array().unwrap().len(), 1, "{next}");
    assert_eq!(next["data"][0]["kind"], "client");
    assert_eq!(next["data"][0]["id"], a.as_str());
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "woken by the entry, not the timeout");

    // Only operator-level guard tokens read the feed.
    assert_eq!(app.get("/guard/v1/revocations", &op).await.0, 401, "an admin-audience token");
    let (t, t_secret) =
        app.create_org_client(&op, &org, &[(GUARD_AUDIENCE, &["guard:revocations:read"])]).await;
    let tenant = app.token(&t, &t_secret, &[]).await;
    assert_eq!(app.get("/guard/v1/revocations", &tenant).await.0, 403);
    assert_eq!(app.get("/guard/v1/revocations?limit=0", &guard).await.0, 422);
    let backend = app.get("/guard/v1/status", &guard).await.1["backend"].as_str().unwrap().to_owned();
    let expected = if app.ctx.settings.redis_url.is_some() { "redis" } else { "memory" };
    assert_eq!(backend, expected);
}

/// A service client granted `guard:introspect`: (id, secret).
pub(crate) async fn gateway(app: &TestApp, op: &str) -> (String, String) {
    let body = json!({"name": "gateway", "kind": "service",
                      "grants": [{"resource": GUARD_AUDIENCE, "scopes": ["guard:introspect"]}]});
    let (status, gateway) = app.post("/admin/v1/clients", op, &body).await;
    assert_eq!(status, 201, "{gateway}");
    (gateway["client_id"].as_str().unwrap().to_owned(), gateway["client_secret"].as_str().unwrap().to_owned())
}

async fn admins_revoke_by_token_client_secret_and_org(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let admin_scopes: &[&str] = &["admin:revocations:write", "admin:clients:read"];
    let org =
        app.create_org(&op, "acme", &[(BILLING, &["r"]), (writ_core::ADMIN_AUDIENCE, admin_scopes)]).await;
    let other_org = app.create_org(&op, "beta", &[(BILLING, &["r"])]).await;
    let (a, a_secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;
    let (b, b_secret) = app.create_org_client(&op, &other_org, &[(BILLING, &["r"])]).await;
    let (gw, gw_secret) = gateway(&app, &op).await;
    let active = |token: String| {
        let (gw, gw_secret) = (gw.clone(), gw_secret.clone());
        let app = &app;
        async move { call(app, "/oauth/introspect", &gw, &gw_secret, &token).await.1["active"] == true }
    };

    // One token, by jti.
    let t1 = app.token(&a, &a_secret, &[]).await;
    let t2 = app.token(&a, &a_secret, &[]).await;
    let jti =
        call(&app, "/oauth/introspect", &gw, &gw_secret, &t1).await.1["jti"].as_str().unwrap().to_owned();
    let (status, body) = app.post("/admin/v1/revocations", &op, &json!({"jti": jti})).await;
    assert_eq!((status, body["kind"].as_str()), (201, Some("token")), "{body}");
    assert!(!active(t1.clone()).await);
    assert!(active(t2.clone()).await);

    // Tokens of one secret only.
    let (_, second) = app.post(&format!("/admin/v1/clients/{a}/secrets"), &op, &json!({})).await;
    let second_secret = second["client_secret"].as_str().unwrap().to_owned();
    let t3 = app.token(&a, &second_secret, &[]).await;
    let secret_id = second["secret_id"].as_str().unwrap();
    let (status, body) = app
        .post(&format!("/admin/v1/clients/{a}/revoke-tokens"), &op, &json!({"secret_id": secret_id}))
        .await;
    assert_eq!((status, body["kind"].as_str(), body["id"].as_str()), (201, Some("secret"), Some(secret_id)));
    assert!(!active(t3).await);
    assert!(active(t2.clone()).await, "minted with the other secret");

    // Every token of the client until now; later ones are fine.
    assert_eq!(app.post(&format!("/admin/v1/clients/{a}/revoke-tokens"), &op, &json!({})).await.0, 201);
    assert!(!active(t2).await);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(active(app.token(&a, &a_secret, &[]).await).await, "issued after the revocation");

    // A tenant admin revokes within its own org only, and its own revoked token stops working.
    let (tadmin, tsecret) =
        app.create_org_client(&op, &org, &[(writ_core::ADMIN_AUDIENCE, admin_scopes)]).await;
    let tenant = app.token(&tadmin, &tsecret, &[("resource", writ_core::ADMIN_AUDIENCE)]).await;
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &json!({"client_id": b})).await.0, 404);
    let tb = app.token(&b, &b_secret, &[]).await;
    let b_jti =
        call(&app, "/oauth/introspect", &gw, &gw_secret, &tb).await.1["jti"].as_str().unwrap().to_owned();
    // Another org's jti: revoked for this org's tokens alone, so the other org's stays valid.
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &json!({"jti": b_jti})).await.0, 201);
    assert!(active(tb.clone()).await);
    let ta = app.token(&a, &a_secret, &[]).await;
    let a_jti =
        call(&app, "/oauth/introspect", &gw, &gw_secret, &ta).await.1["jti"].as_str().unwrap().to_owned();
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &json!({"jti": a_jti})).await.0, 201);
    assert!(!active(ta).await, "its own org's token is revoked");
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &json!({"jti": "not a jti"})).await.0, 404);
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &json!({"client_id": tadmin})).await.0, 201);
    let (status, body) = app.get("/admin/v1/clients", &tenant).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("the token was revoked")));
    assert_eq!(app.post("/admin/v1/revocations", &op, &json!({"jti": "x", "org_id": org})).await.0, 422);

    // Suspending an org revokes the tokens it already has.
    let res = app
        .http
        .patch(app.url(&format!("/admin/v1/orgs/{other_org}")))
        .bearer_auth(&op)
        .json(&json!({"status": "suspended"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!active(tb).await);
}

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
    // And every scope the resources define, sorted, each once (issue 17, point 11).
    let scopes: Vec<&str> =
        meta["scopes_supported"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(scopes.contains(&"r") && scopes.contains(&"admin:clients:read"), "{scopes:?}");
    assert!(scopes.windows(2).all(|w| w[0] < w[1]), "{scopes:?}");
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
