//! The authorization model under attack (docs/security.md): one test per hole that was found,
//! each on every backend.

use reqwest::Method;
use serde_json::{Value, json};
use writ_core::{ADMIN_AUDIENCE, ADMIN_SCOPES, GUARD_AUDIENCE, GUARD_SCOPES};
use writ_testkit::{TestApp, on_every_backend};

use crate::issuer::{claims_of, error_of};

const A: &str = "https://api.example.com/a";
const B: &str = "https://api.example.com/b";

on_every_backend!(
    audiences_never_pool_scopes,
    nobody_gives_more_than_it_holds,
    every_granting_route_refuses_scopes_its_caller_lacks,
    cutting_access_cuts_tokens,
    introspection_stays_within_the_tenant,
    the_operator_cannot_be_locked_out,
    idempotent_replays_respect_scopes,
    tenants_see_only_their_resources_and_expired_secrets_go,
    revocations_need_no_record_and_stay_within_the_tenant,
    what_the_operator_disabled_only_the_operator_enables
);

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

/// A service client of the operator holding `scopes` on the admin API, and its admin token.
async fn service_admin(app: &TestApp, op: &str, scopes: &[&str]) -> (String, String) {
    let body =
        json!({"name": "svc", "kind": "service", "grants": [{"resource": ADMIN_AUDIENCE, "scopes": scopes}]});
    let (status, created) = app.post("/admin/v1/clients", op, &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let token =
        app.token(&id, created["client_secret"].as_str().unwrap(), &[("resource", ADMIN_AUDIENCE)]).await;
    (id, token)
}

/// Point 2: a tenant admin holding only `admin:clients:read/write` cannot widen its own client nor
/// create one with admin scopes it lacks; a service client holding only `admin:clients:write`
/// cannot mint one with every admin and guard scope.
async fn nobody_gives_more_than_it_holds(app: TestApp) {
    let op = app.operator_token().await;
    let every_admin_scope: Vec<&str> = ADMIN_SCOPES.iter().map(|(s, _)| *s).collect();
    let org = app.create_org(&op, "esc", &[(ADMIN_AUDIENCE, &every_admin_scope)]).await;
    let (tenant_id, tenant_secret) = app
        .create_org_client(&op, &org, &[(ADMIN_AUDIENCE, &["admin:clients:read", "admin:clients:write"])])
        .await;
    let tenant = app.token(&tenant_id, &tenant_secret, &[("resource", ADMIN_AUDIENCE)]).await;

    let own = format!("/admin/v1/clients/{tenant_id}");
    let widen = json!({"grants": [{"resource": ADMIN_AUDIENCE, "scopes": ["admin:clients:read", "admin:clients:write", "admin:orgs:write"]}]});
    let (status, body) = app.patch(&own, &tenant, &widen).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    let lacking = json!({"name": "x", "kind": "org", "grants": [{"resource": ADMIN_AUDIENCE, "scopes": ["admin:users:write"]}]});
    let (status, body) = app.post("/admin/v1/clients", &tenant, &lacking).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    let held = json!({"name": "x", "kind": "org", "grants": [{"resource": ADMIN_AUDIENCE, "scopes": ["admin:clients:read"]}]});
    let (status, created) = app.post("/admin/v1/clients", &tenant, &held).await;
    assert_eq!(status, 201, "what it holds it may give: {created}");
    // Nor through another client: it may not widen a client it made beyond what it holds.
    let other = format!("/admin/v1/clients/{}", created["client_id"].as_str().unwrap());
    assert_eq!(app.patch(&other, &tenant, &widen).await.0, 403);

    let (_, service) = service_admin(&app, &op, &["admin:clients:write"]).await;
    let every_guard_scope: Vec<&str> = GUARD_SCOPES.iter().map(|(s, _)| *s).collect();
    let everything = json!({"name": "root", "kind": "service", "grants": [
        {"resource": ADMIN_AUDIENCE, "scopes": every_admin_scope},
        {"resource": GUARD_AUDIENCE, "scopes": every_guard_scope},
    ]});
    let (status, body) = app.post("/admin/v1/clients", &service, &everything).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    let guard_only = json!({"name": "g", "kind": "service", "grants": [{"resource": GUARD_AUDIENCE, "scopes": ["guard:introspect"]}]});
    assert_eq!(
        app.post("/admin/v1/clients", &service, &guard_only).await.0,
        403,
        "guard scopes it does not hold"
    );
    // The operator holds them all, and gives them.
    assert_eq!(app.post("/admin/v1/clients", &op, &guard_only).await.0, 201);
}

/// The rows of what a granting route could write.
async fn rows(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["orgs", "org_entitlements", "users", "user_grants", "clients", "client_grants"] {
        out.push(writ_testkit::count_rows(app.ctx.store.conn(), table).await.unwrap());
    }
    out
}

/// Every admin route that hands out scopes (found from the OpenAPI document: its body takes
/// `grants` or `entitlements`), called by a caller holding the route's scope but not the admin
/// scope it would hand out, is refused and changes nothing.
async fn every_granting_route_refuses_scopes_its_caller_lacks(app: TestApp) {
    let op = app.operator_token().await;
    let every_admin_scope: Vec<&str> = ADMIN_SCOPES.iter().map(|(s, _)| *s).collect();
    // Entitled to every admin scope but the one handed out, which the caller lacks too.
    let mut entitled: Vec<&str> =
        every_admin_scope.iter().copied().filter(|s| *s != "admin:keys:write").collect();
    entitled.sort_unstable();
    let org = app.create_org(&op, "walk", &[(ADMIN_AUDIENCE, &entitled)]).await;
    let (client, _) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, &["admin:audit:read"])]).await;
    let (_, user) =
        app.post("/admin/v1/users", &op, &json!({"email": "u@walk.example", "org_id": org})).await;
    let user = user["id"].as_str().unwrap().to_owned();
    let writes = ["admin:orgs:write", "admin:clients:write", "admin:users:write"];
    let (_, caller) = service_admin(&app, &op, &writes).await;
    let out_of_reach = json!([{"resource": ADMIN_AUDIENCE, "scopes": ["admin:keys:write"]}]);

    let spec = writ_admin::openapi();
    let schemas = &spec["components"]["schemas"];
    let mut walked = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(schema) =
                operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            else {
                continue;
            };
            let properties = &schemas[schema.rsplit('/').next().unwrap()]["properties"];
            let field = ["grants", "entitlements"].into_iter().find(|f| properties.get(*f).is_some());
            let Some(field) = field else { continue };
            let id = operation["operationId"].as_str().unwrap();
            let mut body = match id {
                "create_client" => json!({"name": "x", "kind": "org", "org_id": org}),
                "create_user" => json!({"email": "v@walk.example", "org_id": org}),
                "create_org" => json!({"name": "x", "slug": "walk-new"}),
                "update_client" | "update_user" | "update_org" => json!({}),
                other => panic!("route `{other}` hands out scopes and is not in the walk: add it"),
            };
            body[field] = out_of_reach.clone();
            let path = template
                .replace("{client_id}", &client)
                .replace("{user_id}", &user)
                .replace("{org_id}", &org);
            let method: Method = method.to_uppercase().parse().unwrap();
            let before = rows(&app).await;
            let (status, answer) = app.call(method.clone(), &path, &caller, Some(&body)).await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (403, Some("forbidden")),
                "{method} {path} ({id}): {answer}"
            );
            assert_eq!(rows(&app).await, before, "{id} changed something");
            let (_, now) = app.get(&format!("/admin/v1/orgs/{org}"), &op).await;
            assert_eq!(now["entitlements"][0]["scopes"], json!(entitled), "{id} changed the org");
            walked.push(id.to_owned());
        }
    }
    walked.sort();
    assert_eq!(
        walked,
        ["create_client", "create_org", "create_user", "update_client", "update_org", "update_user"]
    );
}

