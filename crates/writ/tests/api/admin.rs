//! The admin API: authentication, scopes, tenant isolation, validation and pagination.

use serde_json::{Value, json};
use writ_core::{ADMIN_AUDIENCE, KeyState, SigningAlg};
use writ_testkit::{TestApp, on_every_backend};
use writ_token::{AccessClaims, Audience, Kek, KeyRing};

const BILLING: &str = "https://api.example.com/billing";

on_every_backend!(
    bad_tokens_are_refused_with_problem_json,
    tenants_see_only_their_own_org,
    validation_and_pagination
);

fn admin_claims(app: &TestApp, exp_offset: i64, scope: &str) -> AccessClaims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    AccessClaims {
        iss: app.ctx.issuer.clone(),
        sub: app.operator_id.clone(),
        client_id: app.operator_id.clone(),
        aud: Audience::One(ADMIN_AUDIENCE.into()),
        scope: scope.into(),
        iat: now - 7200,
        nbf: now - 7200,
        exp: now + exp_offset,
        jti: "test".into(),
        oid: None,
        uid: None,
    }
}

async fn bad_tokens_are_refused_with_problem_json(app: TestApp) {
    let res = app.http.get(app.url("/admin/v1/orgs")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"writ\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(body["status"], 401);

    // Garbage, expired, and signed by a key this deployment never published.
    let expired =
        app.ctx.keys().sign(SigningAlg::ES256, &admin_claims(&app, -3600, "admin:orgs:read")).unwrap().0;
    let kek = Kek::new([5; 32]);
    let foreign_ring =
        KeyRing::load(&[writ_token::generate_key(SigningAlg::ES256, KeyState::Active, &kek).unwrap()], &kek)
            .unwrap();
    let foreign =
        foreign_ring.sign(SigningAlg::ES256, &admin_claims(&app, 3600, "admin:orgs:read")).unwrap().0;
    for token in ["not-a-jwt", expired.as_str(), foreign.as_str()] {
        let (status, body) = app.get("/admin/v1/orgs", token).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthorized");
    }

    // A valid token without the route's scope is 403 with the scope named.
    let under =
        app.ctx.keys().sign(SigningAlg::ES256, &admin_claims(&app, 3600, "admin:orgs:read")).unwrap().0;
    assert_eq!(app.get("/admin/v1/orgs", &under).await.0, 200);
    let (status, body) = app.post("/admin/v1/orgs", &under, &json!({"name": "x", "slug": "xx"})).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "insufficient_scope");
    assert!(body["detail"].as_str().unwrap().contains("admin:orgs:write"));
}

