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

/// A token request sent through a proxy on loopback that says it came from `address` (after a
/// leftmost entry the caller made up, which no trusted proxy vouches for).
async fn via_proxy(app: &TestApp, address: &str, id: &str, secret: &str) -> reqwest::Response {
    let form = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
    let xff = format!("6.6.6.6, {address}");
    app.http.post(app.url("/oauth/token")).header("x-forwarded-for", xff).form(&form).send().await.unwrap()
}

async fn behind_a_trusted_proxy_each_caller_has_its_own_lockout(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.failed_auth_per_minute = 3;
        s.trusted_proxies = writ_app::origin::TrustedProxies::parse("127.0.0.0/8, ::1").unwrap();
    })
    .await
    else {
        return;
    };
    let ((a, a_secret), _) = two_clients(&app).await;
    let wrong = writ_core::secret::PlainSecret::generate().unwrap();
    for _ in 0..3 {
        assert_eq!(via_proxy(&app, "203.0.113.1", &a, wrong.expose()).await.status(), 401);
    }
    let locked = via_proxy(&app, "203.0.113.1", &a, &a_secret).await;
    assert_eq!(locked.status(), 429, "the address that failed is locked out, even with the right secret");
    // The lockout's headers agree on when it ends.
    let retry = header(&locked, "retry-after").to_owned();
    assert_eq!(header(&locked, "ratelimit-reset"), retry);
    assert_eq!(header(&locked, "ratelimit"), format!("\"failed_auth\";r=0;t={retry}"));
    // Revocation and introspection answer the locked-out address the same way.
    let form = [("token", "x"), ("client_id", a.as_str()), ("client_secret", a_secret.as_str())];
    let introspect = app
        .http
        .post(app.url("/oauth/introspect"))
        .header("x-forwarded-for", "203.0.113.1")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(introspect.status(), 429);
    // Another caller behind the same proxy is not: its own address, its own count.
    assert_eq!(via_proxy(&app, "203.0.113.2", &a, &a_secret).await.status(), 200);
    // And the audit record names the caller, not the proxy.
    app.ctx.audit.flush().await;
    let issued = writ_store::Audit::new(app.ctx.store.conn())
        .list(
            &writ_store::Tenant::Operator,
            &writ_store::Page { limit: 200, after: None },
            &writ_store::AuditFilter::action("token.issued"),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(issued.last().unwrap().ip.as_deref(), Some("203.0.113.2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_caller_has_its_own_lockout_memory() {
    behind_a_trusted_proxy_each_caller_has_its_own_lockout(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_caller_has_its_own_lockout_redis() {
    behind_a_trusted_proxy_each_caller_has_its_own_lockout(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_mean_nothing_from_a_peer_nobody_trusts() {
    let Some(app) = app(Backend::Sqlite).await else { return };
    let ((a, a_secret), _) = two_clients(&app).await;
    let wrong = writ_core::secret::PlainSecret::generate().unwrap();
    for _ in 0..3 {
        assert_eq!(via_proxy(&app, "203.0.113.1", &a, wrong.expose()).await.status(), 401);
    }
    assert_eq!(
        via_proxy(&app, "203.0.113.2", &a, &a_secret).await.status(),
        429,
        "a caller cannot escape its lockout by naming another address"
    );
}

async fn one_address_fails_only_so_often_whatever_the_ids(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.failed_auth_per_minute = 3;
        s.failed_auth_per_address_per_minute = 4;
        s.trusted_proxies = writ_app::origin::TrustedProxies::parse("127.0.0.1, ::1").unwrap();
    })
    .await
    else {
        return;
    };
    let ((a, a_secret), (b, b_secret)) = two_clients(&app).await;
    let wrong = writ_core::secret::PlainSecret::generate().unwrap();
    for id in [&a, &a, &b, &b] {
        assert_eq!(via_proxy(&app, "198.51.100.7", id, wrong.expose()).await.status(), 401);
    }
    let over = via_proxy(&app, "198.51.100.7", &b, wrong.expose()).await;
    assert_eq!(over.status(), 429, "the fifth failure from one address, over two client ids");
    assert!(header(&over, "ratelimit-policy").starts_with("\"failed_auth_address\";q=4;w=60"));
    let made_up = writ_core::ClientId::generate().to_string();
    assert_eq!(
        via_proxy(&app, "198.51.100.7", &made_up, wrong.expose()).await.status(),
        429,
        "an id this instance has not loaded is not looked up for that address"
    );
    // A loaded client's right secret still works from there (a NAT's other clients), and other
    // addresses are untouched.
    assert_eq!(via_proxy(&app, "198.51.100.7", &a, &a_secret).await.status(), 200);
    assert_eq!(via_proxy(&app, "198.51.100.8", &made_up, wrong.expose()).await.status(), 401);
    assert_eq!(via_proxy(&app, "198.51.100.8", &b, &b_secret).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_fails_only_so_often_whatever_the_ids_memory() {
    one_address_fails_only_so_often_whatever_the_ids(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_fails_only_so_often_whatever_the_ids_redis() {
    one_address_fails_only_so_often_whatever_the_ids(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_ends_when_its_headers_say() {
    // 30 a minute: one more every two seconds once the 30 are spent.
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| s.failed_auth_per_minute = 30).await else { return };
    let ((a, a_secret), _) = two_clients(&app).await;
    let wrong = writ_core::secret::PlainSecret::generate().unwrap();
    for _ in 0..30 {
        assert_eq!(app.token_request(&a, wrong.expose(), &[]).await.status(), 401);
    }
    let locked = app.token_request(&a, &a_secret, &[]).await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = header(&locked, "retry-after").parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert_eq!(header(&locked, "ratelimit-reset"), retry.to_string());
    tokio::time::sleep(std::time::Duration::from_millis(retry * 1000 + 50)).await;
    assert_eq!(app.token_request(&a, &a_secret, &[]).await.status(), 200, "released when announced");
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

/// Seconds until the current UTC hour or day ends, as `Retry-After` should say (± a second).
fn until_window_end(window: i64) -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    window - now.rem_euclid(window)
}

fn header<'r>(res: &'r reqwest::Response, name: &str) -> &'r str {
    res.headers().get(name).map_or("", |v| v.to_str().unwrap())
}

async fn overrides_go_client_then_org_then_deployment(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let slow = app.create_org(&op, "slow", &[(BILLING, &["r"])]).await;
    let (status, org) = app
        .patch(&format!("/admin/v1/orgs/{slow}"), &op, &serde_json::json!({"rate_limits": {"burst": 1}}))
        .await;
    assert_eq!((status, &org["rate_limits"]), (200, &serde_json::json!({"burst": 1})));
    let (inherits, inherits_secret) = app.create_org_client(&op, &slow, &[(BILLING, &["r"])]).await;
    let body = serde_json::json!({"name": "own", "kind": "org", "org_id": slow,
        "grants": [{"resource": BILLING, "scopes": ["r"]}], "rate_limits": {"burst": 5}});
    let (status, own) = app.post("/admin/v1/clients", &op, &body).await;
    assert_eq!(status, 201, "{own}");
    let (own_id, own_secret) = (own["client_id"].as_str().unwrap(), own["client_secret"].as_str().unwrap());

    // The org's burst of 1 (the deployment's rate of 1/s still applies: a field at a time).
    assert_eq!(app.token_request(&inherits, &inherits_secret, &[]).await.status(), 200);
    let res = app.token_request(&inherits, &inherits_secret, &[]).await;
    assert_eq!(res.status(), 429);
    assert_eq!(header(&res, "ratelimit-policy"), "\"rate\";q=1;w=1");
    // The client's own burst of 5 beats its org's.
    for i in 0..5 {
        assert_eq!(app.token_request(own_id, own_secret, &[]).await.status(), 200, "request {i}");
    }
    assert_eq!(app.token_request(own_id, own_secret, &[]).await.status(), 429);
    // `{}` inherits again, at once.
    let path = format!("/admin/v1/clients/{own_id}");
    let (status, cleared) = app.patch(&path, &op, &serde_json::json!({"rate_limits": {}})).await;
    assert_eq!((status, &cleared["rate_limits"]), (200, &serde_json::json!({})));
    let res = app.token_request(own_id, own_secret, &[]).await;
    assert_eq!(header(&res, "ratelimit-limit"), "1", "the org's burst now");
}

async fn quotas_refuse_until_the_window_ends(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.quota_per_day = 100).await else { return };
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["r"])]).await;
    let body = serde_json::json!({"name": "q", "kind": "org", "org_id": org,
        "grants": [{"resource": BILLING, "scopes": ["r"]}], "rate_limits": {"per_hour": 2, "per_second": 0}});
    let (_, client) = app.post("/admin/v1/clients", &op, &body).await;
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let res = app.token_request(id, secret, &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "ratelimit-policy"), "\"hour\";q=2;w=3600, \"day\";q=100;w=86400");
    let state = header(&res, "ratelimit");
    assert!(state.starts_with("\"hour\";r=1;t=") && state.contains(", \"day\";r=99;t="), "{state}");
    assert_eq!(app.token_request(id, secret, &[]).await.status(), 200);
    let res = app.token_request(id, secret, &[]).await;
    assert_eq!(res.status(), 429);
    let retry: i64 = header(&res, "retry-after").parse().unwrap();
    assert!((retry - until_window_end(3600)).abs() <= 2, "until the hour ends: {retry}");
    assert_eq!(header(&res, "ratelimit-remaining"), "0");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "rate_limited");
    // The refused request cost nothing: the day's count is still at two.
    let (_, client) = app
        .patch(
            &format!("/admin/v1/clients/{id}"),
            &op,
            &serde_json::json!({"rate_limits": {"per_second": 0}}),
        )
        .await;
    assert_eq!(client["rate_limits"], serde_json::json!({"per_second": 0}));
    let res = app.token_request(id, secret, &[]).await;
    assert_eq!(res.status(), 200, "no hourly quota now");
    assert!(header(&res, "ratelimit").contains("\"day\";r=97;"), "{}", header(&res, "ratelimit"));
    let metrics = app.metrics().await;
    assert!(metrics.contains("writ_tokens_limited_total{limit=\"hour\",action=\"refused\"} 1"), "{metrics}");
}

async fn log_only_quotas_issue_and_count(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.quota_per_day = 2;
        s.quota_mode = writ_core::QuotaMode::LogOnly;
        s.rate_limit_per_second = 0;
    })
    .await
    else {
        return;
    };
    let op = app.operator_token().await; // one of the operator's two for today
    app.create_resource(&op, BILLING, &["r"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["r"])]).await;
    let (id, secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;
    for _ in 0..4 {
        assert_eq!(app.token_request(&id, &secret, &[]).await.status(), 200, "log-only never refuses");
    }
    let res = app.token_request(&id, &secret, &[]).await;
    let (state, reset) = header(&res, "ratelimit").split_once(";t=").unwrap();
    assert_eq!(state, "\"day\";r=0");
    assert!((reset.parse::<i64>().unwrap() - until_window_end(86_400)).abs() <= 2, "until the day ends");
    let metrics = app.metrics().await;
    assert!(metrics.contains("writ_tokens_limited_total{limit=\"day\",action=\"logged\"} 3"), "{metrics}");
    // An org that enforces overrides the deployment's log-only mode for its clients.
    let path = format!("/admin/v1/orgs/{org}");
    app.patch(&path, &op, &serde_json::json!({"rate_limits": {"quota_mode": "enforce"}})).await;
    assert_eq!(app.token_request(&id, &secret, &[]).await.status(), 429);
}

