//! Building and running a Writ HTTP server. Every binary (and every test) goes through
//! [`Application::build`]: it binds first, so tests can ask for port 0 and read the port back.

use std::net::TcpListener;
use std::sync::Arc;
use writ_app::AppError;

use actix_web::body::MessageBody;
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, web};
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

/// Adds a service's routes to the app.
pub type Configure = fn(&mut web::ServiceConfig);

pub struct Application {
    port: u16,
    server: Server,
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
    /// Binds `settings.addr`, initializes the shared context and builds a server with the health
    /// routes and every service in `services`.
    pub async fn build(settings: Settings, services: &[Configure]) -> Result<Self, BuildError> {
        let addr = settings.addr.clone();
        let bind = |source| BuildError::Bind { addr: addr.clone(), source };
        let listener = TcpListener::bind(&addr).map_err(bind)?;
        let port = listener.local_addr().map_err(bind)?.port();
        let issuer = settings.issuer_for_port(port);
        let ctx = Context::init(settings, issuer).await?;
        let data = web::Data::from(ctx.clone());
        let services = services.to_vec();
        let server = HttpServer::new(move || {
            let mut app = App::new()
                .app_data(data.clone())
                .wrap(TracingLogger::<RequestSpan>::new())
                .configure(crate::configure_extractors)
                .configure(crate::health::configure);
            for configure in &services {
                app = app.configure(*configure);
            }
            app.default_service(web::to(not_found))
        })
        .listen(listener)
        .map_err(bind)?
        .run();
        Ok(Self { port, server, ctx })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests and writes the audit
    /// records still queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.ctx.audit.shutdown().await;
        result
    }
}

/// What no route answers: `404`, a wrong method on a known path included. Under `/oauth/` it is
/// `Cache-Control: no-store` like every answer of the OAuth endpoints (RFC 6749 §5.1), which set it
/// themselves, so the token path pays for no middleware.
async fn not_found(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    use actix_web::http::header::{CACHE_CONTROL, HeaderValue, PRAGMA};
    let mut res = ApiError(AppError::not_found()).error_response();
    if req.path().starts_with("/oauth/") {
        res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

/// The whole `main` of a single-service binary: settings, telemetry, build, run.
pub async fn serve_main(
    name: &'static str,
    args: crate::settings::SettingsArgs,
    services: &[Configure],
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
            tracing::info!(port = app.port(), issuer = %app.context().issuer, "listening");
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
