//! The admin API: authentication, scopes, tenant isolation, validation and pagination.

use sea_orm_migration::prelude::{Alias, Query};
use serde_json::{Value, json};
use writ_core::{ADMIN_AUDIENCE, KeyState, SigningAlg};
use writ_store::ConnectionTrait;
use writ_testkit::{TestApp, on_every_backend};
use writ_token::{AccessClaims, Audience, Kek, KeyRing};

const BILLING: &str = "https://api.example.com/billing";

on_every_backend!(
    bad_tokens_are_refused_with_problem_json,
    tenants_see_only_their_own_org,
    validation_and_pagination,
    deletes_take_their_children_and_tokens,
    resources_change_only_while_unheld,
    audit_log_filters,
    etags_guard_updates,
    idempotency_keys_make_retries_safe,
    every_change_is_audited
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
        cred: None,
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
    let expired = app
        .ctx
        .keys()
        .sign(SigningAlg::ES256, writ_token::TOKEN_TYPE, &admin_claims(&app, -3600, "admin:orgs:read"))
        .unwrap()
        .0;
    let kek = Kek::new([5; 32]);
    let foreign_ring =
        KeyRing::load(&[writ_token::generate_key(SigningAlg::ES256, KeyState::Active, &kek).unwrap()], &kek)
            .unwrap();
    let foreign = foreign_ring
        .sign(SigningAlg::ES256, writ_token::TOKEN_TYPE, &admin_claims(&app, 3600, "admin:orgs:read"))
        .unwrap()
        .0;
    for token in ["not-a-jwt", expired.as_str(), foreign.as_str()] {
        let (status, body) = app.get("/admin/v1/orgs", token).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthorized");
    }

    // A valid token without the route's scope is 403 with the scope named.
    let under = app
        .ctx
        .keys()
        .sign(SigningAlg::ES256, writ_token::TOKEN_TYPE, &admin_claims(&app, 3600, "admin:orgs:read"))
        .unwrap()
        .0;
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

    // Type errors, unknown and missing fields name the field, however deep.
    let nested =
        json!({"name": "s", "kind": "service", "grants": [{"resource": ADMIN_AUDIENCE, "scopes": "x"}]});
    let (status, body) = app.post("/admin/v1/clients", &op, &nested).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("grants[0].scopes")), "{body}");
    let (_, body) =
        app.post("/admin/v1/orgs", &op, &json!({"name": "Acme", "slug": "acme", "entitlement": []})).await;
    assert_eq!(body["field"], "entitlement");
    let (_, body) = app.post("/admin/v1/orgs", &op, &json!({"name": "Acme"})).await;
    assert_eq!(body["field"], "slug");
    // A body that may be left out must still be valid when it is there.
    let (_, svc) = app.post("/admin/v1/clients", &op, &json!({"name": "s", "kind": "service"})).await;
    let secrets = format!("/admin/v1/clients/{}/secrets", svc["client_id"].as_str().unwrap());
    let (status, body) = app.post(&secrets, &op, &json!({"expires_at": 5})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("expires_at")), "{body}");
    let res = app.http.post(app.url(&secrets)).bearer_auth(&op).send().await.unwrap();
    assert_eq!(res.status(), 201, "no body at all is fine");

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
    let before = writ_testkit::count_rows(app.ctx.store.conn(), "clients").await.unwrap();
    let body =
        json!({"name": "s", "kind": "service", "grants": [{"resource": ADMIN_AUDIENCE, "scopes": ["nope"]}]});
    assert_eq!(app.post("/admin/v1/clients", &op, &body).await.0, 422);
    assert_eq!(writ_testkit::count_rows(app.ctx.store.conn(), "clients").await.unwrap(), before);

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

/// An org with a tenant admin: (org id, admin client id, admin token).
async fn org_with_admin(app: &TestApp, op: &str, slug: &str) -> (String, String, String) {
    let scopes: &[&str] =
        &["admin:orgs:read", "admin:clients:read", "admin:clients:write", "admin:audit:read"];
    let org = app.create_org(op, slug, &[(BILLING, &["invoices:read"]), (ADMIN_AUDIENCE, scopes)]).await;
    let (admin, secret) = app.create_org_client(op, &org, &[(ADMIN_AUDIENCE, scopes)]).await;
    let token = app.token(&admin, &secret, &[("resource", ADMIN_AUDIENCE)]).await;
    (org, admin, token)
}

