//! Building and running a Writ HTTP server. Every binary (and every test) goes through
//! [`Application::build`]: it binds first, so tests can ask for port 0 and read the port back.

use std::net::TcpListener;
use std::sync::Arc;
use writ_app::AppError;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, Service as _};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{App, HttpMessage as _, HttpServer, web};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder, TracingLogger};

use crate::ApiError;
use writ_app::{Context, InitError, Settings};

/// The span of a request: tracing-actix-web's (method, route, status, trace context…) plus what
/// the OAuth endpoints learn and record on it — `client_id`, `org_id`, `error.code` — so they open
/// no span of their own (a second span per token request cost about 5% of the issuer's CPU at
/// the default log level).
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        use tracing::field::Empty;
        tracing_actix_web::root_span!(request, client_id = Empty, org_id = Empty, error.code = Empty)
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// A service an application serves: its routes, and the OpenAPI document that describes them.
#[derive(Clone, Copy)]
pub struct Service {
    /// The document's name: it is served at `/openapi/{name}.json`.
    pub name: &'static str,
    pub configure: fn(&mut web::ServiceConfig),
    pub openapi: fn() -> serde_json::Value,
}

/// The paths an application serves, as templates (`/admin/v1/clients/{client_id}`), with what
/// `Allow` says for each. Routes are guarded by method, so a request with another method finds no
/// route and reaches the default answer, which looks here.
struct Paths(Vec<(String, String)>);

impl Paths {
    fn of(services: &[Service]) -> Self {
        let get = || "GET, HEAD".to_owned();
        let mut paths = vec![("/healthz".to_owned(), get()), ("/readyz".to_owned(), get())];
        for service in services {
            paths.extend(crate::openapi::allowed_methods(&(service.openapi)()));
            paths.push((format!("/openapi/{}.json", service.name), get()));
            paths.push(("/docs".to_owned(), get()));
        }
        Self(paths)
    }

    /// The `Allow` of `path`, if it is served at all. A literal path comes before a template it also
    /// fits (`…/revocations/snapshot`, `…/revocations/{jti}`).
    fn allowed(&self, path: &str) -> Option<&str> {
        let fits = |template: &str| {
            let (mut t, mut p) = (template.split('/'), path.split('/'));
            loop {
                match (t.next(), p.next()) {
                    (None, None) => return true,
                    (Some(t), Some(p)) if t == p || (t.starts_with('{') && !p.is_empty()) => {}
                    _ => return false,
                }
            }
        };
        self.0
            .iter()
            .find(|(template, _)| template == path)
            .or_else(|| self.0.iter().find(|(template, _)| fits(template)))
            .map(|(_, allow)| allow.as_str())
    }
}

pub struct Application {
    port: u16,
    server: Server,
    /// The `/metrics` listener's port and server, unless `metrics_addr` is empty.
    metrics: Option<(u16, Server)>,
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("port", &self.port).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error(transparent)]
    Init(#[from] InitError),
}

