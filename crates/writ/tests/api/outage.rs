//! The Redis failure policy, tested by taking a real Redis away mid-run and bringing it back:
//! token issuance keeps working (local rate limits), introspection and the admin API fail closed
//! (503), `/readyz` reports the degradation, and everything recovers by itself.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use writ_testkit::{Backend, redis_prefix, spawn_app_with};

fn start_redis(port: u16) -> Option<Child> {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .ok()
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "{what} did not happen within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuance_survives_a_redis_outage_and_everything_recovers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(mut redis) = start_redis(port) else {
        assert!(std::env::var("CI").is_err(), "redis-server is needed in CI");
        eprintln!("redis-server not installed: not run");
        return;
    };
    let url = format!("redis://127.0.0.1:{port}");
    until("redis start", async || {
        redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.is_ok()
    })
    .await;
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.redis_url = Some(url.clone());
        s.redis_prefix = redis_prefix();
    })
    .await
    .unwrap();
    let op = app.operator_token().await;
    let billing = app.create_resource(&op, "https://api.example.com/billing", &["r"]).await;
    let org = app.create_org(&op, "acme", &[(&billing, &["r"])]).await;
    let (id, secret) = app.create_org_client(&op, &org, &[(&billing, &["r"])]).await;
    let token = app.token(&id, &secret, &[]).await;
    let introspect = async || {
        let form =
            [("client_id", id.as_str()), ("client_secret", secret.as_str()), ("token", token.as_str())];
        app.http.post(app.url("/oauth/introspect")).form(&form).send().await.unwrap().status().as_u16()
    };
    let readyz =
        async || app.http.get(app.url("/readyz")).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(introspect().await, 200);
    assert_eq!(readyz().await["redis"], "ok");

    redis.kill().unwrap();
    redis.wait().unwrap();
    for _ in 0..5 {
        app.token(&id, &secret, &[]).await; // issuance goes on, on local limits
    }
    assert_eq!(introspect().await, 503, "introspection fails closed");
    assert_eq!(app.get("/admin/v1/orgs", &op).await.0, 503, "so does the admin API's revocation check");
    let ready = readyz().await;
    assert_eq!((ready["status"].as_str(), ready["redis"].as_str()), (Some("ready"), Some("unreachable")));

    let mut redis = start_redis(port).unwrap();
    until("introspection recovers", async || introspect().await == 200).await;
    until("readiness recovers", async || readyz().await["redis"] == "ok").await;
    assert_eq!(app.get("/admin/v1/orgs", &op).await.0, 200);
    redis.kill().unwrap();
    redis.wait().unwrap();
}
