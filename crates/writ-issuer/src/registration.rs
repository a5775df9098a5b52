//! Dynamic client registration (RFC 7591) at `POST /oauth/register`, and its management
//! (RFC 7592) at `/oauth/register/{client_id}` with the registration access token. Off by default
//! (`404`); the rules are `writ_app::delegation::registration`.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde::Serialize;
use utoipa::ToSchema;
use writ_app::Context;
use writ_app::delegation::registration::{self, RegistrationError, RegistrationMode, Request};
use writ_http::RequestOrigin;

use crate::request;

/// A client's registration metadata (RFC 7591 §2); fields Writ does not use are ignored.
#[derive(ToSchema)]
#[schema(example = json!({
    "client_name": "Example Agent", "application_type": "native",
    "redirect_uris": ["http://127.0.0.1/callback"], "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "none", "scope": "invoices:read"
}))]
#[allow(dead_code, reason = "documents the request body; writ_app's Request reads it")]
pub struct RegistrationForm {
    /// `native` (loopback or private-use redirect URIs) or `web` (`https`, off loopback). Required.
    application_type: String,
    /// 1 to 20 redirect URIs.
    redirect_uris: Vec<String>,
    /// `none` (a public client), `client_secret_basic` (the default), `client_secret_post` or
    /// `private_key_jwt` (with `jwks` or `jwks_uri`).
    token_endpoint_auth_method: Option<String>,
    /// `authorization_code` (required) and `refresh_token`.
    grant_types: Option<Vec<String>>,
    /// `code` only.
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    /// Space-separated; default: every scope registered clients may have.
    scope: Option<String>,
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
}

/// A registered client (RFC 7591 §3.2.1); `client_secret` and `registration_access_token` only in
/// the answer to the registration, once.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "client_id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t", "client_id_issued_at": 1796000000,
    "client_secret_expires_at": 1803776000, "client_name": "Example Agent",
    "redirect_uris": ["http://127.0.0.1/callback"], "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"], "token_endpoint_auth_method": "none", "scope": "invoices:read",
    "application_type": "native", "registration_access_token": "writ_reg_…",
    "registration_client_uri": "https://auth.example.com/oauth/register/cli_01jd8x4c2v9q0m7k3n5p6r8s0t"
}))]
pub struct RegisteredClient {
    client_id: String,
    client_id_issued_at: i64,
    /// When the registration ends (Unix time); 0: never.
    client_secret_expires_at: i64,
    client_secret: Option<String>,
    client_name: String,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    response_types: Vec<String>,
    token_endpoint_auth_method: String,
    scope: String,
    application_type: String,
    registration_access_token: Option<String>,
    registration_client_uri: String,
}

/// An RFC 7591 §3.2.2 error.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_redirect_uri", "error_description": "http://evil.example/cb: http is allowed only on a loopback host"}))]
pub struct RegistrationErrorBody {
    /// `invalid_redirect_uri`, `invalid_client_metadata`, `invalid_token`, `not_found`,
    /// `too_many_requests` or `server_error`.
    error: String,
    error_description: String,
}

/// A refused registration call, answered as RFC 7591 §3.2.2 says.
#[derive(Debug)]
pub struct Refused(RegistrationError);