async fn tenants_see_only_their_own_org(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let admin_scopes: &[&str] =
        &["admin:orgs:read", "admin:orgs:write", "admin:clients:read", "admin:clients:write"];
    let org_a =
        app.create_org(&op, "org-a", &[(BILLING, &["invoices:read"]), (ADMIN_AUDIENCE, admin_scopes)]).await;
    let org_b = app.create_org(&op, "org-b", &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    let (b_client, _) = app.create_org_client(&op, &org_b, &[(BILLING, &["invoices:read"])]).await;

    // Org A's tenant admin: an org client granted admin scopes through A's entitlements.
    let (a_admin, a_secret) = app.create_org_client(&op, &org_a, &[(ADMIN_AUDIENCE, admin_scopes)]).await;
    let tenant = app.token(&a_admin, &a_secret, &[("resource", ADMIN_AUDIENCE)]).await;

    let (status, list) = app.get("/admin/v1/orgs", &tenant).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![org_a.as_str()]);
    assert_eq!(app.get(&format!("/admin/v1/orgs/{org_a}"), &tenant).await.0, 200);
    let (status, body) = app.get(&format!("/admin/v1/orgs/{org_b}"), &tenant).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert_eq!(app.get(&format!("/admin/v1/clients/{b_client}"), &tenant).await.0, 404);
    let (_, clients) = app.get("/admin/v1/clients", &tenant).await;
    assert!(clients["data"].as_array().unwrap().iter().all(|c| c["org_id"] == org_a.as_str()));
    let (_, clients) = app.get(&format!("/admin/v1/clients?org_id={org_b}"), &tenant).await;
    assert_eq!(clients["data"].as_array().unwrap().len(), 0);

    // Creating in another org reads exactly like an org that does not exist.
    let body = json!({"name": "x", "kind": "org", "org_id": org_b, "grants": []});
    let (status, foreign) = app.post("/admin/v1/clients", &tenant, &body).await;
    assert_eq!(status, 422);
    let body = json!({"name": "x", "kind": "org", "org_id": "org_01m840pc5reg6ryj3yqh3rs90m", "grants": []});
    let (_, missing) = app.post("/admin/v1/clients", &tenant, &body).await;
    assert_eq!(foreign, missing);

    // Within its own org, only what the org is entitled to; no orgs, no service clients.
    let body =
        json!({"name": "x", "kind": "org", "grants": [{"resource": BILLING, "scopes": ["invoices:write"]}]});
    let (status, body) = app.post("/admin/v1/clients", &tenant, &body).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("grants")));
    let body =
        json!({"name": "x", "kind": "org", "grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]});
    let (status, created) = app.post("/admin/v1/clients", &tenant, &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["org_id"], org_a.as_str());
    assert_eq!(app.post("/admin/v1/orgs", &tenant, &json!({"name": "c", "slug": "org-c"})).await.0, 403);
    assert_eq!(app.post("/admin/v1/clients", &tenant, &json!({"name": "s", "kind": "service"})).await.0, 403);
}

async fn validation_and_pagination(app: TestApp) {
    let op = app.operator_token().await;
    let (status, body) =
        app.post("/admin/v1/orgs", &op, &json!({"name": "Acme", "slug": "Not A Slug"})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("slug")));
    let (status, body) = app
        .post("/admin/v1/resources", &op, &json!({"identifier": "http://api.example.com", "name": "x"}))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("identifier")));
    let bad_ttl = json!({"name": "s", "kind": "service", "token_ttl_seconds": 60});
    let (status, body) = app.post("/admin/v1/clients", &op, &bad_ttl).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("token_ttl_seconds")));

    // Malformed, wrongly typed and oversized bodies get problem+json too.
    let send = |ct: &'static str, body: Vec<u8>| {
        app.http.post(app.url("/admin/v1/orgs")).bearer_auth(&op).header("content-type", ct).body(body).send()
    };
    let res = send("application/json", b"{not json".to_vec()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(send("text/plain", b"{}".to_vec()).await.unwrap().status(), 415);
    assert_eq!(send("application/json", vec![b' '; 100 * 1024]).await.unwrap().status(), 413);
    assert_eq!(app.get("/admin/v1/orgs/not-an-id", &op).await.0, 404);
    assert_eq!(app.get("/admin/v1/orgs?limit=0", &op).await.0, 422);
    assert_eq!(app.get("/admin/v1/nothing-here", &op).await.0, 404);

    // Nothing half-written: a client with an unknown scope leaves no client behind.
    let before = writ_store::count_rows(app.ctx.store.conn(), "clients").await.unwrap();
    let body =
        json!({"name": "s", "kind": "service", "grants": [{"resource": ADMIN_AUDIENCE, "scopes": ["nope"]}]});
    assert_eq!(app.post("/admin/v1/clients", &op, &body).await.0, 422);
    assert_eq!(writ_store::count_rows(app.ctx.store.conn(), "clients").await.unwrap(), before);

    // Unique values answer 409.
    app.create_org(&op, "taken", &[]).await;
    let (status, body) = app.post("/admin/v1/orgs", &op, &json!({"name": "Other", "slug": "taken"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    app.create_resource(&op, BILLING, &["a"]).await;
    let (status, _) =
        app.post("/admin/v1/resources", &op, &json!({"identifier": BILLING, "name": "again"})).await;
    assert_eq!(status, 409);

    for slug in ["p-one", "p-two", "p-three"] {
        app.create_org(&op, slug, &[]).await;
    }
    let (_, first) = app.get("/admin/v1/orgs?limit=3", &op).await;
    let slugs: Vec<&str> =
        first["data"].as_array().unwrap().iter().map(|o| o["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec!["taken", "p-one", "p-two"], "creation order");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app.get(&format!("/admin/v1/orgs?limit=3&after={cursor}"), &op).await;
    let slugs: Vec<&str> =
        second["data"].as_array().unwrap().iter().map(|o| o["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec!["p-three"]);
    assert!(second["next_cursor"].is_null());
}
