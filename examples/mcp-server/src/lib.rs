//! An MCP server protected by Writ (docs/mcp.md): tools served by the official `rmcp` crate over
//! Streamable HTTP, behind `writ-verify`.
//!
//! - `GET /.well-known/oauth-protected-resource/mcp`: the RFC 9728 metadata that sends an MCP
//!   client to Writ.
//! - `/mcp` without a valid token: `401` with `WWW-Authenticate: Bearer resource_metadata="…",
//!   scope="invoices:read"` (what it takes to use the server at all).
//! - A `tools/call` whose tool needs a scope the token lacks: `403 insufficient_scope` naming
//!   every scope the tool needs, so the client gets a token with them (step-up). Each tool's
//!   scopes are [`TOOL_SCOPES`]; the HTTP layer reads the JSON-RPC request to know the tool.
//! - Otherwise the request goes to `rmcp`, with the verified claims in the request's extensions,
//!   where a tool finds whom it acts for.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use writ_verify::{Claims, ProtectedResource, Verifier, VerifyError};

/// The scopes each tool needs.
pub const TOOL_SCOPES: &[(&str, &[&str])] =
    &[("list_invoices", &["invoices:read"]), ("create_invoice", &["invoices:read", "invoices:write"])];
/// What any request needs: said in the `401`, so a client asks for it at once.
const BASE_SCOPE: &str = "invoices:read";
/// The largest request body read.
const MAX_BODY: usize = 1 << 20;

/// The tools: a person's invoices.
#[derive(Clone)]
pub struct Invoices {
    #[allow(dead_code, reason = "read by the code tool_handler generates")]
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct NewInvoice {
    #[schemars(description = "the amount, in cents")]
    pub amount: u64,
}

/// Whom the request acts for: the verified token's claims, which the HTTP layer put in the
/// request's extensions.
fn caller(ctx: &RequestContext<RoleServer>) -> Result<Claims, rmcp::ErrorData> {
    ctx.extensions
        .get::<hyper::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Claims>().cloned())
        .ok_or_else(|| rmcp::ErrorData::internal_error("no verified caller", None))
}

#[tool_router]
impl Invoices {
    #[tool(description = "List the invoices of the person this agent acts for")]
    async fn list_invoices(&self, ctx: RequestContext<RoleServer>) -> Result<String, rmcp::ErrorData> {
        let claims = caller(&ctx)?;
        let person = claims.uid.as_deref().unwrap_or(&claims.sub);
        Ok(serde_json::json!({"person": person, "org": claims.oid, "invoices": [{"id": "inv_1", "amount": 4200}]})
            .to_string())
    }

    #[tool(description = "Create an invoice for the person this agent acts for")]
    async fn create_invoice(
        &self,
        Parameters(NewInvoice { amount }): Parameters<NewInvoice>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<String, rmcp::ErrorData> {
        let claims = caller(&ctx)?;
        Ok(serde_json::json!({"created": {"id": "inv_2", "amount": amount}, "by": claims.sub}).to_string())
    }
}

#[tool_handler]
impl ServerHandler for Invoices {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("A person's invoices, for agents they allowed")
    }
}

type Body = BoxBody<Bytes, Infallible>;

/// The server: Writ's verifier, the resource's metadata, and the MCP service.
pub struct McpServer {
    verifier: Verifier,
    resource: ProtectedResource,
    /// The path of the MCP endpoint (the resource identifier's path).
    path: String,
    mcp: StreamableHttpService<Invoices, LocalSessionManager>,
}

impl McpServer {
    /// A server for `resource` (its URL, as in tokens' `aud`), taking tokens `verifier` verifies.
    pub fn new(verifier: Verifier, resource: &str, issuer: &str) -> Arc<Self> {
        let mut scopes: Vec<&str> = TOOL_SCOPES.iter().flat_map(|(_, s)| s.iter().copied()).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let resource = ProtectedResource::new(resource, issuer).scopes(&scopes).name("Invoices (MCP)");
        let path = match resource.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        };
        let mcp = StreamableHttpService::new(
            || Ok(Invoices { tool_router: Invoices::tool_router() }),
            Arc::default(),
            StreamableHttpServerConfig::default(),
        );
        Arc::new(Self { verifier, resource, path, mcp })
    }

    /// Serves connections from `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let server = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.handle(req).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await
                {
                    tracing::debug!(error = %e, "connection ended");
                }
            });
        }
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        if req.uri().path() == self.resource.metadata_path() {
            let mut res = Response::new(full(self.resource.to_json()));
            res.headers_mut()
                .insert(CONTENT_TYPE, "application/json".parse().unwrap_or_else(|_| unreachable!()));
            res.headers_mut()
                .insert(CACHE_CONTROL, "public, max-age=3600".parse().unwrap_or_else(|_| unreachable!()));
            return res;
        }
        if req.uri().path() != self.path {
            return status(StatusCode::NOT_FOUND);
        }
        let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let claims = match self.verifier.verify_header(authorization).await {
            Ok(claims) => claims,
            Err(e) => return self.refuse(&e),
        };
        let (mut parts, body) = req.into_parts();
        let Ok(body) = Limited::new(body, MAX_BODY).collect().await.map(|b| b.to_bytes()) else {
            return status(StatusCode::PAYLOAD_TOO_LARGE);
        };
        if let Some(scopes) = tool_scopes(&body)
            && let Err(e) = claims.require(scopes)
        {
            return self.refuse(&e);
        }
        parts.extensions.insert(claims);
        let mut mcp = self.mcp.clone();
        match tower_service::Service::call(&mut mcp, Request::from_parts(parts, Full::new(body))).await {
            Ok(res) => res,
            Err(never) => match never {},
        }
    }

    /// `401` or `403` with the challenge that sends the client to Writ (or back for more scopes).
    fn refuse(&self, e: &VerifyError) -> Response<Body> {
        let mut res = status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED));
        let challenge = e.www_authenticate(Some(&self.resource.metadata_url()), Some(BASE_SCOPE));
        if let Ok(v) = challenge.parse() {
            res.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        res
    }
}

/// The scopes of the tool a JSON-RPC `tools/call` names (an unknown tool needs nothing here:
/// `rmcp` answers that it does not exist).
fn tool_scopes(body: &[u8]) -> Option<&'static [&'static str]> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    if request["method"] != "tools/call" {
        return None;
    }
    let name = request["params"]["name"].as_str()?;
    TOOL_SCOPES.iter().find(|(tool, _)| *tool == name).map(|(_, scopes)| *scopes)
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn status(code: StatusCode) -> Response<Body> {
    let mut res = Response::new(full(Bytes::new()));
    *res.status_mut() = code;
    res
}
