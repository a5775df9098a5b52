//! `POST /oauth/par` (RFC 9126): a client pushes its authorization request over a back channel,
//! authenticated, and gets a `request_uri` to send the person's browser to `/oauth/authorize`
//! with. The rules are `writ_app::delegation::authorize`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use writ_app::Context;
use writ_app::delegation::authorize;
use writ_http::RequestOrigin;

use crate::oauth_error::{OAuthFailure, no_store};
use crate::request;
use crate::schema::{OAuthErrorBody, ParForm, ParResponse};

/// Push an authorization request
///
/// RFC 9126: the authorization request's parameters (`response_type=code`, `redirect_uri`,
/// `scope`, `resource`, `state`, `code_challenge` with `code_challenge_method=S256`), sent by the
/// client itself with its client authentication (as at the token endpoint; a public client sends
/// `client_id`). The answer's `request_uri` goes to `/oauth/authorize` with the `client_id`, and
/// works once, for 90 seconds. Errors follow RFC 6749 §5.2.
#[utoipa::path(
    tag = "oauth",
    request_body(content = ParForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The request_uri", body = ParResponse),
        (status = 400, description = "`invalid_request`, `invalid_scope`, `invalid_target` or `unauthorized_client`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
        (status = 413, description = "`invalid_request`: the body exceeds 16 KiB", body = OAuthErrorBody),
        (status = 415, description = "`invalid_request`: the body is neither a form nor JSON", body = OAuthErrorBody),
        (status = 429, description = "`rate_limited`: too many failed authentications", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/par")]
pub async fn push(
    req: HttpRequest,
    payload: web::Payload,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthFailure> {
    let body = request::read_body(payload).await?;
    let (request_uri, expires_in) = authorize::push_request(
        &ctx,
        request::content_type(&req),
        request::authorization(&req),
        &body,
        &origin,
    )
    .await?;
    let mut res = HttpResponse::Created();
    no_store(&mut res);
    Ok(res.json(ParResponse { request_uri, expires_in }))
}
