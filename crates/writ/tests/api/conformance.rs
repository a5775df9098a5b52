//! HTTP conformance over every documented route: `HEAD` wherever `GET` is, `405` with `Allow` for a
//! method a path lacks, and the admin API's order of checks (who is calling before what is sent).

use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use writ_testkit::{Backend, TestApp, spawn_app};

/// Every documented path, with a made-up but well-formed id in each parameter, and its methods.
fn documented_routes() -> Vec<(String, Vec<String>)> {
    let mut routes = Vec::new();
    for (_, doc) in writ::openapi_documents() {
        for (path, item) in doc["paths"].as_object().unwrap() {
            let concrete = path
                .split('/')
                .map(|s| if s.starts_with('{') { "xyz_01jd8x4c2v9q0m7k3n5p6r8s0t" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            routes.push((concrete, item.as_object().unwrap().keys().map(|m| m.to_uppercase()).collect()));
        }
    }
    assert!(routes.len() > 20);
    routes
}

/// The raw answer to a request without a body, read to the end of the connection.
async fn raw(app: &TestApp, method: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let mut paths: Vec<String> =
        documented_routes().into_iter().filter(|(_, m)| m.contains(&"GET".into())).map(|(p, _)| p).collect();
    paths.extend(["/healthz", "/readyz", "/openapi/admin.json", "/docs"].map(String::from));
    for path in &paths {
        let get = app.http.get(app.url(path)).send().await.unwrap();
        let head = app.http.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get(header::CONTENT_TYPE),
            get.headers().get(header::CONTENT_TYPE),
            "HEAD {path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path} has a body");
    }
    // On the wire: the head of the answer, its length, and not one byte of body.
    let answer = raw(&app, "HEAD", "/.well-known/jwks.json").await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200") && head.to_ascii_lowercase().contains("content-length: "),
        "{head}"
    );
    assert!(!head.contains("content-length: 0"), "{head}");
    assert_eq!(body, "", "HEAD sent a body");
    let metrics = app.http.head(format!("{}/metrics", app.metrics_address)).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_a_path_lacks_is_405_with_allow() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let mut checked = 0;
    for (path, methods) in documented_routes() {
        let mut allow = methods.clone();
        if methods.contains(&"GET".into()) {
            allow.push("HEAD".into());
        }
        for method in
            ["GET", "POST", "PUT", "PATCH", "DELETE"].iter().filter(|m| !methods.contains(&m.to_string()))
        {
            let res = app
                .http
                .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(&path))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            let allowed: Vec<String> =
                res.headers()[header::ALLOW].to_str().unwrap().split(", ").map(String::from).collect();
            assert_eq!(allowed.len(), allow.len(), "{method} {path}: {allowed:?}");
            assert!(allow.iter().all(|m| allowed.contains(m)), "{method} {path}: {allowed:?}");
            if path.starts_with("/oauth/") {
                assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store", "{method} {path}");
            }
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["code"], "method_not_allowed", "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked}");
    for (path, allow) in
        [("/healthz", "GET, HEAD"), ("/docs", "GET, HEAD"), ("/openapi/guard.json", "GET, HEAD")]
    {
        let res = app.http.post(app.url(path)).send().await.unwrap();
        assert_eq!(
            (res.status().as_u16(), res.headers()[header::ALLOW].to_str().unwrap()),
            (405, allow),
            "{path}"
        );
    }
    let metrics = app.http.delete(format!("{}/metrics", app.metrics_address)).send().await.unwrap();
    assert_eq!(metrics.status(), 405);
    // A path nobody serves is still 404, whatever the method; so is a right method on a path that
    // fits a template but names nothing.
    for method in [Method::GET, Method::POST] {
        let res = app.http.request(method, app.url("/admin/v1/nothing")).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
    assert_eq!(app.http.get(app.url("/openapi/nothing.json")).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_knows_the_caller_before_it_reads_what_was_sent() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let bad_key = "k".repeat(300);
    let body = serde_json::json!({"name": "Acme", "slug": "acme"});
    let anonymous = app
        .http
        .post(app.url("/admin/v1/orgs"))
        .header("idempotency-key", &bad_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "who is asking comes first");
    let op = app.operator_token().await;
    let res = app
        .http
        .post(app.url("/admin/v1/orgs"))
        .bearer_auth(&op)
        .header("idempotency-key", &bad_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_idempotency_key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_the_api_did_not_give_is_400() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let op = app.operator_token().await;
    for path in ["/admin/v1/orgs", "/admin/v1/clients", "/admin/v1/audit-events"] {
        for after in ["zzz", "org_'--", "cli_01jd8x4c2v9q0m7k3n5p6r8s0"] {
            let (status, body) = app.get(&format!("{path}?after={after}"), &op).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")), "{path}?after={after}");
        }
        let (status, _) = app.get(&format!("{path}?after=org_01jd8x4c2v9q0m7k3n5p6r8s0t"), &op).await;
        assert_eq!(status, 200, "{path}: a well-formed cursor");
    }
    let guard =
        app.token(&app.operator_id, &app.operator_secret, &[("resource", writ_core::GUARD_AUDIENCE)]).await;
    assert_eq!(app.get("/guard/v1/revocations?after=abc", &guard).await.0, 400);
    assert_eq!(app.get("/guard/v1/revocations?after=1700000000000-0", &guard).await.0, 200);
}

writ_testkit::on_every_backend!(hostile_text_is_refused_before_it_is_stored);

/// NUL, CR, LF and bidirectional marks in names, emails and metadata are `422` (Postgres would
/// refuse a NUL itself, as a server error); odd filters and content types are the caller's error.
async fn hostile_text_is_refused_before_it_is_stored(app: TestApp) {
    use serde_json::json;
    let op = app.operator_token().await;
    for bad in ["Ac\u{0}me", "Acme\r\nX-Injected: 1", "\u{202E}emcA", "Acme\u{2066}"] {
        let (status, body) = app.post("/admin/v1/orgs", &op, &json!({"name": bad, "slug": "acme"})).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("name")), "{bad:?}: {body}");
        let metadata = json!({"name": "Acme", "slug": "acme", "metadata": {"team": bad}});
        let (status, body) = app.post("/admin/v1/orgs", &op, &metadata).await;
        assert_eq!(status, 422, "{bad:?}: {body}");
    }
    let (status, org) = app.post("/admin/v1/orgs", &op, &json!({"name": "Acme", "slug": "acme"})).await;
    assert_eq!(status, 201);
    let org_id = org["id"].as_str().unwrap();
    let user = json!({"email": "ann\u{0}@example.com", "org_id": org_id});
    let (status, _) = app.post("/admin/v1/users", &op, &user).await;
    assert_eq!(status, 422);
    let (_, orgs) = app.get("/admin/v1/orgs", &op).await;
    assert_eq!(orgs["data"].as_array().unwrap().len(), 1, "nothing half-written: {orgs}");
    for filter in ["action=client.%00", "client_id=cli_%00", "actor=%27%20OR%201%3D1", "action=x%0Ay"] {
        let (status, body) = app.get(&format!("/admin/v1/audit-events?{filter}"), &op).await;
        assert_eq!(status, 422, "{filter}: {body}");
    }
    // Bodies the endpoints do not document.
    let res = app
        .http
        .post(app.url("/admin/v1/orgs"))
        .bearer_auth(&op)
        .header("content-type", "text/plain")
        .body("name=Acme")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        let res = app
            .http
            .post(app.url(path))
            .header("content-type", "text/xml")
            .body("<a/>")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415, "{path}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request", "{path}");
    }
}
