//! `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662): the requests read and
//! the answers rendered; who may see and revoke what is `writ_app::token::introspection`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde_json::json;
use writ_app::Context;
use writ_app::token::OAuthError;
use writ_app::token::introspection::{self, TokenQuery};
use writ_http::RequestOrigin;

use crate::oauth_error::{OAuthFailure, no_store};
use crate::request;
use crate::schema::{Introspection, OAuthErrorBody, TokenParams};

fn ok(body: serde_json::Value) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    no_store(&mut res);
    res.json(body)
}

async fn query(
    req: &HttpRequest,
    payload: web::Payload,
    ctx: &Context,
    origin: &RequestOrigin,
) -> Result<TokenQuery, OAuthError> {
    let body = request::read_body(payload).await?;
    TokenQuery::read(ctx, origin, request::content_type(req), request::authorization(req), &body).await
}

/// Revoke a token
///
/// RFC 7009: a client revokes one of its own tokens. Unknown, malformed and expired tokens are
/// answered `200` (there is nothing left to revoke); another client's token is refused. Resource
/// servers following the revocation feed reject the token within about a second.
#[utoipa::path(
    tag = "oauth",
    request_body(content = TokenParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke", body = Object, example = json!({})),
        (status = 400, description = "`invalid_request`, or `unauthorized_client` for another client's token", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
        (status = 413, description = "`invalid_request`: the body exceeds 16 KiB", body = OAuthErrorBody),
        (status = 415, description = "`invalid_request`: the body is neither a form nor JSON", body = OAuthErrorBody),
        (status = 429, description = "`rate_limited`: too many failed authentications, or more revocations than `revocations_per_minute` allows; see `Retry-After`", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the revocation state is unreachable", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/revoke")]
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthFailure> {
    let query = query(&req, payload, &ctx, &origin).await?;
    introspection::revoke(&ctx, &query, &origin).await?;
    Ok(ok(json!({})))
}

/// Introspect a token
///
/// RFC 7662: what a token says, if it is active and the caller may know — its own tokens, or any
/// token with `guard:introspect` on `urn:writ:guard`. A revoked, expired, wrongly signed or
/// malformed token, or one the caller may not see, is `{"active": false}`. When the revocation
/// state cannot be reached the answer is `503`: introspection fails closed, it never guesses.
#[utoipa::path(
    tag = "oauth",
    request_body(content = TokenParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "What the token says, or `{\"active\": false}`", body = Introspection),
        (status = 400, description = "`invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
        (status = 413, description = "`invalid_request`: the body exceeds 16 KiB", body = OAuthErrorBody),
        (status = 415, description = "`invalid_request`: the body is neither a form nor JSON", body = OAuthErrorBody),
        (status = 429, description = "`rate_limited`: too many failed authentications; see `Retry-After`", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`: introspection fails closed", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/introspect")]
pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthFailure> {
    let query = query(&req, payload, &ctx, &origin).await?;
    let Some(mut body) = introspection::introspect(&ctx, &query).await? else {
        return Ok(ok(json!({ "active": false })));
    };
    body["active"] = json!(true);
    Ok(ok(body))
}