impl Application {
    /// Binds `settings.addr` (and `settings.metrics_addr`), initializes the shared context and
    /// builds a server with the health routes and every service in `services`, and one with
    /// `/metrics`.
    pub async fn build(settings: Settings, services: &[Service]) -> Result<Self, BuildError> {
        let addr = settings.addr.clone();
        let bind = |source| BuildError::Bind { addr: addr.clone(), source };
        let listener = TcpListener::bind(&addr).map_err(bind)?;
        let port = listener.local_addr().map_err(bind)?.port();
        let metrics_listener = match settings.metrics_addr.trim() {
            "" => None,
            metrics_addr => {
                let bind =
                    |source| BuildError::Bind { addr: format!("{metrics_addr} (metrics_addr)"), source };
                let listener = TcpListener::bind(metrics_addr).map_err(bind)?;
                let port = listener.local_addr().map_err(bind)?.port();
                Some((listener, port))
            }
        };
        let issuer = settings.issuer_for_port(port);
        let ctx = Context::init(settings, issuer).await?;
        let data = web::Data::from(ctx.clone());
        let services = services.to_vec();
        let paths = Arc::new(Paths::of(&services));
        let base: Arc<str> = Arc::from(issuer_path(&ctx.issuer));
        let server = HttpServer::new(move || {
            let base = base.clone();
            let mut app = App::new()
                .app_data(data.clone())
                .app_data(paths.clone())
                .wrap_fn(move |req, srv| srv.call(under_issuer_path(head_as_get(req), &base)))
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap_fn(|req, srv| srv.call(hide_credentials(req)))
                .configure(crate::configure_extractors)
                .configure(crate::health::configure);
            for service in &services {
                app = app.configure(service.configure);
            }
            app.default_service(web::to(not_found))
        })
        .listen(listener)
        .map_err(bind)?
        .run();
        let metrics = match metrics_listener {
            Some((listener, metrics_port)) => {
                let data = web::Data::from(ctx.clone());
                let paths = Arc::new(Paths(vec![("/metrics".to_owned(), "GET, HEAD".to_owned())]));
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(paths.clone())
                        .wrap_fn(|req, srv| srv.call(head_as_get(req)))
                        .configure(crate::health::configure_metrics)
                        .default_service(web::to(not_found))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .map_err(|source| BuildError::Bind { addr: "metrics_addr".into(), source })?
                .run();
                Some((metrics_port, server))
            }
            None => None,
        };
        Ok(Self { port, server, metrics, ctx })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics` listener, if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests and writes the audit
    /// records still queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(_, server)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let result = self.server.await;
        if let Some((task, handle)) = metrics {
            handle.stop(false).await;
            let _ = task.await;
        }
        self.ctx.audit.shutdown().await;
        result
    }
}

/// What no route answers: `405` with `Allow` for a path the application serves with other methods
/// ([`Paths`]), else `404`. Under `/oauth/` either is `Cache-Control: no-store` like
/// every answer of the OAuth endpoints (RFC 6749 §5.1), which set it themselves, so the token path
/// pays for no middleware.
async fn not_found(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let allowed = req.app_data::<Arc<Paths>>().and_then(|paths| paths.allowed(req.path()));
    match allowed.filter(|allow| !allow.split(", ").any(|m| m == req.method().as_str())) {
        Some(allow) => method_not_allowed(&req, allow),
        None => refusal(&req, AppError::not_found()),
    }
}

/// `405` for a known path and a method it lacks, with the methods it has in `Allow`.
fn method_not_allowed(req: &actix_web::HttpRequest, allow: &str) -> actix_web::HttpResponse {
    let detail = format!("{} is not allowed here: {allow}", req.method());
    let mut res = refusal(req, AppError::new(writ_app::ErrorCode::MethodNotAllowed, detail));
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(actix_web::http::header::ALLOW, value);
    }
    res
}

fn refusal(req: &actix_web::HttpRequest, error: AppError) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    use actix_web::http::header::{CACHE_CONTROL, HeaderValue, PRAGMA};
    let mut res = ApiError(error).error_response();
    if req.path().starts_with("/oauth/") {
        res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

/// `HEAD` is `GET` without the body (RFC 9110 §9.3.2): routing sees a `GET`, and the HTTP/1
/// codec, which remembers the request was a `HEAD`, sends the head of the answer only.
fn head_as_get(mut req: ServiceRequest) -> ServiceRequest {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    req
}

/// The query of a request that carried a credential (a `writ_…` value, such as an invitation
/// link's token, or a JWT, such as the vendor's login response), taken out of its URI before the
/// request span recorded the URI.
#[derive(Debug, Clone)]
struct HiddenQuery(String);

/// Takes a query holding a Writ credential out of the request's URI, so the request span (and
/// every log line and trace under it) records the path only; the handler reads it back with
/// [`query_of`].
fn hide_credentials(mut req: ServiceRequest) -> ServiceRequest {
    let Some(query) = req.uri().query() else { return req };
    let holds_credential = query.split('&').any(|pair| {
        pair.split_once('=').is_some_and(|(_, v)| v.starts_with("writ_") || v.starts_with("eyJ"))
    });
    if !holds_credential {
        return req;
    }
    let query = query.to_owned();
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = req.uri().path().parse().ok();
    if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
        req.head_mut().uri = uri;
        req.extensions_mut().insert(HiddenQuery(query));
    }
    req
}

/// The path of an issuer URL (`https://auth.example.com/tenant` → `/tenant`), empty when it has
/// none.
pub fn issuer_path(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    rest.find('/').map_or("", |i| rest[i..].trim_end_matches('/'))
}

/// For an issuer with a path (`/tenant`), a request under it (`/tenant/oauth/token`) is routed as
/// the same request at the root (`/oauth/token`): Writ answers at the issuer's URLs whether or not
/// a proxy in front strips the path (RFC 8414 §3, OpenID Connect Discovery §4).
fn under_issuer_path(mut req: ServiceRequest, base: &str) -> ServiceRequest {
    if base.is_empty() {
        return req;
    }
    let Some(rest) = req.path().strip_prefix(base).filter(|r| r.starts_with('/')) else { return req };
    let target = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = target.parse().ok();
    if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    req
}

/// A request's query string, including one [`hide_credentials`] took out of its URI.
pub fn query_of(req: &actix_web::HttpRequest) -> String {
    match req.extensions().get::<HiddenQuery>() {
        Some(hidden) => hidden.0.clone(),
        None => req.query_string().to_owned(),
    }
}

/// The whole `main` of a single-service binary: settings, telemetry, build, run.
pub async fn serve_main(
    name: &'static str,
    args: crate::settings::SettingsArgs,
    services: &[Service],
) -> std::process::ExitCode {
    let settings = match args.load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let _telemetry = crate::telemetry::init(&settings.log, name);
    match Application::build(settings, services).await {
        Ok(app) => {
            tracing::info!(
                port = app.port(),
                metrics_port = app.metrics_port(),
                issuer = %app.context().issuer,
                "listening"
            );
            match app.run_until_stopped().await {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "server failed");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn requests_under_the_issuers_path_are_routed_from_the_root() {
        assert_eq!(issuer_path("https://auth.example.com/tenant/"), "/tenant");
        assert_eq!(issuer_path("https://auth.example.com"), "");
        assert_eq!(issuer_path("http://localhost:8080/a/b"), "/a/b");
        let req =
            under_issuer_path(TestRequest::with_uri("/tenant/oauth/token?x=1").to_srv_request(), "/tenant");
        assert_eq!((req.path(), req.query_string()), ("/oauth/token", "x=1"));
        for other in ["/tenants/oauth/token", "/oauth/token", "/tenant"] {
            assert_eq!(
                under_issuer_path(TestRequest::with_uri(other).to_srv_request(), "/tenant").path(),
                other
            );
        }
        assert_eq!(under_issuer_path(TestRequest::with_uri("/x/y").to_srv_request(), "").path(), "/x/y");
    }

    #[test]
    fn a_query_holding_a_credential_leaves_the_uri_but_reaches_the_handler() {
        let req = hide_credentials(
            TestRequest::with_uri("/oauth/invitation?token=writ_inv_abc&x=1").to_srv_request(),
        );
        assert_eq!(req.uri().to_string(), "/oauth/invitation", "what the request span records");
        assert_eq!(req.path(), "/oauth/invitation");
        assert_eq!(query_of(req.request()), "token=writ_inv_abc&x=1");
        let jwt = hide_credentials(
            TestRequest::with_uri("/oauth/login/callback?response=eyJhbGciOiJFUzI1NiJ9.e30.sig")
                .to_srv_request(),
        );
        assert_eq!(jwt.uri().to_string(), "/oauth/login/callback", "a JWT (a login response) is hidden too");
        assert_eq!(query_of(jwt.request()), "response=eyJhbGciOiJFUzI1NiJ9.e30.sig");

        let plain = hide_credentials(
            TestRequest::with_uri("/oauth/login?return_to=%2Foauth%2Faccount").to_srv_request(),
        );
        assert_eq!(plain.uri().to_string(), "/oauth/login?return_to=%2Foauth%2Faccount");
        assert_eq!(query_of(plain.request()), "return_to=%2Foauth%2Faccount");
    }
}