/// What `/oauth/introspect` tells the client `(id, secret)` about `token`.
async fn introspect(app: &TestApp, (id, secret): (&str, &str), token: &str) -> Value {
    let (status, answer) = crate::guard::call(app, "/oauth/introspect", id, secret, token).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Point 4: disabling a client or a user, or taking grants or entitlements away, ends the tokens
/// already out: at the admin API, at introspection and in the revocation feed.
async fn cutting_access_cuts_tokens(app: TestApp) {
    let op = app.operator_token().await;
    let (gw, gw_secret) = crate::guard::gateway(&app, &op).await;
    let read: &[&str] = &["admin:orgs:read", "admin:users:read"];
    let org = app.create_org(&op, "cut", &[(ADMIN_AUDIENCE, read)]).await;
    let admin_token = |id: String, secret: String| {
        let app = &app;
        async move {
            app.token(&id, &secret, &[("resource", ADMIN_AUDIENCE), ("scope", "admin:users:read")]).await
        }
    };
    let works = |token: String| {
        let app = &app;
        async move { app.get("/admin/v1/users", &token).await.0 }
    };

    // A disabled client.
    let (c1, s1) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, read)]).await;
    let t1 = admin_token(c1.clone(), s1).await;
    assert_eq!(
        (works(t1.clone()).await, introspect(&app, (&gw, &gw_secret), &t1).await["active"].clone()),
        (200, json!(true))
    );
    assert_eq!(
        app.patch(&format!("/admin/v1/clients/{c1}"), &op, &json!({"status": "disabled"})).await.0,
        200
    );
    assert_eq!(works(t1.clone()).await, 401, "a disabled client's token is dead at the admin API");
    assert_eq!(introspect(&app, (&gw, &gw_secret), &t1).await["active"], false);

    // Grants taken away from a client.
    let (c2, s2) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, read)]).await;
    let t2 = admin_token(c2.clone(), s2.clone()).await;
    let fewer = json!({"grants": [{"resource": ADMIN_AUDIENCE, "scopes": ["admin:users:read"]}]});
    assert_eq!(app.patch(&format!("/admin/v1/clients/{c2}"), &op, &fewer).await.0, 200);
    assert_eq!(works(t2).await, 401);
    // Watermarks are whole seconds (`iat`): a token from the next second on is not covered.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(works(admin_token(c2.clone(), s2).await).await, 200, "a token asked for afterwards works");

    // A disabled user, through its client.
    let grants = json!([{"resource": ADMIN_AUDIENCE, "scopes": read}]);
    let (_, user) = app
        .post("/admin/v1/users", &op, &json!({"email": "u@cut.example", "org_id": org, "grants": grants}))
        .await;
    let body =
        json!({"name": "agent", "kind": "user", "org_id": org, "user_id": user["id"], "grants": grants});
    let (_, agent) = app.post("/admin/v1/clients", &op, &body).await;
    let t3 = admin_token(
        agent["client_id"].as_str().unwrap().into(),
        agent["client_secret"].as_str().unwrap().into(),
    )
    .await;
    assert_eq!(works(t3.clone()).await, 200);
    let user_path = format!("/admin/v1/users/{}", user["id"].as_str().unwrap());
    assert_eq!(app.patch(&user_path, &op, &json!({"status": "disabled"})).await.0, 200);
    assert_eq!(works(t3.clone()).await, 401);
    assert_eq!(introspect(&app, (&gw, &gw_secret), &t3).await["active"], false);

    // Entitlements taken away from an org.
    let (c4, s4) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, read)]).await;
    let t4 = admin_token(c4, s4).await;
    let narrower = json!({"entitlements": [{"resource": ADMIN_AUDIENCE, "scopes": ["admin:users:read"]}]});
    assert_eq!(app.patch(&format!("/admin/v1/orgs/{org}"), &op, &narrower).await.0, 200);
    assert_eq!(works(t4).await, 401);

    // Resource servers learn it from the feed.
    let guard = app.token(&app.operator_id, &app.operator_secret, &[("resource", GUARD_AUDIENCE)]).await;
    let (_, feed) = app.get("/guard/v1/revocations", &guard).await;
    let entries: Vec<(String, String)> = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().into(), e["id"].as_str().unwrap().into()))
        .collect();
    for expected in [("client".to_owned(), c1), ("client".to_owned(), c2), ("org".to_owned(), org.clone())] {
        assert!(entries.contains(&expected), "{expected:?} not in {entries:?}");
    }
}

