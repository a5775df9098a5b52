//! Test harness: [`spawn_app`] starts the real all-in-one Writ on port 0 with its own database —
//! a temporary SQLite file, or a fresh Postgres database when `WRIT_TEST_DATABASE_URL` is set — and
//! an operator credential, and [`on_every_backend!`] runs a test on each configured backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;

use std::sync::Arc;

use serde_json::{Value, json};
use writ_app::{Context, Settings};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The Postgres server for tests, if configured. CI sets it; a plain `cargo test` does not.
pub fn postgres_url() -> Option<String> {
    std::env::var("WRIT_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())
}

/// The Redis server for tests, if configured.
pub fn redis_url() -> Option<String> {
    std::env::var("WRIT_TEST_REDIS_URL").ok().filter(|s| !s.is_empty())
}

/// A Redis key prefix no other test uses.
/// The nodes of a Redis Cluster for the cluster tests (`.ci/redis-cluster` starts one).
pub fn redis_cluster_url() -> Option<String> {
    std::env::var("WRIT_TEST_REDIS_CLUSTER_URL").ok().filter(|u| !u.is_empty())
}

pub fn redis_prefix() -> String {
    format!("writ-test-{}:", uuid::Uuid::new_v4().simple())
}

/// Runs each named `async fn(TestApp)` once per backend: always on SQLite, and on Postgres when
/// `WRIT_TEST_DATABASE_URL` is set (otherwise the Postgres variant passes without running).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::spawn_app($crate::Backend::Sqlite).await.unwrap()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::spawn_app($crate::Backend::Postgres).await {
                    Some(app) => super::$name(app).await,
                    None => eprintln!("WRIT_TEST_DATABASE_URL is not set: Postgres variant not run"),
                }
            }
        }
    )*};
}

/// Like [`on_every_backend!`], with the settings adjusted by `$adjust` (a `fn(&mut Settings)`):
/// `on_every_backend_with!(lenient; test_a, test_b)`.
#[macro_export]
macro_rules! on_every_backend_with {
    ($adjust:expr; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::spawn_app_with($crate::Backend::Sqlite, $adjust).await.unwrap()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::spawn_app_with($crate::Backend::Postgres, $adjust).await {
                    Some(app) => super::$name(app).await,
                    None => eprintln!("WRIT_TEST_DATABASE_URL is not set: Postgres variant not run"),
                }
            }
        }
    )*};
}

/// A fresh database for one test: a SQLite file in a temporary directory, or a new Postgres
/// database that is dropped again when this value is.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// `None` for Postgres when `WRIT_TEST_DATABASE_URL` is not set. Panics if it is set but the
    /// server cannot be reached: CI must not pass by skipping.
    pub async fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("writ.db").display());
                Some(Self { url, backend, dir, pg: None })
            }
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let name = format!("writ_test_{}", uuid::Uuid::new_v4().simple());
                let admin = writ_store::Store::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("WRIT_TEST_DATABASE_URL is set but unreachable: {e}"));
                use sea_orm::ConnectionTrait;
                admin.conn().execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
                admin.close().await.unwrap();
                let url = replace_database(&admin_url, &name);
                Some(Self { url, backend, dir, pg: Some((admin_url, name)) })
            }
        }
    }
}

/// `postgres://u@h:p/db?x` with another database name.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside any runtime we may block, so use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(drop_database(&admin_url, &name));
        })
        .join();
    }
}

/// Drops a database even while clients are connected to it (Postgres 13+).
async fn drop_database(admin_url: &str, name: &str) {
    use sea_orm::ConnectionTrait;
    if let Ok(admin) = writ_store::Store::connect(admin_url).await {
        let _ =
            admin.conn().execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        let _ = admin.close().await;
    }
}

impl TestDb {
    /// Settings for a server on port 0 over this database. The Postgres variant also uses Redis
    /// (with its own key prefix) when `WRIT_TEST_REDIS_URL` is set: production's pairing.
    pub fn settings(&self) -> Settings {
        let redis_url = if self.backend == Backend::Postgres { redis_url() } else { None };
        Settings {
            addr: "127.0.0.1:0".into(),
            metrics_addr: "127.0.0.1:0".into(),
            database_url: Some(self.url.clone()),
            redis_url,
            redis_prefix: redis_prefix(),
            data_dir: self.dir.path().to_path_buf(),
            log: "warn".into(),
            // The servers tests start (a client's jwks_uri, a trusted issuer) listen on loopback.
            fetch_allow_loopback: Some(true),
            ..Settings::default()
        }
    }