impl From<RegistrationError> for Refused {
    fn from(e: RegistrationError) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl actix_web::ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            RegistrationError::Off => StatusCode::NOT_FOUND,
            RegistrationError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            RegistrationError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            RegistrationError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((CACHE_CONTROL, "no-store"));
        if let RegistrationError::TooMany { retry_after } = self.0 {
            res.insert_header((RETRY_AFTER, retry_after.to_string()));
        }
        if matches!(self.0, RegistrationError::InvalidToken(_)) {
            res.insert_header((WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
        }
        res.json(RegistrationErrorBody { error: self.0.code().into(), error_description: self.0.to_string() })
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = request::authorization(req)?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

fn answer(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .json(body)
}

async fn parse(payload: web::Payload) -> Result<Request, Refused> {
    let body = request::read_body(payload)
        .await
        .map_err(|e| RegistrationError::InvalidClientMetadata(e.to_string()))?;
    serde_json::from_slice(&body).map_err(|e| {
        RegistrationError::InvalidClientMetadata(format!("not a JSON registration request: {e}")).into()
    })
}

/// Register a client
///
/// RFC 7591: a client (an MCP client, say) registers itself, and gets its `client_id`, a
/// `client_secret` if it asked for a secret method, and a `registration_access_token` that reads,
/// changes and deletes its registration at `registration_client_uri`. Off unless the deployment
/// turned it on: `open`, or `token` (then send an admin token with `admin:clients:write` as the
/// initial access token).
#[utoipa::path(
    tag = "oauth",
    request_body(content = RegistrationForm, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = RegisteredClient),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata`", body = RegistrationErrorBody),
        (status = 401, description = "`invalid_token`: the initial access token is missing or not valid", body = RegistrationErrorBody),
        (status = 404, description = "Registration is off", body = RegistrationErrorBody),
        (status = 429, description = "Too many registrations from this address", body = RegistrationErrorBody),
    ),
    security(("registration_bearer" = []), ())
)]
#[post("/oauth/register")]
pub async fn register(
    req: HttpRequest,
    payload: web::Payload,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, Refused> {
    let initial = match ctx.settings.registration {
        RegistrationMode::Token => Some(
            writ_http::auth::authorized::<writ_http::auth::ClientsWrite>(&req)
                .await
                .map_err(|e| RegistrationError::InvalidToken(e.0.detail.clone()))?
                .caller,
        ),
        _ => None,
    };
    let request = parse(payload).await?;
    let registered = registration::register(&ctx, initial, request, &origin).await?;
    let mut body = registration::response(&ctx, &registered.client, Some(registered.application_type));
    body["registration_access_token"] = registered.registration_token.expose().into();
    if let Some(secret) = &registered.secret {
        body["client_secret"] = secret.expose().into();
    }
    Ok(answer(StatusCode::CREATED, body))
}

/// Read a registration
///
/// RFC 7592 §2.1, with the registration access token as the bearer token.
#[utoipa::path(
    tag = "oauth",
    params(("client_id" = String, Path, description = "The registered client's id")),
    responses(
        (status = 200, description = "The registration", body = RegisteredClient),
        (status = 401, description = "`invalid_token`", body = RegistrationErrorBody),
        (status = 404, description = "Registration is off", body = RegistrationErrorBody),
    ),
    security(("registration_bearer" = []))
)]
#[get("/oauth/register/{client_id}")]
pub async fn read(
    req: HttpRequest,
    id: web::Path<String>,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, Refused> {
    let client = registration::read(&ctx, &id, bearer(&req)).await?;
    Ok(answer(StatusCode::OK, registration::response(&ctx, &client, None)))
}

/// Change a registration
///
/// RFC 7592 §2.2: the whole registration again; its `client_name` and `redirect_uris` change,
/// the rest must stay as registered.
#[utoipa::path(
    tag = "oauth",
    params(("client_id" = String, Path, description = "The registered client's id")),
    request_body(content = RegistrationForm, content_type = "application/json"),
    responses(
        (status = 200, description = "The registration", body = RegisteredClient),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata`", body = RegistrationErrorBody),
        (status = 401, description = "`invalid_token`", body = RegistrationErrorBody),
        (status = 404, description = "Registration is off", body = RegistrationErrorBody),
    ),
    security(("registration_bearer" = []))
)]
#[put("/oauth/register/{client_id}")]
pub async fn update(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, Refused> {
    let request = parse(payload).await?;
    let client = registration::update(&ctx, &id, bearer(&req), request, &origin).await?;
    Ok(answer(StatusCode::OK, registration::response(&ctx, &client, None)))
}

/// Delete a registration
///
/// RFC 7592 §2.3: the client ends, with every token it holds.
#[utoipa::path(
    tag = "oauth",
    params(("client_id" = String, Path, description = "The registered client's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`invalid_token`", body = RegistrationErrorBody),
        (status = 404, description = "Registration is off", body = RegistrationErrorBody),
    ),
    security(("registration_bearer" = []))
)]
#[delete("/oauth/register/{client_id}")]
pub async fn remove(
    req: HttpRequest,
    id: web::Path<String>,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, Refused> {
    registration::delete(&ctx, &id, bearer(&req), &origin).await?;
    Ok(HttpResponse::NoContent().insert_header((CACHE_CONTROL, "no-store")).finish())
}