/// Point 5: an org client holding `guard:introspect` learns about its own org's tokens only; the
/// operator's service clients about any.
async fn introspection_stays_within_the_tenant(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, A, &["read"]).await;
    let org_a = app.create_org(&op, "in-a", &[(A, &["read"]), (GUARD_AUDIENCE, &["guard:introspect"])]).await;
    let org_b = app.create_org(&op, "in-b", &[(A, &["read"])]).await;
    let (gw_a, gw_a_secret) =
        app.create_org_client(&op, &org_a, &[(GUARD_AUDIENCE, &["guard:introspect"])]).await;
    let (a, a_secret) = app.create_org_client(&op, &org_a, &[(A, &["read"])]).await;
    let (b, b_secret) = app.create_org_client(&op, &org_b, &[(A, &["read"])]).await;
    let (token_a, token_b) = (app.token(&a, &a_secret, &[]).await, app.token(&b, &b_secret, &[]).await);

    let tenant = (gw_a.as_str(), gw_a_secret.as_str());
    assert_eq!(introspect(&app, tenant, &token_a).await["active"], true, "its own org's token");
    assert_eq!(introspect(&app, tenant, &token_b).await, json!({"active": false}), "another org's");
    assert_eq!(introspect(&app, tenant, &op).await, json!({"active": false}), "the operator's");
    let (gw, gw_secret) = crate::guard::gateway(&app, &op).await;
    let introspected = introspect(&app, (&gw, &gw_secret), &token_b).await;
    assert_eq!((introspected["active"].clone(), introspected["oid"].clone()), (json!(true), json!(org_b)));
}

