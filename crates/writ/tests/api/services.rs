//! The split services (what `writ-issuer`, `writ-admin` and `writ-guard` run) serve only their own
//! path prefixes; `/readyz` follows the database.

use writ_http::Application;
use writ_http::server::Service;
use writ_testkit::{Backend, TestDb};

async fn status_of(port: u16, method: reqwest::Method, path: &str) -> u16 {
    let url = format!("http://127.0.0.1:{port}{path}");
    writ_testkit::http_client().request(method, url).send().await.unwrap().status().as_u16()
}

async fn serve(db: &TestDb, services: &[Service]) -> u16 {
    let app = Application::build(db.settings(), services).await.unwrap();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_serves_its_own_prefix() {
    use reqwest::Method;
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let issuer = serve(&db, &[writ_issuer::SERVICE]).await;
    let admin = serve(&db, &[writ_admin::SERVICE]).await;
    let guard = serve(&db, &[writ_guard::SERVICE]).await;

    for port in [issuer, admin, guard] {
        assert_eq!(status_of(port, Method::GET, "/healthz").await, 200);
        assert_eq!(status_of(port, Method::GET, "/readyz").await, 200);
    }
    assert_eq!(status_of(issuer, Method::GET, "/.well-known/jwks.json").await, 200);
    assert_eq!(status_of(issuer, Method::POST, "/oauth/token").await, 400);
    assert_eq!(status_of(issuer, Method::GET, "/admin/v1/orgs").await, 404);
    assert_eq!(status_of(admin, Method::GET, "/admin/v1/orgs").await, 401);
    assert_eq!(status_of(admin, Method::POST, "/oauth/token").await, 404);
    assert_eq!(status_of(guard, Method::GET, "/guard/v1/status").await, 200);
    assert_eq!(status_of(guard, Method::GET, "/.well-known/jwks.json").await, 404);
    // A wrong method is 405 on the service that has the path, and 404 elsewhere.
    assert_eq!(status_of(admin, Method::DELETE, "/admin/v1/orgs").await, 405);
    assert_eq!(status_of(issuer, Method::DELETE, "/admin/v1/orgs").await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_the_database_is_unreachable() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        eprintln!("WRIT_TEST_DATABASE_URL is not set: not run");
        return;
    };
    let port = serve(&db, writ::ALL_SERVICES).await;
    assert_eq!(status_of(port, reqwest::Method::GET, "/readyz").await, 200);
    db.drop_now().await;
    let res = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(status_of(port, reqwest::Method::GET, "/healthz").await, 200, "alive, just not ready");
}
