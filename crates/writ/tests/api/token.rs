//! The token endpoint: authentication methods and RFC 6749 §5.2 errors.

use base64::Engine;
use reqwest::header;
use serde_json::Value;
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";

/// An org client granted `invoices:read` on billing: (app, client_id, secret).
async fn setup(app: &TestApp) -> (String, String) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    app.create_org_client(&op, &org, &[(BILLING, &["invoices:read"])]).await
}

/// The id of the org `setup` created.
async fn org_of(app: &TestApp) -> String {
    let (_, orgs) = app.get("/admin/v1/orgs", &app.operator_token().await).await;
    orgs["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn error_of(res: reqwest::Response) -> (u16, String, reqwest::header::HeaderMap) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or_default().to_owned(), headers)
}

/// A client-credentials request authenticated by `authorization` alone: its error answer.
async fn with_authorization(app: &TestApp, authorization: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header(header::AUTHORIZATION, authorization)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    error_of(res).await
}

fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

on_every_backend!(
    basic_and_post_authentication_and_response_shape,
    errors_follow_rfc_6749,
    the_token_endpoint_is_strict,
    metrics_count_tokens
);

/// Issue 17, point 4: nothing ambiguous widens a request, a bearer token is no client
/// authentication, and nothing under `/oauth/` may be cached, unknown paths and wrong methods too.
async fn the_token_endpoint_is_strict(app: TestApp) {
    let (id, secret) = setup(&app).await;
    let url = app.url("/oauth/token");
    let json = |body: String| {
        app.http
            .post(&url)
            .header(header::AUTHORIZATION, basic(&id, &secret))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
    };
    let twice =
        r#"{"grant_type": "client_credentials", "scope": "invoices:read", "scope": "invoices:write"}"#;
    assert_eq!(error_of(json(twice.into()).await.unwrap()).await.1, "invalid_request");
    let once = r#"{"grant_type": "client_credentials", "scope": "invoices:read"}"#;
    assert_eq!(json(once.into()).await.unwrap().status(), 200);

    let (status, error, _) = error_of(app.token_request(&id, &secret, &[("scope", "")]).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_scope"), "an empty scope is not every scope");
    let (status, error, _) = error_of(app.token_request(&id, &secret, &[("resource", "")]).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_target"));

    let bearer = format!("Bearer {}", app.operator_token().await);
    let (status, error, headers) = with_authorization(&app, &bearer).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));

    for (method, path) in [
        (reqwest::Method::GET, "/oauth/token"),
        (reqwest::Method::POST, "/oauth/nothing"),
        (reqwest::Method::PUT, "/oauth/revoke"),
    ] {
        let res = app.http.request(method.clone(), app.url(path)).send().await.unwrap();
        assert!(res.status().is_client_error(), "{method} {path}: {}", res.status());
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store", "{method} {path}");
    }
}

async fn metrics_count_tokens(app: TestApp) {
    let (id, secret) = setup(&app).await;
    let issued = |text: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with("writ_tokens_issued_total")).unwrap();
        assert_eq!(line.split(' ').next(), Some("writ_tokens_issued_total"), "no tenant names by default");
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let before = issued(&app.metrics().await);
    app.token(&id, &secret, &[]).await;
    app.token(&id, &secret, &[]).await;
    app.token_request(&id, &secret, &[("scope", "invoices:write")]).await;
    app.token_request(&id, "writ_cs_wrong", &[]).await;
    // Not on the API's port: only on the metrics listener.
    assert_eq!(app.http.get(app.url("/metrics")).send().await.unwrap().status(), 404);
    let res = app.http.get(format!("{}/metrics", app.metrics_address)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert_eq!(issued(&text), before + 2);
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("writ_tokens_refused_total{reason=\"invalid_scope\"}"), 1.0);
    assert_eq!(value("writ_tokens_refused_total{reason=\"invalid_client\"}"), 1.0);
    assert!(value("writ_token_request_duration_seconds_count") >= 5.0, "operator token, setup and these");
    assert_eq!(value("writ_audit_records_dropped_total"), 0.0);
    assert!(value("writ_audit_queue_depth") >= 0.0);
    app.ctx.audit.flush().await;
    assert_eq!(app.ctx.audit.queued(), 0, "a flushed writer holds nothing");
    assert!(value("writ_client_cache_entries") >= 1.0);
    // The first request loads the client; the next two find it cached.
    assert!(value("writ_client_lookups_total{client=\"known\",result=\"hit\"}") >= 2.0);
}

