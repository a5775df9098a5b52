//! Dynamic client registration (RFC 7591) and its management (RFC 7592): off by default; open,
//! with its checks (application type, redirect URIs, scopes within the policy), the registered
//! agent acting for a person, each org's say, the registration access token, the limit per
//! address, the audit; and the `token` mode, where an admin token registers within its tenant.

use serde_json::{Value, json};
use writ_app::delegation::registration::RegistrationMode;
use writ_core::ADMIN_AUDIENCE;
use writ_testkit::{Backend, TestApp, on_every_backend_with};

use super::delegation::{BILLING, NATIVE, authorize, claims, param, query_of, token, world};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more-entropy";

fn open(s: &mut writ_app::settings::Settings) {
    s.registration = RegistrationMode::Open;
    s.registration_scopes = Some("invoices:read invoices:write".into());
    s.registrations_per_address_per_hour = 12;
}

on_every_backend_with!(super::open; an_agent_registers_itself_and_acts_for_a_person);

/// `POST /oauth/register` with `body`, and an `Authorization: Bearer` token when given.
async fn register(app: &TestApp, body: &Value, bearer: Option<&str>) -> (u16, Value) {
    let mut req = app.http.post(app.url("/oauth/register")).json(body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A registration call at `/oauth/register/{id}` with the registration access token `bearer`.
async fn manage(
    app: &TestApp,
    method: reqwest::Method,
    id: &str,
    bearer: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(&format!("/oauth/register/{id}"))).bearer_auth(bearer);
    if let Some(body) = body {
        req = req.json(body);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

fn agent() -> Value {
    json!({"application_type": "native", "client_name": "Registered agent", "redirect_uris": [NATIVE],
           "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
           "scope": "invoices:read", "logo_uri": "https://agent.example/logo.png"})
}

async fn an_agent_registers_itself_and_acts_for_a_person(app: TestApp) {
    let (_, metadata) = app.get("/.well-known/oauth-authorization-server", "").await;
    assert_eq!(metadata["registration_endpoint"], format!("{}/oauth/register", app.ctx.issuer));
    let mut w = world(&app).await;

    // What a registration must be (RFC 7591 §3.2.2).
    let with = |patch: Value| {
        let mut body = agent();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, error) in [
        (with(json!({"application_type": null})), "invalid_client_metadata"),
        (with(json!({"application_type": "web"})), "invalid_redirect_uri"),
        (with(json!({"redirect_uris": ["http://evil.example/cb"]})), "invalid_redirect_uri"),
        (with(json!({"redirect_uris": []})), "invalid_redirect_uri"),
        (with(json!({"scope": "admin:orgs:write"})), "invalid_client_metadata"),
        (with(json!({"grant_types": ["client_credentials"]})), "invalid_client_metadata"),
        (with(json!({"token_endpoint_auth_method": "private_key_jwt"})), "invalid_client_metadata"),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let (status, answer) = register(&app, &body, None).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some(error)), "{body}: {answer}");
    }

    // A public native agent registers, and gets its id and registration access token (once).
    let (status, registered) = register(&app, &agent(), None).await;
    assert_eq!(status, 201, "{registered}");
    let id = registered["client_id"].as_str().unwrap().to_owned();
    let management = registered["registration_access_token"].as_str().unwrap().to_owned();
    assert!(management.starts_with("writ_reg_") && registered.get("client_secret").is_none());
    assert_eq!(registered["token_endpoint_auth_method"], "none");
    assert_eq!(registered["scope"], "invoices:read invoices:write", "what the policy lets it use");
    let expires = registered["client_secret_expires_at"].as_i64().unwrap();
    let in_90_days = app.ctx.clock.unix() + 90 * 86_400;
    assert!((in_90_days - 5..=in_90_days + 5).contains(&expires), "{registered}");
    assert_eq!(registered["registration_client_uri"], format!("{}/oauth/register/{id}", app.ctx.issuer));

    // It acts for a person like any agent, within what it registered for.
    let redirect = authorize(&mut w.browser, &id, NATIVE, "invoices:read").await;
    let code = param(&query_of(&redirect), "code").unwrap().to_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", NATIVE),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = token(&app, &form, None).await;
    assert_eq!(status, 200, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        (access["sub"].as_str(), access["scope"].as_str()),
        (Some(w.user.as_str()), Some("invoices:read"))
    );

    // Registered by itself, it is one of the clients an org may refuse.
    let (status, _) = app
        .patch(&format!("/admin/v1/orgs/{}", w.org), &w.op, &json!({"url_clients": {"allowed": false}}))
        .await;
    assert_eq!(status, 200);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let again =
        [("grant_type", "refresh_token"), ("client_id", id.as_str()), ("refresh_token", refresh.as_str())];
    let (status, body) = token(&app, &again, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, _) =
        app.patch(&format!("/admin/v1/orgs/{}", w.org), &w.op, &json!({"url_clients": {}})).await;
    assert_eq!(status, 200);

    // Its registration access token reads and changes its registration, and nothing else.
    let (status, read) = manage(&app, reqwest::Method::GET, &id, &management, None).await;
    assert_eq!((status, read["client_name"].as_str()), (200, Some("Registered agent")), "{read}");
    assert!(read.get("registration_access_token").is_none());
    for (client, bearer) in [(id.as_str(), "writ_reg_wrong"), (w.native.as_str(), management.as_str())] {
        let (status, body) = manage(&app, reqwest::Method::GET, client, bearer, None).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "{body}");
    }
    let moved = with(json!({"redirect_uris": ["http://127.0.0.1/other"], "client_name": "Renamed"}));
    let (status, changed) = manage(&app, reqwest::Method::PUT, &id, &management, Some(&moved)).await;
    assert_eq!(
        (status, changed["redirect_uris"].clone()),
        (200, json!(["http://127.0.0.1/other"])),
        "{changed}"
    );
    let public_to_secret = with(json!({"token_endpoint_auth_method": "client_secret_basic"}));
    let (status, body) = manage(&app, reqwest::Method::PUT, &id, &management, Some(&public_to_secret)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")), "{body}");

    // Audited as Writ's doing, from the caller's address.
    app.ctx.audit.flush().await;
    let (_, events) = app.get(&format!("/admin/v1/audit-events?client_id={id}&action=client.*"), &w.op).await;
    let actions: Vec<&str> =
        events["data"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["client.created", "client.updated"], "{events}");
    assert_eq!(events["data"][0]["actor"]["kind"], "system");
    assert_eq!(events["data"][0]["ip"], "127.0.0.1");

    // Deleted with its token: the client and what it holds end.
    let (status, _) = manage(&app, reqwest::Method::DELETE, &id, &management, None).await;
    assert_eq!(status, 204);
    let (status, body) = manage(&app, reqwest::Method::GET, &id, &management, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = token(&app, &again, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");

    // One address registers a limited number of clients an hour.
    let mut answers = Vec::new();
    for _ in 0..12 {
        answers.push(register(&app, &agent(), None).await.0);
    }
    assert!(answers.contains(&201) && answers.ends_with(&[429]), "{answers:?}");
}

/// Off unless the deployment turns it on: not advertised, not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_off_by_default() {
    let app = writ_testkit::spawn_app(Backend::Sqlite).await.unwrap();
    let (_, metadata) = app.get("/.well-known/oauth-authorization-server", "").await;
    assert!(metadata.get("registration_endpoint").is_none(), "{metadata}");
    let (status, body) = register(&app, &agent(), None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    let (status, _) = manage(&app, reqwest::Method::GET, "cli_x", "writ_reg_x", None).await;
    assert_eq!(status, 404);
}

/// With `token`, an admin token with `admin:clients:write` is the initial access token: the
/// client is registered in its tenant, within what the org is entitled to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initial_access_token_registers_within_its_tenant() {
    let app = writ_testkit::spawn_app_with(Backend::Sqlite, |s| s.registration = RegistrationMode::Token)
        .await
        .unwrap();
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let admin: &[&str] = &["admin:clients:write"];
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read"]), (ADMIN_AUDIENCE, admin)]).await;
    let (admin_id, admin_secret) = app.create_org_client(&op, &org, &[(ADMIN_AUDIENCE, admin)]).await;
    let tenant = app.token(&admin_id, &admin_secret, &[("resource", ADMIN_AUDIENCE)]).await;

    let (status, body) = register(&app, &agent(), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "{body}");
    let (status, body) = register(&app, &agent(), Some("not-a-token")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "{body}");
    // The org is entitled to read only.
    let writes = json!({"scope": "invoices:write"});
    let mut body = agent();
    body["scope"] = writes["scope"].clone();
    let (status, refused) = register(&app, &body, Some(&tenant)).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_client_metadata")), "{refused}");
    let (status, registered) = register(&app, &agent(), Some(&tenant)).await;
    assert_eq!(status, 201, "{registered}");
    let (_, client) =
        app.get(&format!("/admin/v1/clients/{}", registered["client_id"].as_str().unwrap()), &op).await;
    assert_eq!(
        (client["kind"].as_str(), client["org_id"].as_str()),
        (Some("org"), Some(org.as_str())),
        "{client}"
    );
}