async fn deletes_take_their_children_and_tokens(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read"]).await;

    // A client: deleted with its secrets; the tokens it holds stop working at once.
    let (org, admin, tenant) = org_with_admin(&app, &op, "acme").await;
    assert_eq!(app.get("/admin/v1/orgs", &tenant).await.0, 200);
    assert_eq!(app.delete(&format!("/admin/v1/clients/{admin}"), &op).await.0, 204);
    let (status, body) = app.get("/admin/v1/orgs", &tenant).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("the token was revoked")));
    assert_eq!(app.get(&format!("/admin/v1/clients/{admin}"), &op).await.0, 404);
    assert_eq!(app.delete(&format!("/admin/v1/clients/{admin}"), &op).await.0, 404);
    let secrets = writ_testkit::count_rows(app.ctx.store.conn(), "client_secrets").await.unwrap();
    assert_eq!(secrets, 1, "only the operator's secret is left");

    // The operator's own client cannot be deleted.
    let (status, body) = app.delete(&format!("/admin/v1/clients/{}", app.operator_id), &op).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("operator_protected")));

    // An org: deleted with its users and clients, its tokens revoked; a tenant cannot delete even
    // its own org, and its audit history stays.
    let (_, _, tenant) = org_with_admin(&app, &op, "globex").await;
    let globex = app.get("/admin/v1/orgs", &tenant).await.1["data"][0]["id"].as_str().unwrap().to_owned();
    let user = json!({"email": "ann@globex.example", "org_id": globex});
    assert_eq!(app.post("/admin/v1/users", &op, &user).await.0, 201);
    assert_eq!(app.delete(&format!("/admin/v1/orgs/{globex}"), &tenant).await.0, 403);
    assert_eq!(app.delete(&format!("/admin/v1/orgs/{globex}"), &op).await.0, 204);
    assert_eq!(app.get("/admin/v1/orgs", &tenant).await.0, 401);
    let (_, users) = app.get(&format!("/admin/v1/users?org_id={globex}"), &op).await;
    assert_eq!(users["data"], json!([]));
    let (_, clients) = app.get(&format!("/admin/v1/clients?org_id={globex}"), &op).await;
    assert_eq!(clients["data"], json!([]));
    let (_, events) = app.get(&format!("/admin/v1/audit-events?org_id={globex}&action=org.*"), &op).await;
    let actions: Vec<&str> =
        events["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["org.created", "org.deleted"]);
    assert_eq!(app.get(&format!("/admin/v1/orgs/{org}"), &op).await.0, 200, "other orgs untouched");
}