/// Point 3: the API cannot take the operator's access away, and `writ bootstrap --new-secret`
/// (the CLI's repair, run here against the same database as a separate deployment) brings back an
/// operator broken behind the API's back; the running server sees it within about a second.
async fn the_operator_cannot_be_locked_out(app: TestApp) {
    let op = app.operator_token().await;
    let me = format!("/admin/v1/clients/{}", app.operator_id);
    let protected = |answer: (u16, Value)| (answer.0, answer.1["code"].as_str().map(str::to_owned));
    let expected = (409, Some("operator_protected".to_owned()));
    assert_eq!(protected(app.patch(&me, &op, &json!({"status": "disabled"})).await), expected);
    let nothing = json!({"grants": [{"resource": ADMIN_AUDIENCE, "scopes": ["admin:orgs:read"]}]});
    assert_eq!(protected(app.patch(&me, &op, &nothing).await), expected);
    assert_eq!(protected(app.patch(&me, &op, &json!({"rate_limits": {"per_second": 1}})).await), expected);
    assert_eq!(
        app.patch(&me, &op, &json!({"name": "still the operator"})).await.0,
        200,
        "its name may change"
    );
    let (_, secrets) = app.get(&format!("{me}/secrets"), &op).await;
    let only = secrets["data"][0]["secret_id"].as_str().unwrap();
    assert_eq!(protected(app.delete(&format!("{me}/secrets/{only}"), &op).await), expected);
    assert_eq!(protected(app.delete(&me, &op).await), expected);

    // Broken behind the API's back (a database edit): disabled and stripped.
    let id = writ_core::ClientId::parse(&app.operator_id).unwrap();
    let clients = writ_store::Clients::new(app.ctx.store.conn(), &writ_store::Tenant::Operator);
    let mut broken = clients.get(&id).await.unwrap();
    broken.status = writ_core::Status::Disabled;
    broken.grants = writ_core::Grants::new();
    clients.update(&broken).await.unwrap();

    let cli = writ_app::Deployment::open(app.ctx.settings.clone(), app.ctx.issuer.clone()).await.unwrap();
    let repaired = writ_app::operator::repair_operator(&cli).await.unwrap();
    let (id, secret) = (repaired.client_id.to_string(), repaired.client_secret.expose().to_owned());
    // The server cached the operator as it was; the repair's change reaches it (Redis, or the
    // database's change marker without Redis) well before the cache would have expired.
    let mut token = None;
    for _ in 0..30 {
        let res = app.token_request(&id, &secret, &[("resource", ADMIN_AUDIENCE)]).await;
        if res.status() == 200 {
            token = Some(res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = token.expect("the repaired operator gets a token within 3 s");
    let scopes = claims_of(&token)["scope"].as_str().unwrap().split(' ').count();
    assert_eq!(scopes, ADMIN_SCOPES.len(), "every admin scope is back");
    assert_eq!(app.get("/admin/v1/orgs", &token).await.0, 200);
}

/// Point 8: a stored idempotent answer goes back only to a token holding every scope the first one
/// held, and a refusal is never stored.
async fn idempotent_replays_respect_scopes(app: TestApp) {
    let op = app.operator_token().await;
    let (id, _) = service_admin(&app, &op, &["admin:clients:read", "admin:clients:write"]).await;
    let (_, secrets) = app.get(&format!("/admin/v1/clients/{id}/secrets"), &op).await;
    assert_eq!(secrets["data"].as_array().unwrap().len(), 1);
    let (_, added) = app.post(&format!("/admin/v1/clients/{id}/secrets"), &op, &json!({})).await;
    let secret = added["client_secret"].as_str().unwrap().to_owned();
    let token = |scope: &'static str| {
        let (app, id, secret) = (&app, id.clone(), secret.clone());
        async move { app.token(&id, &secret, &[("resource", ADMIN_AUDIENCE), ("scope", scope)]).await }
    };
    let post = |token: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/admin/v1/clients"))
                .bearer_auth(token)
                .header("idempotency-key", "k-1")
                .json(&json!({"name": "made", "kind": "service"}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post(token("admin:clients:read admin:clients:write").await).await.status(), 201);
    let narrower = post(token("admin:clients:read").await).await;
    assert_eq!(narrower.status(), 403, "the answer holds what only a writer may see");
    assert!(narrower.headers().get("idempotent-replayed").is_none());
    let replayed = post(token("admin:clients:read admin:clients:write").await).await;
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
}

/// Point 8: a tenant admin sees the resources its org is entitled to, no others; a client's
/// expired secrets go when it gets a new one.
async fn tenants_see_only_their_resources_and_expired_secrets_go(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, A, &["read"]).await;
    app.create_resource(&op, B, &["read"]).await;
    let org = app
        .create_org(
            &op,
            "res",
            &[
                (A, &["read"]),
                (ADMIN_AUDIENCE, &["admin:resources:read", "admin:clients:write", "admin:clients:read"]),
            ],
        )
        .await;
    let (admin, admin_secret) = app
        .create_org_client(
            &op,
            &org,
            &[(ADMIN_AUDIENCE, &["admin:resources:read", "admin:clients:write", "admin:clients:read"])],
        )
        .await;
    let tenant = app.token(&admin, &admin_secret, &[("resource", ADMIN_AUDIENCE)]).await;
    let (_, listed) = app.get("/admin/v1/resources", &tenant).await;
    let seen: Vec<&str> =
        listed["data"].as_array().unwrap().iter().map(|r| r["identifier"].as_str().unwrap()).collect();
    assert_eq!(seen, [ADMIN_AUDIENCE, A], "only what its org is entitled to");
    let (_, all) = app.get("/admin/v1/resources", &op).await;
    let all = all["data"].as_array().unwrap();
    assert_eq!(all.len(), 4, "the operator sees every resource, built-in ones too");
    let b = all.iter().find(|r| r["identifier"] == B).unwrap()["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/admin/v1/resources/{b}"), &tenant).await.0, 404);

    let (client, _) = app.create_org_client(&op, &org, &[(A, &["read"])]).await;
    let secrets = format!("/admin/v1/clients/{client}/secrets");
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, expiring) = app.post(&secrets, &tenant, &json!({"expires_at": soon})).await;
    assert_eq!(status, 201, "{expiring}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.post(&secrets, &tenant, &json!({})).await.0, 201);
    let (_, listed) = app.get(&secrets, &tenant).await;
    let ids: Vec<&str> =
        listed["data"].as_array().unwrap().iter().map(|s| s["secret_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "the first secret and the new one: {ids:?}");
    assert!(!ids.contains(&expiring["secret_id"].as_str().unwrap()), "the expired one is gone");
}

/// Point 6: revoking by jti or by secret needs no record of the token. With the audit writer
/// stopped, so that no issuance record is ever written, a tenant admin revokes fresh tokens by jti
/// and a secret's tokens at once. What it names stays within its tenant: another org's token with
/// a jti it revokes, and a secret of another client named under its own, live on.
async fn revocations_need_no_record_and_stay_within_the_tenant(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, A, &["read"]).await;
    let admin_scopes: &[&str] = &["admin:revocations:write", "admin:clients:read"];
    let org = app.create_org(&op, "rev", &[(A, &["read"]), (ADMIN_AUDIENCE, admin_scopes)]).await;
    let other = app.create_org(&op, "other", &[(A, &["read"])]).await;
    let (admin, admin_secret) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, admin_scopes)]).await;
    let tenant = app.token(&admin, &admin_secret, &[("resource", ADMIN_AUDIENCE)]).await;
    let (x, _) = app.create_org_client(&op, &org, &[(A, &["read"])]).await;
    let (y, y_secret) = app.create_org_client(&op, &org, &[(A, &["read"])]).await;
    let (z, z_secret) = app.create_org_client(&op, &other, &[(A, &["read"])]).await;
    app.ctx.audit.shutdown().await;
    let dropped = app.ctx.audit.dropped();

    for _ in 0..3 {
        let fresh = app.token(&y, &y_secret, &[]).await;
        let jti = claims_of(&fresh)["jti"].clone();
        let (status, body) = app.post("/admin/v1/revocations", &tenant, &json!({"jti": jti})).await;
        assert_eq!(status, 201, "a token issued a moment ago: {body}");
        assert_eq!(introspect(&app, (&y, &y_secret), &fresh).await["active"], false);
    }

    let (_, secrets) = app.get(&format!("/admin/v1/clients/{y}/secrets"), &op).await;
    let y_secret_id = secrets["data"][0]["secret_id"].as_str().unwrap().to_owned();
    let minted = app.token(&y, &y_secret, &[]).await;
    assert_eq!(claims_of(&minted)["cred"], y_secret_id.as_str(), "a token names its secret");
    // Under another client, y's secret names nothing of y's.
    let path = format!("/admin/v1/clients/{x}/revoke-tokens");
    assert_eq!(app.post(&path, &tenant, &json!({"secret_id": y_secret_id})).await.0, 201);
    assert_eq!(introspect(&app, (&y, &y_secret), &minted).await["active"], true);
    let path = format!("/admin/v1/clients/{y}/revoke-tokens");
    let (status, body) = app.post(&path, &tenant, &json!({"secret_id": y_secret_id})).await;
    assert_eq!((status, body["kind"].as_str()), (201, Some("secret")), "{body}");
    assert_eq!(introspect(&app, (&y, &y_secret), &minted).await["active"], false);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = app.token(&y, &y_secret, &[]).await;
    assert_eq!(introspect(&app, (&y, &y_secret), &later).await["active"], true, "minted after it");

    // Another org's token: the tenant's revocation of its jti does not reach it.
    let theirs = app.token(&z, &z_secret, &[]).await;
    let jti = claims_of(&theirs)["jti"].clone();
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &json!({"jti": jti})).await.0, 201);
    assert_eq!(introspect(&app, (&z, &z_secret), &theirs).await["active"], true);
    assert!(app.ctx.audit.dropped() >= dropped + 5, "no issuance record was written");
}

