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

async fn resource_servers_check_their_own_quotas(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let op = app.operator_token().await;
    let body = serde_json::json!({"name": "billing-api", "kind": "service",
        "grants": [{"resource": writ_core::GUARD_AUDIENCE, "scopes": ["guard:ratelimit:check"]}]});
    let (_, rs) = app.post("/admin/v1/clients", &op, &body).await;
    let (rs_id, rs_secret) = (rs["client_id"].as_str().unwrap(), rs["client_secret"].as_str().unwrap());
    let guard = app.token(rs_id, rs_secret, &[]).await;
    let check = serde_json::json!({"key": "invoices:cli_x", "per_period": 2, "period_seconds": 60});
    let mut allowed = Vec::new();
    for _ in 0..3 {
        let res = app
            .http
            .post(app.url("/guard/v1/ratelimit/check"))
            .bearer_auth(&guard)
            .json(&check)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["ratelimit-limit"], "2");
        let body: Value = res.json().await.unwrap();
        allowed.push(body["allowed"].as_bool().unwrap());
        if !body["allowed"].as_bool().unwrap() {
            assert_eq!(body["retry_after_seconds"], 30);
        }
    }
    assert_eq!(allowed, vec![true, true, false]);
    let other = serde_json::json!({"key": "invoices:cli_y", "per_period": 2, "period_seconds": 60});
    assert_eq!(
        app.post("/guard/v1/ratelimit/check", &guard, &other).await.1["allowed"],
        true,
        "keys are independent"
    );
    let bad = serde_json::json!({"key": "", "per_period": 2, "period_seconds": 60});
    assert_eq!(app.post("/guard/v1/ratelimit/check", &guard, &bad).await.0, 422);
    // Another caller has its own namespace; a caller without the scope is refused.
    let op_guard =
        app.token(&app.operator_id, &app.operator_secret, &[("resource", writ_core::GUARD_AUDIENCE)]).await;
    assert_eq!(app.post("/guard/v1/ratelimit/check", &op_guard, &check).await.1["allowed"], true);
    assert_eq!(app.post("/guard/v1/ratelimit/check", &op, &check).await.0, 401, "an admin-audience token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_servers_check_their_own_quotas_memory() {
    resource_servers_check_their_own_quotas(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_servers_check_their_own_quotas_redis() {
    resource_servers_check_their_own_quotas(Backend::Postgres).await;
}