async fn resources_change_only_while_unheld(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let (_, list) = app.get("/admin/v1/resources", &op).await;
    let find = |identifier: &str| {
        list["data"].as_array().unwrap().iter().find(|r| r["identifier"] == identifier).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (billing, admin_api) = (find(BILLING), find(ADMIN_AUDIENCE));
    let path = format!("/admin/v1/resources/{billing}");
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:write"])]).await;

    // A held scope cannot go; the answer names who holds it. Nothing changes.
    let only_read = json!({"scopes": [{"name": "invoices:read"}]});
    let (status, body) = app.patch(&path, &op, &only_read).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains(&org), "{body}");
    assert_eq!(app.get(&path, &op).await.1["scopes"].as_array().unwrap().len(), 2);
    let (status, body) = app.delete(&path, &op).await;
    assert_eq!(status, 409, "{body}");

    // Once nobody holds it, it goes; descriptions and names change in place.
    let read_only = json!({"entitlements": [{"resource": BILLING, "scopes": ["invoices:read"]}]});
    assert_eq!(app.patch(&format!("/admin/v1/orgs/{org}"), &op, &read_only).await.0, 200);
    let renamed =
        json!({"name": "Billing API", "scopes": [{"name": "invoices:read", "description": "Read invoices"}]});
    let (status, body) = app.patch(&path, &op, &renamed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Billing API");
    assert_eq!(body["scopes"], json!([{"name": "invoices:read", "description": "Read invoices"}]));
    assert_eq!(app.patch(&path, &op, &json!({"signing_alg": "HS256"})).await.1["field"], "signing_alg");

    // Built-in resources never change.
    assert_eq!(
        app.patch(&format!("/admin/v1/resources/{admin_api}"), &op, &json!({"name": "x"})).await.0,
        403
    );
    assert_eq!(app.delete(&format!("/admin/v1/resources/{admin_api}"), &op).await.0, 403);

    assert_eq!(app.patch(&format!("/admin/v1/orgs/{org}"), &op, &json!({"entitlements": []})).await.0, 200);
    assert_eq!(app.delete(&path, &op).await.0, 204);
    assert_eq!(app.get(&path, &op).await.0, 404);
    let body = json!({"entitlements": [{"resource": BILLING, "scopes": ["invoices:read"]}]});
    assert_eq!(app.patch(&format!("/admin/v1/orgs/{org}"), &op, &body).await.1["field"], "entitlements");
}

async fn audit_log_filters(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read"]).await;
    let start = time::OffsetDateTime::now_utc();
    let (org_a, admin_a, tenant_a) = org_with_admin(&app, &op, "org-a").await;
    let (org_b, _, _) = org_with_admin(&app, &op, "org-b").await;
    let (client, secret) = app.create_org_client(&op, &org_a, &[(BILLING, &["invoices:read"])]).await;
    app.token(&client, &secret, &[]).await;
    let patch = json!({"name": "renamed"});
    assert_eq!(app.patch(&format!("/admin/v1/clients/{client}"), &tenant_a, &patch).await.0, 200);
    app.ctx.audit.flush().await;

    let actions = |page: &Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
    };
    let (_, events) = app.get(&format!("/admin/v1/audit-events?client_id={client}"), &op).await;
    assert_eq!(actions(&events), ["client.created", "token.issued", "client.updated"]);
    let updated = &events["data"][2];
    assert_eq!(updated["actor"], json!({"kind": "client", "id": admin_a}));
    assert_eq!(updated["org_id"], org_a.as_str());
    assert_eq!(updated["details"]["changed"], json!(["name"]));

    let (_, events) = app.get(&format!("/admin/v1/audit-events?actor={admin_a}"), &op).await;
    assert_eq!(actions(&events), ["token.issued", "client.updated"], "the tenant admin's own acts");
    let (_, events) = app.get("/admin/v1/audit-events?action=org.*", &op).await;
    assert_eq!(actions(&events), ["org.created", "org.created"]);
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?org_id={org_b}&action=client.created"), &op).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);

    // Time range: everything since the start, nothing before it or from the future.
    let at = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (_, since) = app.get(&format!("/admin/v1/audit-events?since={}&limit=200", at(start)), &op).await;
    let (_, until) = app.get(&format!("/admin/v1/audit-events?until={}&limit=200", at(start)), &op).await;
    let (_, all) = app.get("/admin/v1/audit-events?limit=200", &op).await;
    let n = |v: &Value| v["data"].as_array().unwrap().len();
    assert_eq!(n(&since) + n(&until), n(&all));
    assert!(n(&since) >= 8 && n(&until) >= 1, "{since} {until}");
    let later = at(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    assert_eq!(n(&app.get(&format!("/admin/v1/audit-events?since={later}"), &op).await.1), 0);
    let (status, body) = app.get("/admin/v1/audit-events?since=yesterday", &op).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("since")));

    // A tenant admin reads its own org's log only.
    let (_, mine) = app.get("/admin/v1/audit-events?limit=200", &tenant_a).await;
    assert!(n(&mine) >= 4);
    assert!(mine["data"].as_array().unwrap().iter().all(|e| e["org_id"] == org_a.as_str()), "{mine}");
    assert!(!mine.to_string().contains(&org_b));
}

