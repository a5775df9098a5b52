//! Writ on a Redis Cluster (`WRIT_TEST_REDIS_CLUSTER_URL`, three masters that `.ci/redis-cluster`
//! starts on loopback ports): two instances over one database share rate limits, revocations and
//! change events through the cluster.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use writ_core::GUARD_AUDIENCE;
use writ_testkit::{Backend, redis_cluster_url, spawn_app_with};

const BILLING: &str = "https://api.example.com/billing";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_limits_revocations_and_changes_over_a_redis_cluster() {
    let Some(nodes) = redis_cluster_url() else {
        eprintln!("WRIT_TEST_REDIS_CLUSTER_URL is not set: not run");
        return;
    };
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.redis_url = Some(nodes);
        s.redis_cluster = true;
        s.issuer = Some("https://writ.example.com".into()); // one issuer behind both instances
    })
    .await
    .unwrap();
    // A second instance: the same database, key-encryption key, pepper and cluster.
    let second = writ::build(app.ctx.settings.clone()).await.unwrap();
    let other = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let http = &app.http;
    let ready: Value = http.get(format!("{other}/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["redis"], "ok", "{ready}");
    let status: Value =
        http.get(format!("{other}/guard/v1/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["backend"], "redis-cluster");

    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["r"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["r"])]).await;
    let body = json!({"name": "slow", "kind": "org", "org_id": org,
        "grants": [{"resource": BILLING, "scopes": ["r"]}], "rate_limits": {"per_second": 1, "burst": 3}});
    let (_, slow) = app.post("/admin/v1/clients", &op, &body).await;
    let (id, secret) = (slow["client_id"].as_str().unwrap(), slow["client_secret"].as_str().unwrap());
    let token_on = |base: &str| {
        let form = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
        http.post(format!("{base}/oauth/token")).form(&form).send()
    };

    // One budget across both instances: two tokens here, one there, then neither gives more.
    let first: Value = token_on(&app.address).await.unwrap().json().await.unwrap();
    assert_eq!(token_on(&app.address).await.unwrap().status(), 200);
    assert_eq!(token_on(&other).await.unwrap().status(), 200);
    let trips = app.ctx.guard.round_trips();
    assert_eq!(token_on(&other).await.unwrap().status(), 429);
    assert_eq!(token_on(&app.address).await.unwrap().status(), 429);
    assert_eq!(app.ctx.guard.round_trips() - trips, 1, "one round trip per token request");

    // Revoked through one instance, inactive and in the feed on the other.
    let token = first["access_token"].as_str().unwrap();
    let form = [("client_id", id), ("client_secret", secret), ("token", token)];
    let res = http.post(app.url("/oauth/revoke")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = http.post(format!("{other}/oauth/introspect")).form(&form).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"active": false}));
    let guard = app.token(&app.operator_id, &app.operator_secret, &[("resource", GUARD_AUDIENCE)]).await;
    let feed: Value = http
        .get(format!("{other}/guard/v1/revocations"))
        .bearer_auth(&guard)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(feed["data"].as_array().map(Vec::len), Some(1), "{feed}");
    assert_eq!(feed["data"][0]["kind"], "token");

    // A change made on one instance reaches the other's cache through the cluster's pub/sub.
    let (b, b_secret) = app.create_org_client(&op, &org, &[(BILLING, &["r"])]).await;
    let form = [("grant_type", "client_credentials"), ("client_id", &b), ("client_secret", &b_secret)];
    let b_on_other = || http.post(format!("{other}/oauth/token")).form(&form).send();
    assert_eq!(b_on_other().await.unwrap().status(), 200, "now cached on the other instance");
    let (status, _) = app.patch(&format!("/admin/v1/clients/{b}"), &op, &json!({"status": "disabled"})).await;
    assert_eq!(status, 200);
    let disabled = Instant::now();
    loop {
        let status = b_on_other().await.unwrap().status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(disabled.elapsed() < Duration::from_secs(1), "still issuing a second after the change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