/// Point 8: a tenant admin cannot re-enable a client the operator disabled; what it disabled
/// itself, it may.
async fn what_the_operator_disabled_only_the_operator_enables(app: TestApp) {
    let op = app.operator_token().await;
    let scopes: &[&str] = &["admin:clients:read", "admin:clients:write"];
    let org = app.create_org(&op, "lock", &[(ADMIN_AUDIENCE, scopes)]).await;
    let (admin, admin_secret) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, scopes)]).await;
    let tenant = app.token(&admin, &admin_secret, &[("resource", ADMIN_AUDIENCE)]).await;
    let (client, _) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, &["admin:clients:read"])]).await;
    let path = format!("/admin/v1/clients/{client}");
    let (off, on) = (json!({"status": "disabled"}), json!({"status": "active"}));

    assert_eq!(app.patch(&path, &op, &off).await.0, 200);
    let (status, body) = app.patch(&path, &tenant, &on).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    assert_eq!(app.get(&path, &op).await.1["status"], "disabled");
    assert_eq!(app.patch(&path, &op, &on).await.0, 200, "the operator may");
    assert_eq!(app.patch(&path, &tenant, &off).await.0, 200);
    assert_eq!(app.patch(&path, &tenant, &on).await.0, 200, "what the tenant disabled, it enables");
}

