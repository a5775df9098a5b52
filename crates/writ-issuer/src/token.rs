//! `POST /oauth/token`: reads the request and renders the answer; the engine below HTTP
//! (`writ_app::token`) parses, authenticates, limits, decides and mints.

use actix_web::{HttpRequest, HttpResponse, post, web};
use writ_app::Context;
use writ_app::token::{self as engine, TokenRequest};
use writ_http::RequestOrigin;

use crate::oauth_error::{OAuthFailure, no_store};
use crate::request;
use crate::schema::{OAuthErrorBody, TokenForm, TokenResponse};

/// Issue an access token
///
/// The client-credentials grant (RFC 6749 §4.4): a machine client trades its credentials for a
/// short-lived RFC 9068 JWT for one API (`resource`, RFC 8707) with the scopes it asks for, within
/// what it was granted. Authenticate with HTTP Basic or with `client_id` and `client_secret` in the
/// body. Errors follow RFC 6749 §5.2; every answer is `Cache-Control: no-store`. No scope is
/// needed: the credentials are the authorization.
#[utoipa::path(
    tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type`, `invalid_scope`, `invalid_target` or `unauthorized_client`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret, disabled client or suspended org", body = OAuthErrorBody),
        (status = 413, description = "`invalid_request`: the body exceeds 16 KiB", body = OAuthErrorBody),
        (status = 415, description = "`invalid_request`: the body is neither a form nor JSON", body = OAuthErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After` and the `RateLimit` headers", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/token")]
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthFailure> {
    let started = std::time::Instant::now();
    let result = async {
        let body = request::read_body(payload).await?;
        let request = TokenRequest::parse(request::content_type(&req), request::authorization(&req), &body)?;
        engine::issue(&ctx, request, &origin).await
    }
    .await;
    ctx.metrics.token_latency(started.elapsed());
    let issued = result.inspect_err(|e| {
        tracing::Span::current().record("error.code", e.code());
        ctx.metrics.token_refused(e.code());
    })?;
    let mut res = HttpResponse::Ok();
    no_store(&mut res);
    for (name, value) in issued.rate_limits {
        res.insert_header((name, value));
    }
    Ok(res.json(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: issued.scope,
        refresh_token: issued.refresh_token,
    }))
}
