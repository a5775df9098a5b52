//! RFC 7009 revocation and RFC 7662 introspection by clients. Callers authenticate as clients,
//! exactly as at the token endpoint.
//!
//! Who may introspect what: a client may introspect its own tokens; a client granted
//! `guard:introspect` on `urn:writ:guard` may introspect other tokens — any token if it is one of
//! the operator's service clients, its own org's tokens only if it belongs to an org. Everyone
//! else learns nothing — not even whether a token is genuine.

use serde_json::json;
use writ_core::{AuditEvent, GUARD_AUDIENCE, ResourceUri, ScopeSet};
use writ_guard_store::Revoked;
use writ_token::AccessClaims;

use super::{Authenticated, OAuthError};
use crate::context::Context;
use crate::origin::Origin;

/// The scope that lets a client introspect tokens issued to others.
pub const INTROSPECT_SCOPE: &str = "guard:introspect";

/// A revocation or introspection request: its caller, authenticated, and the `token` it names
/// (which `Debug` leaves out).
pub struct TokenQuery {
    pub caller: Authenticated,
    pub token: String,
}

impl std::fmt::Debug for TokenQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenQuery").field("caller", &self.caller).finish_non_exhaustive()
    }
}

impl TokenQuery {
    /// Reads the request and authenticates its caller, under the token endpoint's
    /// failed-authentication limits.
    pub async fn read(
        ctx: &Context,
        origin: &Origin,
        content_type: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Self, OAuthError> {
        let (params, caller) =
            super::authenticate_request(ctx, origin, content_type, authorization, body).await?;
        let token = params
            .token
            .clone()
            .ok_or_else(|| OAuthError::InvalidRequest("missing parameter `token`".into()))?;
        tracing::Span::current().record("client_id", caller.client.client.id.as_str());
        Ok(Self { caller, token })
    }
}

/// A verified token of ours (signature, issuer, not expired), or `None`.
fn our_token(ctx: &Context, token: &str) -> Option<AccessClaims> {
    ctx.keys().verify_any_audience(token, &ctx.issuer, ctx.clock.unix()).ok()
}

/// RFC 7009 §2.1: a client revokes one of its own tokens. Unknown, malformed and expired tokens
/// need nothing (there is nothing left to revoke); another client's token is refused.
pub async fn revoke(ctx: &Context, query: &TokenQuery, origin: &Origin) -> Result<(), OAuthError> {
    if is_refresh_token(&query.token) {
        return crate::delegation::tokens::revoke_refresh(ctx, &query.caller, &query.token, origin).await;
    }
    let Some(claims) = our_token(ctx, &query.token) else { return Ok(()) };
    let caller = &query.caller.client.client;
    if claims.client_id != caller.id.as_str() {
        return Err(OAuthError::UnauthorizedClient("the token was issued to another client".into()));
    }
    if let Err(seconds) = crate::revocations::within_limit(ctx, caller.id.as_str()).await {
        let headers = vec![("Retry-After", seconds.to_string())];
        return Err(OAuthError::RateLimited { reason: "too many revocations: retry later", headers });
    }
    let now = ctx.clock.unix();
    ctx.guard.revoke(&Revoked::token(&claims.jti, None, claims.exp, now), now).await.map_err(|e| {
        tracing::error!(error = %e, "revocation store unreachable");
        OAuthError::Unavailable
    })?;
    let event = AuditEvent::new(
        writ_core::Actor::Client(caller.id.clone()),
        caller.kind.org_id().cloned(),
        "token.revoked",
        Some(claims.jti.clone()),
    )
    .with_details(json!({ "by": "client", "exp": claims.exp }));
    ctx.audit.record(origin.stamp(event));
    Ok(())
}

/// RFC 7662: the claims of an active token the caller may see, or `None` (inactive, revoked,
/// expired, wrongly signed, malformed, or not the caller's business). When the revocation state
/// cannot be reached this fails closed (`temporarily_unavailable`), it never guesses.
pub async fn introspect(ctx: &Context, query: &TokenQuery) -> Result<Option<serde_json::Value>, OAuthError> {
    let caller = &query.caller.client.client;
    // Its own tokens; with `guard:introspect`, any of its org's (any at all for the operator's
    // service clients, which have no org).
    let may_see = |client_id: &str, oid: Option<&str>| {
        client_id == caller.id.as_str()
            || (may_introspect_others(&query.caller)
                && caller.kind.org_id().is_none_or(|org| oid == Some(org.as_str())))
    };
    if is_refresh_token(&query.token) {
        return crate::delegation::tokens::introspect_refresh(ctx, &query.token, |a| {
            may_see(a.client_id.as_str(), Some(a.org_id.as_str()))
        })
        .await;
    }
    let Some(claims) = our_token(ctx, &query.token) else { return Ok(None) };
    if !may_see(&claims.client_id, claims.oid.as_deref()) {
        return Ok(None);
    }
    let revoked =
        ctx.guard.is_revoked(&crate::revocations::facts(&claims), ctx.clock.unix()).await.map_err(|e| {
            tracing::error!(error = %e, "revocation store unreachable: introspection fails closed");
            OAuthError::Unavailable
        })?;
    if revoked {
        return Ok(None);
    }
    let mut members = serde_json::to_value(&claims).map_err(|_| OAuthError::Server)?;
    members["token_type"] = "Bearer".into();
    Ok(Some(members))
}

/// Whether a presented token is one of our refresh tokens (by its prefix; the lookup decides).
fn is_refresh_token(token: &str) -> bool {
    token.starts_with(writ_core::secret::Kind::RefreshToken.prefix())
}

/// Whether the caller's effective grants (entitlements applied) include `guard:introspect`.
fn may_introspect_others(caller: &Authenticated) -> bool {
    let (Ok(guard), Ok(scope)) = (ResourceUri::parse(GUARD_AUDIENCE), ScopeSet::parse(INTROSPECT_SCOPE))
    else {
        return false;
    };
    crate::authority::holds(&caller.client, &guard, &scope)
}
