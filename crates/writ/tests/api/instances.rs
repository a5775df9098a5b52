//! Two `writ serve` processes sharing Postgres and Redis: a change made through one reaches the
//! other's client cache within a second.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use writ_testkit::{Backend, TestDb, redis_prefix, redis_url};

use crate::cli::{serve, writ};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disabled_on_one_instance_is_refused_by_another_within_a_second() {
    let (Some(db), Some(redis)) = (TestDb::new(Backend::Postgres).await, redis_url()) else {
        eprintln!("WRIT_TEST_DATABASE_URL and WRIT_TEST_REDIS_URL are not both set: not run");
        return;
    };
    let data = db.dir.path().join("shared"); // the same KEK and pepper for both instances
    let prefix = redis_prefix();
    let data_arg = data.display().to_string();
    let args = [
        "--database-url",
        &db.url,
        "--redis-url",
        &redis,
        "--redis-prefix",
        &prefix,
        "--data-dir",
        &data_arg,
    ];
    let boot = writ().arg("bootstrap").args(args).output().unwrap();
    assert!(boot.status.success(), "{}", String::from_utf8_lossy(&boot.stderr));
    let operator: Value = serde_json::from_slice(&boot.stdout).unwrap();
    let admin = serve(db.dir.path(), &args);
    let issuer = serve(db.dir.path(), &args);

    let http = writ_testkit::http_client();
    let on = |port: u16, path: &str| format!("http://127.0.0.1:{port}{path}");
    let token = |port: u16, id: String, secret: String, extra: Vec<(&'static str, &'static str)>| {
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", id),
            ("client_secret", secret),
        ];
        form.extend(extra.into_iter().map(|(k, v)| (k, v.to_owned())));
        http.post(on(port, "/oauth/token")).form(&form).send()
    };
    let op_id = operator["client_id"].as_str().unwrap().to_owned();
    let op_secret = operator["client_secret"].as_str().unwrap().to_owned();
    let res = token(admin.port, op_id, op_secret, vec![("resource", "urn:writ:admin")]).await.unwrap();
    let op = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let post = |path: &str, body: Value| http.post(on(admin.port, path)).bearer_auth(&op).json(&body).send();

    const BILLING: &str = "https://api.example.com/billing";
    let res = post(
        "/admin/v1/resources",
        json!({"identifier": BILLING, "name": "Billing", "scopes": [{"name": "r"}]}),
    );
    assert_eq!(res.await.unwrap().status(), 201);
    let org: Value = post(
        "/admin/v1/orgs",
        json!({"name": "Acme", "slug": "acme",
        "entitlements": [{"resource": BILLING, "scopes": ["r"]}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let client: Value = post(
        "/admin/v1/clients",
        json!({"name": "c", "kind": "org", "org_id": org["id"],
        "grants": [{"resource": BILLING, "scopes": ["r"]}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );

    // The other instance serves the client (and now holds it in its cache).
    assert_eq!(token(issuer.port, id.clone(), secret.clone(), vec![]).await.unwrap().status(), 200);

    let res = http
        .patch(on(admin.port, &format!("/admin/v1/clients/{id}")))
        .bearer_auth(&op)
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let disabled_at = Instant::now();
    loop {
        let status = token(issuer.port, id.clone(), secret.clone(), vec![]).await.unwrap().status();
        if status == 401 {
            break;
        }
        assert!(
            disabled_at.elapsed() < Duration::from_secs(1),
            "still issuing a second after the client was disabled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("refused by the other instance after {:?}", disabled_at.elapsed());
}