/// Point 7 (in part): revocations are rate-limited per caller, at the admin API and at
/// `/oauth/revoke`, so nobody pushes the feed's window past other tenants' live revocations.
async fn revocations_are_rate_limited_per_caller(backend: writ_testkit::Backend) {
    let Some(app) = writ_testkit::spawn_app_with(backend, |s| s.revocations_per_minute = 2).await else {
        return;
    };
    let op = app.operator_token().await;
    app.create_resource(&op, A, &["read"]).await;
    let org =
        app.create_org(&op, "flood", &[(A, &["read"]), (ADMIN_AUDIENCE, &["admin:revocations:write"])]).await;
    let (admin, admin_secret) =
        app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, &["admin:revocations:write"])]).await;
    let tenant = app.token(&admin, &admin_secret, &[("resource", ADMIN_AUDIENCE)]).await;
    let (client, secret) = app.create_org_client(&op, &org, &[(A, &["read"])]).await;

    let body = json!({"client_id": client});
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &body).await.0, 201);
    assert_eq!(app.post("/admin/v1/revocations", &tenant, &body).await.0, 201);
    let res = app
        .http
        .post(app.url("/admin/v1/revocations"))
        .bearer_auth(&tenant)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "rate_limited");
    // Another caller has its own allowance.
    assert_eq!(app.post("/admin/v1/revocations", &op, &body).await.0, 201);

    // A client revoking its own tokens is limited the same way.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        let token = app.token(&client, &secret, &[]).await;
        answers.push(crate::guard::call(&app, "/oauth/revoke", &client, &secret, &token).await);
    }
    assert_eq!((answers[0].0, answers[1].0), (200, 200));
    assert_eq!((answers[2].0, answers[2].1["error"].as_str()), (429, Some("rate_limited")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_are_rate_limited_per_caller_sqlite() {
    revocations_are_rate_limited_per_caller(writ_testkit::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_are_rate_limited_per_caller_postgres() {
    revocations_are_rate_limited_per_caller(writ_testkit::Backend::Postgres).await;
}

/// Point 7: a feed reader whose cursor left the window (3 entries here) is told it is behind, and
/// the snapshot still holds every live revocation, with a cursor to follow on from.
async fn the_feed_tells_a_lagging_reader_and_the_snapshot_has_everything(backend: writ_testkit::Backend) {
    let Some(app) = writ_testkit::spawn_app_with(backend, |s| s.revocation_feed_length = 3).await else {
        return;
    };
    let op = app.operator_token().await;
    let (_, guard) = app
        .post(
            "/admin/v1/clients",
            &op,
            &json!({"name": "feed", "kind": "service",
                    "grants": [{"resource": GUARD_AUDIENCE, "scopes": ["guard:revocations:read"]}]}),
        )
        .await;
    let (guard_id, guard_secret) =
        (guard["client_id"].as_str().unwrap(), guard["client_secret"].as_str().unwrap());
    let reader = app.token(guard_id, guard_secret, &[("resource", GUARD_AUDIENCE)]).await;

    let empty = app.get("/guard/v1/revocations/snapshot", &reader).await.1;
    assert_eq!(empty["data"], json!([]));
    let cursor = empty["cursor"].as_str().unwrap().to_owned();
    let jtis: Vec<String> = (0..5).map(|_| writ_core::id::new_token_id()).collect();
    for jti in &jtis {
        assert_eq!(app.post("/admin/v1/revocations", &op, &json!({"jti": jti})).await.0, 201);
    }
    let lagging = app.get(&format!("/guard/v1/revocations?after={cursor}"), &reader).await.1;
    assert_eq!(lagging["behind"], true, "{lagging}");
    let fresh = app.get("/guard/v1/revocations", &reader).await.1;
    assert_eq!((fresh["behind"].clone(), fresh["data"].as_array().unwrap().len()), (json!(true), 3));

    let snapshot = app.get("/guard/v1/revocations/snapshot", &reader).await.1;
    let mut held: Vec<&str> =
        snapshot["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    held.sort_unstable();
    let mut expected: Vec<&str> = jtis.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(held, expected, "every live revocation, the two that left the feed too");
    let on = app
        .get(&format!("/guard/v1/revocations?after={}", snapshot["cursor"].as_str().unwrap()), &reader)
        .await
        .1;
    assert_eq!((on["behind"].clone(), on["data"].clone()), (json!(false), json!([])));
    let (status, _) = app.get("/guard/v1/revocations/snapshot", &op).await;
    assert_eq!(status, 401, "a token for the guard is needed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_tells_a_lagging_reader_and_the_snapshot_has_everything_sqlite() {
    the_feed_tells_a_lagging_reader_and_the_snapshot_has_everything(writ_testkit::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_tells_a_lagging_reader_and_the_snapshot_has_everything_postgres() {
    the_feed_tells_a_lagging_reader_and_the_snapshot_has_everything(writ_testkit::Backend::Postgres).await;
}