async fn only_the_operator_sets_limits(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let op = app.operator_token().await;
    let scopes: &[&str] = &["admin:orgs:write", "admin:clients:write", "admin:clients:read"];
    let org = app.create_org(&op, "acme", &[(writ_core::ADMIN_AUDIENCE, scopes)]).await;
    let (admin, admin_secret) =
        app.create_org_client(&op, &org, &[(writ_core::ADMIN_AUDIENCE, scopes)]).await;
    let tenant = app.token(&admin, &admin_secret, &[("resource", writ_core::ADMIN_AUDIENCE)]).await;
    let raise = serde_json::json!({"rate_limits": {"per_second": 1000}});
    assert_eq!(app.patch(&format!("/admin/v1/orgs/{org}"), &tenant, &raise).await.0, 403);
    assert_eq!(app.patch(&format!("/admin/v1/clients/{admin}"), &tenant, &raise).await.0, 403);
    let create = serde_json::json!({"name": "x", "kind": "org", "rate_limits": {"per_second": 1000}});
    assert_eq!(app.post("/admin/v1/clients", &tenant, &create).await.0, 403);

    let path = format!("/admin/v1/clients/{admin}");
    for (body, field) in [
        (serde_json::json!({"burst": 0}), "rate_limits.burst"),
        (serde_json::json!({"per_day": 2_000_000_000u32}), "rate_limits.per_day"),
        (serde_json::json!({"quota_mode": "sometimes"}), "rate_limits.quota_mode"),
    ] {
        let (status, problem) = app.patch(&path, &op, &serde_json::json!({ "rate_limits": body })).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{problem}");
    }
    let (status, _) = app.patch(&path, &op, &serde_json::json!({"rate_limits": {"per_minute": 5}})).await;
    assert_eq!(status, 422, "unknown fields are refused");
    let (_, unchanged) = app.get(&path, &op).await;
    assert_eq!(unchanged["rate_limits"], serde_json::json!({}), "nothing half-written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_go_client_then_org_then_deployment_memory() {
    overrides_go_client_then_org_then_deployment(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_go_client_then_org_then_deployment_redis() {
    overrides_go_client_then_org_then_deployment(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_refuse_until_the_window_ends_memory() {
    quotas_refuse_until_the_window_ends(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_refuse_until_the_window_ends_redis() {
    quotas_refuse_until_the_window_ends(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_only_quotas_issue_and_count_memory() {
    log_only_quotas_issue_and_count(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_only_quotas_issue_and_count_redis() {
    log_only_quotas_issue_and_count(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_sets_limits_memory() {
    only_the_operator_sets_limits(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_sets_limits_redis() {
    only_the_operator_sets_limits(Backend::Postgres).await;
}

/// The Redis round trips of token requests, counted by the store itself: one per request,
/// issued or refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_request_is_one_redis_round_trip() {
    let Some(app) = spawn_app_with(Backend::Postgres, |s| s.quota_per_day = 1000).await else { return };
    if app.ctx.guard.backend() != "redis" {
        eprintln!("WRIT_TEST_REDIS_URL is not set: not run");
        return;
    }
    let ((a, a_secret), _) = two_clients(&app).await;
    app.token(&a, &a_secret, &[]).await; // loads the client into the cache
    let before = app.ctx.guard.round_trips();
    for _ in 0..10 {
        app.token(&a, &a_secret, &[]).await;
    }
    assert_eq!(app.ctx.guard.round_trips() - before, 10, "rate, daily quota and lockout in one");
    let wrong = writ_core::secret::PlainSecret::generate().unwrap();
    assert_eq!(app.token_request(&a, wrong.expose(), &[]).await.status(), 401);
    // A failure counts against the address, then against the address and client id: two shards.
    assert_eq!(app.ctx.guard.round_trips() - before, 12);
    let metrics = app.metrics().await;
    assert!(metrics.contains(&format!("writ_guard_redis_round_trips_total {}", before + 12)), "{metrics}");
}