async fn etags_guard_updates(app: TestApp) {
    let op = app.operator_token().await;
    let org = app.create_org(&op, "acme", &[]).await;
    let path = format!("/admin/v1/orgs/{org}");
    let get = || app.http.get(app.url(&path)).bearer_auth(&op).send();
    let patch = |etag: &str, name: &str| {
        app.http
            .patch(app.url(&path))
            .bearer_auth(&op)
            .header("if-match", etag)
            .json(&json!({"name": name}))
            .send()
    };
    let first = get().await.unwrap().headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(get().await.unwrap().headers()["etag"], first.as_str(), "stable while unchanged");

    let res = patch(&first, "Acme One").await.unwrap();
    assert_eq!(res.status(), 200);
    let second = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(get().await.unwrap().headers()["etag"], second.as_str());

    // A writer holding the old version is refused, and changes nothing.
    let res = patch(&first, "Acme Two").await.unwrap();
    assert_eq!(res.status(), 412);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "precondition_failed");
    assert_eq!(app.get(&path, &op).await.1["name"], "Acme One");
    assert_eq!(patch("*", "Acme Three").await.unwrap().status(), 200);
    assert_eq!(patch("W/\"weak\"", "Acme Four").await.unwrap().status(), 412);
}

async fn idempotency_keys_make_retries_safe(app: TestApp) {
    let op = app.operator_token().await;
    let post = |key: &str, token: &str, body: Value| {
        app.http
            .post(app.url("/admin/v1/clients"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let body = json!({"name": "sync", "kind": "service"});
    let clients = || writ_testkit::count_rows(app.ctx.store.conn(), "clients");
    let before = clients().await.unwrap();

    // The retry gets the first answer — the same client and the same secret — and creates nothing.
    let first = post("key-1", &op, body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    let again = post("key-1", &op, body.clone()).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["cache-control"], "no-store");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(clients().await.unwrap(), before + 1);

    // The stored answer holds the secret only sealed.
    let secret = first["client_secret"].as_str().unwrap();
    let rows = writ_testkit::count_rows(app.ctx.store.conn(), "idempotency_keys").await.unwrap();
    assert_eq!(rows, 1);
    let select =
        Query::select().column(Alias::new("response")).from(Alias::new("idempotency_keys")).to_owned();
    let row = app.ctx.store.conn().query_one(&select).await.unwrap().unwrap();
    let sealed: Vec<u8> = row.try_get("", "response").unwrap();
    assert!(sealed.len() > secret.len());
    assert!(
        !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is stored in the clear"
    );

    // Same key, another body: refused, nothing created. Another caller's key space is its own.
    let other = post("key-1", &op, json!({"name": "other", "kind": "service"})).await.unwrap();
    assert_eq!(other.status(), 422);
    assert_eq!(other.json::<Value>().await.unwrap()["code"], "idempotency_key_reused");
    assert_eq!(clients().await.unwrap(), before + 1);

    // Refusals are not kept: a retry is judged afresh. A malformed key is refused before anything
    // runs.
    let bad = json!({"name": "x", "kind": "nope"});
    assert_eq!(post("key-2", &op, bad.clone()).await.unwrap().status(), 422);
    let judged_again = post("key-2", &op, bad).await.unwrap();
    assert_eq!(judged_again.status(), 422);
    assert!(judged_again.headers().get("idempotent-replayed").is_none());
    let res = post(&"k".repeat(256), &op, body.clone()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_idempotency_key");
    assert_eq!(post("key-3", "not-a-token", body.clone()).await.unwrap().status(), 401);
    assert_eq!(clients().await.unwrap(), before + 1);

    // A revoked token never gets a stored answer back, even with the right key and body.
    let leaked = app.operator_token().await;
    assert_eq!(post("key-4", &leaked, body.clone()).await.unwrap().status(), 201);
    let payload = leaked.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap();
    let (status, _) = app.post("/admin/v1/revocations", &op, &json!({"jti": claims["jti"]})).await;
    assert_eq!(status, 201);
    let res = post("key-4", &leaked, body).await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("idempotent-replayed").is_none());
}

/// One call of the audit walk: operation, method, path, body, the action it audits, its target.
type Step<'a> = (&'a str, reqwest::Method, String, Option<Value>, &'a str, &'a str);

/// Every mutating admin route — enumerated from the route table — writes exactly one audit event
/// naming the operator and the object.
async fn every_change_is_audited(app: TestApp) {
    let op = app.operator_token().await;
    let org = app.create_org(&op, "acme", &[]).await;
    let post = |path: &str, body: Value| {
        let (app, op) = (&app, &op);
        let path = path.to_owned();
        async move {
            let (status, body) = app.post(&path, op, &body).await;
            assert_eq!(status, 201, "{path}: {body}");
            body
        }
    };
    // What the walk acts on, created as it goes: (operation, method, path, body, action, target).
    let resource =
        post("/admin/v1/resources", json!({"identifier": BILLING, "name": "B", "scopes": [{"name": "r"}]}))
            .await;
    let res_id = resource["id"].as_str().unwrap().to_owned();
    let client = post("/admin/v1/clients", json!({"name": "c", "kind": "org", "org_id": org})).await;
    let cli = client["client_id"].as_str().unwrap().to_owned();
    let user = post("/admin/v1/users", json!({"email": "u@acme.example", "org_id": org})).await;
    let usr = user["id"].as_str().unwrap().to_owned();
    let cns = super::delegation::stored_consent(&app, &org, &usr, &cli).await;
    let secret = post(&format!("/admin/v1/clients/{cli}/secrets"), json!({})).await;
    let sec = secret["secret_id"].as_str().unwrap().to_owned();
    let key = post("/admin/v1/keys/rotate", json!({})).await;
    let kid = key["kid"].as_str().unwrap().to_owned();
    let new_org = post("/admin/v1/orgs", json!({"name": "Other", "slug": "other"})).await;
    let other = new_org["id"].as_str().unwrap().to_owned();

    use reqwest::Method as M;
    let steps: Vec<Step> = vec![
        (
            "create_org",
            M::POST,
            "/admin/v1/orgs".into(),
            Some(json!({"name": "N", "slug": "n-org"})),
            "org.created",
            "",
        ),
        (
            "update_org",
            M::PATCH,
            format!("/admin/v1/orgs/{org}"),
            Some(json!({"name": "Acme 2"})),
            "org.updated",
            &org,
        ),
        (
            "create_resource",
            M::POST,
            "/admin/v1/resources".into(),
            Some(json!({"identifier": "https://x.example", "name": "X"})),
            "resource.created",
            "",
        ),
        (
            "update_resource",
            M::PATCH,
            format!("/admin/v1/resources/{res_id}"),
            Some(json!({"name": "B2"})),
            "resource.updated",
            &res_id,
        ),
        (
            "create_user",
            M::POST,
            "/admin/v1/users".into(),
            Some(json!({"email": "v@acme.example", "org_id": org})),
            "user.created",
            "",
        ),
        (
            "invite_user",
            M::POST,
            format!("/admin/v1/users/{usr}/invitations"),
            Some(json!({"expires_in": 3600})),
            "user.invited",
            &usr,
        ),
        (
            "update_user",
            M::PATCH,
            format!("/admin/v1/users/{usr}"),
            Some(json!({"status": "disabled"})),
            "user.updated",
            &usr,
        ),
        (
            "create_client",
            M::POST,
            "/admin/v1/clients".into(),
            Some(json!({"name": "d", "kind": "service"})),
            "client.created",
            "",
        ),
        (
            "update_client",
            M::PATCH,
            format!("/admin/v1/clients/{cli}"),
            Some(json!({"name": "c2"})),
            "client.updated",
            &cli,
        ),
        (
            "create_secret",
            M::POST,
            format!("/admin/v1/clients/{cli}/secrets"),
            Some(json!({})),
            "client.secret_created",
            &cli,
        ),
        (
            "delete_secret",
            M::DELETE,
            format!("/admin/v1/clients/{cli}/secrets/{sec}"),
            None,
            "client.secret_deleted",
            &cli,
        ),
        ("rotate_key", M::POST, "/admin/v1/keys/rotate".into(), Some(json!({})), "key.rotated", ""),
        ("revoke_key", M::POST, format!("/admin/v1/keys/{kid}/revoke"), Some(json!({})), "key.revoked", &kid),
        (
            "create_revocation",
            M::POST,
            "/admin/v1/revocations".into(),
            Some(json!({"org_id": org})),
            "tokens.revoked",
            &org,
        ),
        (
            "revoke_client_tokens",
            M::POST,
            format!("/admin/v1/clients/{cli}/revoke-tokens"),
            Some(json!({})),
            "tokens.revoked",
            &cli,
        ),
        (
            "create_trusted_issuer",
            M::POST,
            "/admin/v1/trusted-issuers".into(),
            Some(json!({"issuer": "https://issuer.example.com", "name": "I"})),
            "trusted_issuer.created",
            "",
        ),
        (
            "update_trusted_issuer",
            M::PATCH,
            "/admin/v1/trusted-issuers/{issuer}".into(),
            Some(json!({"single_use": false})),
            "trusted_issuer.updated",
            "{issuer}",
        ),
        (
            "create_federated_credential",
            M::POST,
            format!("/admin/v1/clients/{cli}/federated-credentials"),
            Some(
                json!({"issuer": "https://issuer.example.com", "name": "f", "subject": "system:serviceaccount:a:b"}),
            ),
            "client.federated_credential_created",
            &cli,
        ),
        (
            "delete_federated_credential",
            M::DELETE,
            format!("/admin/v1/clients/{cli}/federated-credentials/{{credential}}"),
            None,
            "client.federated_credential_deleted",
            &cli,
        ),
        (
            "delete_trusted_issuer",
            M::DELETE,
            "/admin/v1/trusted-issuers/{issuer}".into(),
            None,
            "trusted_issuer.deleted",
            "{issuer}",
        ),
        (
            "revoke_consent",
            M::DELETE,
            format!("/admin/v1/users/{usr}/consents/{cns}"),
            None,
            "consent.revoked",
            &cns,
        ),
        ("delete_client", M::DELETE, format!("/admin/v1/clients/{cli}"), None, "client.deleted", &cli),
        ("delete_user", M::DELETE, format!("/admin/v1/users/{usr}"), None, "user.deleted", &usr),
        ("delete_resource", M::DELETE, "/admin/v1/resources/{resource}".into(), None, "resource.deleted", ""),
        ("delete_org", M::DELETE, format!("/admin/v1/orgs/{other}"), None, "org.deleted", &other),
    ];

    // The walk covers every mutating route of the document.
    let spec = writ_admin::openapi();
    let mut mutating: Vec<&str> = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for (method, operation) in item.as_object().unwrap() {
            if ["post", "patch", "put", "delete"].contains(&method.as_str()) {
                mutating.push(operation["operationId"].as_str().unwrap());
            }
        }
    }
    let mut walked: Vec<&str> = steps.iter().map(|s| s.0).collect();
    mutating.sort_unstable();
    walked.sort_unstable();
    assert_eq!(walked, mutating, "a mutating admin route is missing from the audit walk");

    let events = |action: &str| {
        let path = format!("/admin/v1/audit-events?action={action}&limit=200");
        let (app, op) = (&app, &op);
        async move { app.get(&path, op).await.1["data"].as_array().unwrap().clone() }
    };
    // Ids created along the walk, for the paths and targets of the steps after.
    let mut created: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let fill = |created: &std::collections::HashMap<&str, String>, s: &str| {
        ["resource", "issuer", "credential"].iter().fold(s.to_owned(), |s, name| {
            s.replace(&format!("{{{name}}}"), created.get(name).map_or("", String::as_str))
        })
    };
    for (operation, method, path, body, action, target) in steps {
        let path = fill(&created, &path);
        let before = events(action).await.len();
        let (status, answer) = app.call(method, &path, &op, body.as_ref()).await;
        assert!((200..300).contains(&status), "{operation}: {status} {answer}");
        for (creates, name) in [
            ("create_resource", "resource"),
            ("create_trusted_issuer", "issuer"),
            ("create_federated_credential", "credential"),
        ] {
            if operation == creates {
                created.insert(name, answer["id"].as_str().unwrap().to_owned());
            }
        }
        let after = events(action).await;
        assert_eq!(after.len(), before + 1, "{operation} wrote no `{action}` event (or several)");
        let event = after.last().unwrap();
        assert_eq!(event["actor"]["id"], app.operator_id.as_str(), "{operation}");
        let expected_target = match target {
            "" => answer["id"]
                .as_str()
                .or(answer["client_id"].as_str())
                .or(answer["kid"].as_str())
                .map_or_else(|| fill(&created, "{resource}"), str::to_owned),
            t => fill(&created, t),
        };
        assert_eq!(event["target_id"], expected_target.as_str(), "{operation}: {event}");
    }
}
