//! The authorization model under attack (docs/security.md): one test per hole that was found,
//! each on every backend.

use reqwest::Method;
use serde_json::{Value, json};
use writ_core::{ADMIN_AUDIENCE, ADMIN_SCOPES, GUARD_AUDIENCE, GUARD_SCOPES};
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

on_every_backend!(
    audiences_never_pool_scopes,
    nobody_gives_more_than_it_holds,
    every_granting_route_refuses_scopes_its_caller_lacks
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