    /// Drops a Postgres test database now, with the server still connected (to test outages).
    pub async fn drop_now(&self) {
        let (admin_url, name) = self.pg.as_ref().expect("a Postgres test database");
        drop_database(admin_url, name).await;
    }
}

/// A running Writ and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The `/metrics` listener's `http://127.0.0.1:port`.
    pub metrics_address: String,
    pub http: reqwest::Client,
    pub ctx: Arc<Context>,
    pub operator_id: String,
    pub operator_secret: String,
    pub db: TestDb,
}

/// Starts the all-in-one app on `backend`; `None` when that backend is not configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with settings adjusted by `adjust` (limits, say).
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    let mut settings = db.settings();
    adjust(&mut settings);
    let _ = writ_http::telemetry::init(&settings.log, "writ-test");
    let app = writ::build(settings).await.unwrap();
    let port = app.port();
    let metrics_address = format!("http://127.0.0.1:{}", app.metrics_port().unwrap_or_default());
    let ctx = app.context().clone();
    let operator = writ_app::operator::create_operator(&ctx).await.unwrap();
    tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_address,
        http: http_client(),
        ctx,
        operator_id: operator.client_id.to_string(),
        operator_secret: operator.client_secret.expose().to_owned(),
        db,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The text of `GET /metrics`, from the metrics listener.
    pub async fn metrics(&self) -> String {
        let res = self.http.get(format!("{}/metrics", self.metrics_address)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    /// `POST /oauth/token` with `client_secret_post` and extra form parameters.
    pub async fn token_request(
        &self,
        client_id: &str,
        secret: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form =
            vec![("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
        form.extend_from_slice(extra);
        self.http.post(self.url("/oauth/token")).form(&form).send().await.unwrap()
    }

    /// An access token for `client_id`, asserting the request succeeds.
    pub async fn token(&self, client_id: &str, secret: &str, extra: &[(&str, &str)]) -> String {
        let res = self.token_request(client_id, secret, extra).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "token request failed: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// An operator token for the admin API.
    pub async fn operator_token(&self) -> String {
        self.token(&self.operator_id, &self.operator_secret, &[("resource", writ_core::ADMIN_AUDIENCE)]).await
    }

    /// Calls an API route with a bearer token and an optional JSON body; returns the status and the
    /// body (JSON, or the text as a JSON string).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::PATCH, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, token, None).await
    }

    async fn read(res: reqwest::Response) -> (u16, Value) {
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Creates a resource with `scopes`, as the operator; returns its identifier.
    pub async fn create_resource(&self, op: &str, identifier: &str, scopes: &[&str]) -> String {
        let scopes: Vec<Value> = scopes.iter().map(|s| json!({ "name": s })).collect();
        let (status, body) = self
            .post(
                "/admin/v1/resources",
                op,
                &json!({ "identifier": identifier, "name": "API", "scopes": scopes }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        identifier.to_owned()
    }

    /// Creates an org entitled to `entitlements` (resource, scopes); returns its id.
    pub async fn create_org(&self, op: &str, slug: &str, entitlements: &[(&str, &[&str])]) -> String {
        let ent: Vec<Value> =
            entitlements.iter().map(|(r, s)| json!({ "resource": r, "scopes": s })).collect();
        let (status, body) = self
            .post("/admin/v1/orgs", op, &json!({ "name": slug, "slug": slug, "entitlements": ent }))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates an org client with `grants`; returns (client_id, client_secret).
    pub async fn create_org_client(
        &self,
        op: &str,
        org_id: &str,
        grants: &[(&str, &[&str])],
    ) -> (String, String) {
        let grants: Vec<Value> = grants.iter().map(|(r, s)| json!({ "resource": r, "scopes": s })).collect();
        let (status, body) = self
            .post(
                "/admin/v1/clients",
                op,
                &json!({ "name": "c", "kind": "org", "org_id": org_id, "grants": grants }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (body["client_id"].as_str().unwrap().to_owned(), body["client_secret"].as_str().unwrap().to_owned())
    }
}

/// An HTTP client for tests. The `writ` binary's TLS (rustls without a built-in provider) makes
/// reqwest need a crypto provider installed first: ring, the build's only one.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Counts the rows of `table`: what a test checks to see that nothing was half-written.
pub async fn count_rows(c: &impl writ_store::ConnectionTrait, table: &str) -> Result<i64, sea_orm::DbErr> {
    use sea_orm::sea_query::{Alias, Expr, Query};
    let stmt =
        Query::select().expr_as(Expr::cust("COUNT(*)"), Alias::new("n")).from(Alias::new(table)).to_owned();
    let row = c.query_one(&stmt).await?.ok_or_else(|| sea_orm::DbErr::RecordNotFound(table.to_owned()))?;
    row.try_get("", "n")
}