async fn basic_and_post_authentication_and_response_shape(app: TestApp) {
    let (id, secret) = setup(&app).await;
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header(header::AUTHORIZATION, basic(&id, &secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(res.headers()[header::PRAGMA], "no-cache");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "invoices:read", "no scope asked: every granted scope");

    // client_secret_post, with a JSON body and an explicit resource.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .json(&serde_json::json!({
            "grant_type": "client_credentials", "client_id": id, "client_secret": secret, "resource": [BILLING]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Auth0's `audience` works too.
    app.token(&id, &secret, &[("audience", BILLING)]).await;

    // Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1): `%5F` is `_`.
    let encoded_id = id.replace('_', "%5F");
    let raw = base64::engine::general_purpose::STANDARD.encode(format!("{encoded_id}:{secret}"));
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header(header::AUTHORIZATION, format!("Basic {raw}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn errors_follow_rfc_6749(app: TestApp) {
    let (id, secret) = setup(&app).await;
    let url = app.url("/oauth/token");

    // invalid_client: wrong secret, unknown client, malformed secret — all alike, 401.
    let other = writ_core::secret::PlainSecret::generate().unwrap();
    for (cid, s) in [
        (id.as_str(), other.expose()),
        ("cli_01m840pc6xejqsfwrh9sazvjja", secret.as_str()),
        (id.as_str(), "writ_cs_not-a-secret"),
        ("nonsense", secret.as_str()),
    ] {
        let (status, error, headers) = error_of(app.token_request(cid, s, &[]).await).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"), "{cid}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
    // A secret with a bad checksum is refused before any lookup: the client is not even loaded
    // into the cache. A well-formed wrong secret is looked up (and cached).
    let fresh_id = app.create_org_client(&app.operator_token().await, &org_of(&app).await, &[]).await.0;
    let mut bad_checksum = other.expose().to_owned();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'a' { 'b' } else { 'a' });
    let cached = app.ctx.clients.len();
    assert_eq!(error_of(app.token_request(&fresh_id, &bad_checksum, &[]).await).await.1, "invalid_client");
    assert_eq!(app.ctx.clients.len(), cached, "no lookup for a malformed secret");
    assert_eq!(error_of(app.token_request(&fresh_id, other.expose(), &[]).await).await.1, "invalid_client");
    assert_eq!(app.ctx.clients.len(), cached + 1);

    // With Basic, the 401 carries a Basic challenge.
    let (status, error, headers) = with_authorization(&app, &basic(&id, other.expose())).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));

    // invalid_request: credentials twice, repeated parameter, missing grant_type, wrong media type.
    let res = app
        .http
        .post(&url)
        .header(header::AUTHORIZATION, basic(&id, &secret))
        .form(&[("grant_type", "client_credentials"), ("client_secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.1, "invalid_request");
    let res =
        app.token_request(&id, &secret, &[("scope", "invoices:read"), ("scope", "invoices:read")]).await;
    assert_eq!(error_of(res).await.1, "invalid_request");
    let res = app
        .http
        .post(&url)
        .form(&[("client_id", id.as_str()), ("client_secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.1, "invalid_request");
    let res = app
        .http
        .post(&url)
        .header(header::CONTENT_TYPE, "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.1, "invalid_request");
    let res = app
        .http
        .post(&url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(vec![b'a'; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, 413);

    // unsupported_grant_type, invalid_scope, invalid_target.
    let res = app
        .http
        .post(&url)
        .form(&[("grant_type", "password"), ("client_id", &id), ("client_secret", &secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.1, "unsupported_grant_type");
    let (status, error, _) =
        error_of(app.token_request(&id, &secret, &[("scope", "invoices:write")]).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_scope"));
    let res = app.token_request(&id, &secret, &[("scope", "a  b")]).await;
    assert_eq!(error_of(res).await.1, "invalid_scope");
    let res = app.token_request(&id, &secret, &[("resource", "https://api.example.com/unknown")]).await;
    assert_eq!(error_of(res).await.1, "invalid_target");
    let res = app.token_request(&id, &secret, &[("resource", "not a uri")]).await;
    assert_eq!(error_of(res).await.1, "invalid_target");
}
