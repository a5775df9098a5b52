//! Rate limits at the token endpoint: a client's issuance rate, and failed authentications per
//! client id and address — on the in-memory store and on Redis.

use serde_json::Value;
use writ_testkit::{Backend, TestApp, spawn_app_with};

const BILLING: &str = "https://api.example.com/billing";

async fn app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.rate_limit_per_second = 1;
        s.rate_limit_burst = 3;
        s.failed_auth_per_minute = 3;
    })
    .await
}

async fn two_clients(app: &TestApp) -> ((String, String), (String, String)) {
    // The operator's own token counts against its rate: get it once.
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["r"])]).await;
    (
        app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await,
        app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await,
    )
}

async fn issuance_is_limited_per_client(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let ((a, a_secret), (b, b_secret)) = two_clients(&app).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let res = app.token_request(&a, &a_secret, &[]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        remaining.push(res.headers()["ratelimit-remaining"].to_str().unwrap().to_owned());
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let res = app.token_request(&a, &a_secret, &[]).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "rate_limited");
    assert_eq!(
        app.token_request(&b, &b_secret, &[]).await.status(),
        200,
        "another client has its own budget"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    assert_eq!(app.token_request(&a, &a_secret, &[]).await.status(), 200, "one more after an interval");
}

async fn failed_authentications_lock_out_the_address(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let ((a, a_secret), (b, b_secret)) = two_clients(&app).await;
    let wrong = writ_core::secret::PlainSecret::generate().unwrap();
    for _ in 0..3 {
        assert_eq!(app.token_request(&a, wrong.expose(), &[]).await.status(), 401);
    }
    let res = app.token_request(&a, wrong.expose(), &[]).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    // Locked out: the right secret from this address is refused too, until the window passes.
    assert_eq!(app.token_request(&a, &a_secret, &[]).await.status(), 429);
    // Bad secrets sent with a client's id do not spend that client's issuance budget elsewhere,
    // and other client ids are not affected.
    assert_eq!(app.token_request(&b, &b_secret, &[]).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuance_is_limited_per_client_memory() {
    issuance_is_limited_per_client(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuance_is_limited_per_client_redis() {
    issuance_is_limited_per_client(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_lock_out_the_address_memory() {
    failed_authentications_lock_out_the_address(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_lock_out_the_address_redis() {
    failed_authentications_lock_out_the_address(Backend::Postgres).await;
}
