//! `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662). Callers authenticate as
//! clients, exactly as at the token endpoint.
//!
//! Who may introspect what: a client may introspect its own tokens; a client granted
//! `guard:introspect` on `urn:writ:guard` (a resource server or gateway of the operator, or of a
//! tenant entitled to it) may introspect any token. Everyone else gets `{"active": false}` for every
//! token, so introspection tells a stranger nothing — not even whether a token is genuine.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde_json::json;
use writ_app::Context;
use writ_core::{AuditEvent, GUARD_AUDIENCE, ResourceUri, ScopeSet, TokenRequest};
use writ_guard_store::TokenFacts;
use writ_token::AccessClaims;

use crate::OAuthError;
use crate::oauth_error::no_store;
use crate::request;
use crate::schema::{Introspection, OAuthErrorBody, TokenParams};
use crate::token::authenticate;

/// The scope that lets a client introspect tokens issued to others.
pub const INTROSPECT_SCOPE: &str = "guard:introspect";

fn ok(body: serde_json::Value) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    no_store(&mut res);
    res.json(body)
}

/// Reads an RFC 7009 / RFC 7662 request: the caller, authenticated like at the token endpoint,
/// and the `token` it names.
async fn authenticated_request(
    req: &HttpRequest,
    payload: web::Payload,
    ctx: &Context,
) -> Result<(std::sync::Arc<writ_store::ClientCredentials>, String), OAuthError> {
    let body = request::read_body(payload).await?;
    let params = request::parse_params(req, &body)?;
    let token =
        params.token.clone().ok_or_else(|| OAuthError::InvalidRequest("missing parameter `token`".into()))?;
    let creds = request::credentials(req, &params)?;
    let (caller, _) = authenticate(ctx, &creds).await?;
    tracing::Span::current().record("client_id", caller.client.id.as_str());
    Ok((caller, token))
}

/// A verified token of ours (signature, issuer, not expired), or `None`.
fn our_token(ctx: &Context, token: &str) -> Option<AccessClaims> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ctx.keys().verify_any_audience(token, &ctx.issuer, now).ok()
}

fn facts(c: &AccessClaims) -> TokenFacts<'_> {
    TokenFacts { jti: &c.jti, client_id: &c.client_id, org_id: c.oid.as_deref(), iat: c.iat, exp: c.exp }
}

/// RFC 7009 §2.1: a client revokes one of its own tokens. Unknown, malformed and expired tokens are
/// answered `200` (there is nothing left to revoke); another client's token is refused.
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
        (status = 503, description = "`temporarily_unavailable`: the revocation state is unreachable", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/revoke")]
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthError> {
    let (caller, token) = authenticated_request(&req, payload, &ctx).await?;
    let Some(claims) = our_token(&ctx, &token) else { return Ok(ok(json!({}))) };
    if claims.client_id != caller.client.id.as_str() {
        return Err(OAuthError::UnauthorizedClient("the token was issued to another client".into()));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ctx.guard.revoke_token(&claims.jti, claims.exp, now).await.map_err(|e| {
        tracing::error!(error = %e, "revocation store unreachable");
        OAuthError::Unavailable
    })?;
    let event = AuditEvent::new(
        writ_core::Actor::Client(caller.client.id.clone()),
        caller.client.kind.org_id().cloned(),
        "token.revoked",
        Some(claims.jti.clone()),
    )
    .with_details(json!({ "by": "client", "exp": claims.exp }));
    ctx.audit.record(event);
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
        (status = 503, description = "`temporarily_unavailable`: introspection fails closed", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/introspect")]
pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthError> {
    let (caller, token) = authenticated_request(&req, payload, &ctx).await?;
    let inactive = || Ok(ok(json!({ "active": false })));
    let Some(claims) = our_token(&ctx, &token) else { return inactive() };
    let own = claims.client_id == caller.client.id.as_str();
    if !own && !may_introspect_others(&caller) {
        return inactive();
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let revoked = ctx.guard.is_revoked(&facts(&claims), now).await.map_err(|e| {
        tracing::error!(error = %e, "revocation store unreachable: introspection fails closed");
        OAuthError::Unavailable
    })?;
    if revoked {
        return inactive();
    }
    let mut body = serde_json::to_value(&claims).map_err(|_| OAuthError::Server)?;
    if let serde_json::Value::Object(map) = &mut body {
        map.insert("active".into(), json!(true));
        map.insert("token_type".into(), json!("Bearer"));
    }
    Ok(ok(body))
}

/// Whether the caller's effective grants (entitlements applied) include `guard:introspect`.
fn may_introspect_others(caller: &writ_store::ClientCredentials) -> bool {
    let (Ok(guard), Ok(scope)) = (ResourceUri::parse(GUARD_AUDIENCE), ScopeSet::parse(INTROSPECT_SCOPE))
    else {
        return false;
    };
    let request = TokenRequest { scope: Some(scope), resources: vec![guard] };
    writ_core::grant(&caller.client, caller.org.as_ref(), caller.user.as_ref(), &request).is_ok()
}
