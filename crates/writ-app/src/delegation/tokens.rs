//! A person's tokens at the token endpoint: the code exchange and the refresh. Unlike client
//! credentials, these write: a code works once, a refresh token is replaced on each use, and both
//! are checked against what is true now (the person usable, the consent standing, their grants).
//!
//! A code used twice, or a refresh token used after it was replaced, means someone else holds it:
//! the whole authorization it belongs to is revoked — its refresh tokens deleted, its access
//! tokens cut by a watermark on their `cred` (RFC 6749 §4.1.2, OAuth 2.1 §4.3.1).

use time::OffsetDateTime;
use writ_core::secret::{Kind, PlainSecret};
use writ_core::{AuthorizationId, ClientId, GrantError, ResourceUri, ScopeSet, TokenRequest};
use writ_guard_store::Watermark;
use writ_store::{
    Authorization, AuthorizationRequests, Authorizations, Consents, Orgs, RefreshTokens, StoreError, Tenant,
    Users,
};
use writ_token::AccessClaims;

use super::authorize::AuthorizationParams;
use crate::context::Context;
use crate::origin::Origin;
use crate::token::client_auth::Authenticated;
use crate::token::grants::authorization_code::{self, CodeGrant};
use crate::token::grants::device_code::{self, DeviceGrant};
use crate::token::grants::refresh_token::{self, RefreshGrant};
use crate::token::{OAuthError, OnBehalf, mint};

/// An access token, its claims, and a refresh token when the client may refresh.
type Minted = (String, AccessClaims, Option<String>);

fn invalid(description: &str) -> OAuthError {
    OAuthError::InvalidGrant(description.to_owned())
}

fn server(e: StoreError) -> OAuthError {
    tracing::error!(error = %e, "a delegated grant failed in the store");
    OAuthError::Server
}

/// Exchanges an authorization code (RFC 6749 §4.1.3) for the person's access token and, when the
/// client may refresh, a refresh token.
pub async fn exchange(
    ctx: &Context,
    auth: &Authenticated,
    g: &CodeGrant,
    origin: &Origin,
) -> Result<Minted, OAuthError> {
    let client = &auth.client.client;
    let code = PlainSecret::parse_as(&g.code, Kind::AuthorizationCode)
        .map_err(|_| invalid("the code is not one this server issued"))?;
    let hash = code.hash(&ctx.pepper);
    let requests = AuthorizationRequests::new(ctx.store.conn());
    let stored = match requests.by_code(&hash).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(invalid("the code is unknown or expired")),
        Err(e) => return Err(server(e)),
    };
    if stored.client_id != client.id {
        return Err(invalid("the code was issued to another client"));
    }
    if let Some(used) = &stored.authorization_id {
        revoke(ctx, &[(client.id.clone(), used.clone())]).await;
        return Err(invalid("the code was already used: the tokens issued for it are revoked"));
    }
    let now = ctx.clock.now();
    if stored.code_expires_at.is_none_or(|at| at <= now) {
        return Err(invalid("the code expired"));
    }
    let params: AuthorizationParams =
        serde_json::from_value(stored.params.clone()).map_err(|_| OAuthError::Server)?;
    match (&g.redirect_uri, params.redirect_uri_given) {
        (Some(given), _) if *given != params.redirect_uri => {
            return Err(invalid("redirect_uri differs from the authorization request's"));
        }
        (None, true) => return Err(OAuthError::InvalidRequest("missing parameter `redirect_uri`".into())),
        _ => {}
    }
    if !params.challenge().is_some_and(|c| c.verifies(&g.code_verifier)) {
        return Err(invalid("code_verifier does not match the code_challenge"));
    }
    let user_id = stored.user_id.clone().ok_or_else(|| invalid("the code is unknown or expired"))?;
    match authorize(ctx, auth, &stored.id, &user_id, &params, authorization_code::GRANT_TYPE, origin).await {
        Err(Redeemed) => {
            // Another exchange of the same code won the race: both go.
            if let Ok(again) = requests.by_code(&hash).await
                && let Some(other) = again.authorization_id
            {
                revoke(ctx, &[(client.id.clone(), other)]).await;
            }
            Err(invalid("the code was already used: the tokens issued for it are revoked"))
        }
        Ok(minted) => minted,
    }
}

/// A request was redeemed by another exchange first.
struct Redeemed;

/// The answered request `request` becomes an authorization of `user_id`: decided again as of now
/// (the person usable, the consent standing), stored with its first refresh token, and its access
/// token minted. `Err(Redeemed)` when another exchange of the same request got there first.
async fn authorize(
    ctx: &Context,
    auth: &Authenticated,
    request: &writ_core::RequestId,
    user_id: &writ_core::UserId,
    params: &AuthorizationParams,
    grant_type: &'static str,
    origin: &Origin,
) -> Result<Result<Minted, OAuthError>, Redeemed> {
    let client = &auth.client.client;
    let (grant, consent_id) = match decide_for(ctx, auth, user_id, &params.token_request(), None).await {
        Ok(decided) => decided,
        Err(e) => return Ok(Err(e)),
    };
    let now = ctx.clock.now();
    let Some(org_id) = grant.org_id.clone() else { return Ok(Err(OAuthError::Server)) };
    let authorization = Authorization {
        id: AuthorizationId::generate(),
        consent_id,
        user_id: user_id.clone(),
        client_id: client.id.clone(),
        org_id,
        scope: grant.scope.to_string(),
        resources: grant.audiences.iter().map(ToString::to_string).collect(),
        created_at: now,
        expires_at: now + time::Duration::seconds(i64::from(client.delegation.refresh.absolute)),
    };
    let stored = async {
        let txn = ctx.store.begin().await.map_err(server)?;
        match AuthorizationRequests::new(&txn).redeem(request, &authorization.id).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(server(e)),
        }
        Authorizations::new(&txn).create(&authorization).await.map_err(server)?;
        let refresh = new_refresh_token(ctx, &txn, auth, &authorization, now).await?;
        txn.commit().await.map_err(|e| server(e.into()))?;
        Ok(Some(refresh))
    };
    let refresh = match stored.await {
        Ok(Some(refresh)) => refresh,
        Ok(None) => return Err(Redeemed),
        Err(e) => return Ok(Err(e)),
    };
    let on_behalf = OnBehalf { authorization: &authorization.id, grant_type };
    Ok(mint(ctx, auth, &grant, origin, Some(on_behalf)).map(|(token, claims)| (token, claims, refresh)))
}

/// Polls a device authorization (RFC 8628 §3.4): `authorization_pending` until the person
/// answers (`slow_down` when polled again within the interval), then `access_denied` or the
/// person's tokens; `expired_token` once it expired. A device code gives tokens once.
pub async fn poll(
    ctx: &Context,
    auth: &Authenticated,
    g: &DeviceGrant,
    origin: &Origin,
) -> Result<Minted, OAuthError> {
    let client = &auth.client.client;
    let code = PlainSecret::parse_as(&g.device_code, Kind::DeviceCode)
        .map_err(|_| invalid("the device code is not one this server issued"))?;
    let requests = AuthorizationRequests::new(ctx.store.conn());
    let (stored, state) = match requests.by_device_code(&code.hash(&ctx.pepper)).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(invalid("the device code is unknown")),
        Err(e) => return Err(server(e)),
    };
    if stored.client_id != client.id {
        return Err(invalid("the device code was issued to another client"));
    }
    if stored.authorization_id.is_some() {
        return Err(invalid("the device code was already used"));
    }
    let now = ctx.clock.now();
    if stored.expires_at <= now {
        return Err(OAuthError::ExpiredToken);
    }
    if state.denied {
        return Err(OAuthError::AccessDenied);
    }
    let Some(user_id) = stored.user_id.clone() else {
        let interval = time::Duration::seconds(super::device::INTERVAL);
        let too_soon = state.last_polled_at.is_some_and(|at| now - at < interval);
        requests.polled(&stored.id, now).await.map_err(server)?;
        return Err(if too_soon { OAuthError::SlowDown } else { OAuthError::AuthorizationPending });
    };
    let params: AuthorizationParams =
        serde_json::from_value(stored.params.clone()).map_err(|_| OAuthError::Server)?;
    match authorize(ctx, auth, &stored.id, &user_id, &params, device_code::GRANT_TYPE, origin).await {
        Ok(minted) => minted,
        Err(Redeemed) => Err(invalid("the device code was already used")),
    }
}

/// Trades a refresh token (RFC 6749 §6) for a new access token and a new refresh token.
pub async fn refresh(
    ctx: &Context,
    auth: &Authenticated,
    g: &RefreshGrant,
    origin: &Origin,
) -> Result<Minted, OAuthError> {
    let client = &auth.client.client;
    let token = PlainSecret::parse_as(&g.refresh_token, Kind::RefreshToken)
        .map_err(|_| invalid("the refresh token is not one this server issued"))?;
    let hash = token.hash(&ctx.pepper);
    let conn = ctx.store.conn();
    let stored = match RefreshTokens::new(conn).find(&hash).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => return Err(invalid("the refresh token is unknown, revoked or expired")),
        Err(e) => return Err(server(e)),
    };
    let authorization = match Authorizations::new(conn).get(&stored.authorization_id).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => return Err(invalid("the refresh token is unknown, revoked or expired")),
        Err(e) => return Err(server(e)),
    };
    if authorization.client_id != client.id {
        return Err(invalid("the refresh token was issued to another client"));
    }
    if stored.used_at.is_some() {
        revoke(ctx, &[(client.id.clone(), authorization.id.clone())]).await;
        return Err(invalid(
            "the refresh token was already used: every token of its authorization is revoked",
        ));
    }
    let now = ctx.clock.now();
    if stored.expires_at <= now || authorization.expires_at <= now {
        return Err(invalid("the refresh token expired"));
    }
    let allowed = ScopeSet::parse(&authorization.scope).map_err(|_| OAuthError::Server)?;
    let asked = g.scope.clone().unwrap_or_else(|| allowed.clone());
    let beyond = asked.difference(&allowed);
    if !beyond.is_empty() {
        return Err(OAuthError::InvalidScope(format!("beyond what the person allowed: {beyond}")));
    }
    let resources = authorization.resources.iter().filter_map(|r| ResourceUri::parse(r).ok()).collect();
    // What the person may grant now, within what they allowed then: a shrunk grant shrinks the
    // refreshed token; a grown one does not grow it (RFC 6749 §6: the scope originally granted);
    // nothing left ends the authorization's use.
    let req = TokenRequest { scope: None, resources };
    let (grant, _) = decide_for(ctx, auth, &authorization.user_id, &req, Some(&asked)).await?;
    let txn = ctx.store.begin().await.map_err(server)?;
    match RefreshTokens::new(&txn).use_once(&hash, now).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => {
            drop(txn);
            revoke(ctx, &[(client.id.clone(), authorization.id.clone())]).await;
            return Err(invalid(
                "the refresh token was already used: every token of its authorization is revoked",
            ));
        }
        Err(e) => return Err(server(e)),
    }
    let refresh = new_refresh_token(ctx, &txn, auth, &authorization, now).await?;
    txn.commit().await.map_err(|e| server(e.into()))?;
    let on_behalf = OnBehalf { authorization: &authorization.id, grant_type: refresh_token::GRANT_TYPE };
    let (token, claims) = mint(ctx, auth, &grant, origin, Some(on_behalf))?;
    Ok((token, claims, refresh))
}

/// What the client may receive for the person now (within `narrow`, when given), and their
/// consent — which must cover it.
async fn decide_for(
    ctx: &Context,
    auth: &Authenticated,
    user_id: &writ_core::UserId,
    req: &TokenRequest,
    narrow: Option<&ScopeSet>,
) -> Result<(writ_core::Grant, writ_core::ConsentId), OAuthError> {
    let gone = || invalid("the person can no longer be acted for");
    let conn = ctx.store.conn();
    let client = &auth.client.client;
    let user = match Users::new(conn, &Tenant::Operator).get(user_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(gone()),
        Err(e) => return Err(server(e)),
    };
    // The client's own org, cached with it (and dropped from the cache when it changes), is
    // usually the person's; another org (a service client's person) is read.
    let read;
    let org = match auth.client.org.as_ref().filter(|o| o.id == user.org_id) {
        Some(org) => org,
        None => {
            read = Orgs::new(conn, &Tenant::Operator).get(&user.org_id).await.map_err(server)?;
            &read
        }
    };
    let consent = Consents::new(conn, &Tenant::Operator).of(user_id, &client.id).await.map_err(server)?;
    let consent = consent.ok_or_else(|| invalid("the person withdrew their consent"))?;
    let mut grant = writ_core::grant::delegated(client, org, &user, req).map_err(|e| match e {
        GrantError::Inactive(why) => {
            tracing::info!(reason = why, "refused a delegated grant");
            gone()
        }
        GrantError::NothingGranted => invalid("the person may no longer grant anything to this client"),
        GrantError::InvalidScope(d) | GrantError::InvalidTarget(d) => invalid(&d),
    })?;
    if let Some(narrow) = narrow {
        grant.scope = grant.scope.intersection(narrow);
        if grant.scope.is_empty() {
            return Err(invalid("the person may no longer grant any of these scopes"));
        }
    }
    let within = grant
        .audiences
        .iter()
        .all(|a| consent.grants.scopes(a).is_some_and(|s| grant.scope.difference(s).is_empty()));
    if !within {
        return Err(invalid("beyond what the person consented to"));
    }
    Ok((grant, consent.id))
}

/// A new refresh token of `authorization`, when the client may refresh: it works until it is
/// used, idle for the client's idle lifetime, and never past the authorization's end.
async fn new_refresh_token(
    ctx: &Context,
    txn: &writ_store::DatabaseTransaction,
    auth: &Authenticated,
    authorization: &Authorization,
    now: OffsetDateTime,
) -> Result<Option<String>, OAuthError> {
    let client = &auth.client.client;
    if !client.delegation.grant_types.allows(writ_core::GrantKind::RefreshToken) {
        return Ok(None);
    }
    let token = PlainSecret::generate_as(Kind::RefreshToken).map_err(|_| OAuthError::Server)?;
    let idle = now + time::Duration::seconds(i64::from(client.delegation.refresh.idle));
    let expires_at = idle.min(authorization.expires_at);
    RefreshTokens::new(txn)
        .create(&token.hash(&ctx.pepper), &authorization.id, now, expires_at)
        .await
        .map_err(server)?;
    Ok(Some(token.expose().to_owned()))
}

/// Revokes authorizations: their access tokens by a watermark on `cred`, their refresh tokens by
/// deleting them. Best effort when called on a refusal (the refusal stands either way); failures
/// are logged.
pub async fn revoke(ctx: &Context, authorizations: &[(ClientId, AuthorizationId)]) {
    for (client, id) in authorizations {
        let watermark = Watermark::Credential { client: client.as_str(), id: id.as_str() };
        if let Err(e) = crate::revocations::revoke_before(ctx, watermark).await {
            tracing::error!(error = %e.detail, authorization = %id, "could not revoke an authorization's access tokens");
        }
        if let Err(e) = Authorizations::new(ctx.store.conn()).delete(id).await {
            tracing::error!(error = %e, authorization = %id, "could not delete an authorization");
        }
        tracing::warn!(authorization = %id, client = %client, "revoked an authorization");
    }
}

/// RFC 7009 for a refresh token: the client that holds it revokes its whole authorization (the
/// access tokens it minted too, as RFC 7009 §2.1 advises). An unknown, expired or malformed
/// token needs nothing; another client's is refused.
pub async fn revoke_refresh(
    ctx: &Context,
    caller: &Authenticated,
    token: &str,
    origin: &Origin,
) -> Result<(), OAuthError> {
    let Some((_, authorization)) = find_refresh(ctx, token).await? else { return Ok(()) };
    let client = &caller.client.client;
    if authorization.client_id != client.id {
        return Err(OAuthError::UnauthorizedClient("the token was issued to another client".into()));
    }
    if let Err(seconds) = crate::revocations::within_limit(ctx, client.id.as_str()).await {
        let headers = vec![("Retry-After", seconds.to_string())];
        return Err(OAuthError::RateLimited { reason: "too many revocations: retry later", headers });
    }
    revoke(ctx, &[(client.id.clone(), authorization.id.clone())]).await;
    let event = writ_core::AuditEvent::new(
        writ_core::Actor::Client(client.id.clone()),
        Some(authorization.org_id.clone()),
        "token.revoked",
        Some(authorization.id.to_string()),
    )
    .with_details(serde_json::json!({ "by": "client", "token_type": "refresh_token", "user_id": authorization.user_id.as_str() }));
    ctx.audit.record(origin.stamp(event));
    Ok(())
}

/// RFC 7662 for a refresh token: its members when it is active (unused, unexpired, its
/// authorization standing) and `may_see` allows the caller to know about its authorization.
pub async fn introspect_refresh(
    ctx: &Context,
    token: &str,
    may_see: impl FnOnce(&Authorization) -> bool,
) -> Result<Option<serde_json::Value>, OAuthError> {
    let Some((stored, authorization)) = find_refresh(ctx, token).await? else { return Ok(None) };
    let now = ctx.clock.now();
    let active = stored.used_at.is_none() && stored.expires_at > now && authorization.expires_at > now;
    if !active || !may_see(&authorization) {
        return Ok(None);
    }
    let aud = match authorization.resources.as_slice() {
        [one] => serde_json::Value::from(one.as_str()),
        many => serde_json::Value::from(many.to_vec()),
    };
    Ok(Some(serde_json::json!({
        "token_type": "refresh_token",
        "iss": ctx.issuer,
        "client_id": authorization.client_id.as_str(),
        "sub": authorization.user_id.as_str(),
        "uid": authorization.user_id.as_str(),
        "oid": authorization.org_id.as_str(),
        "aud": aud,
        "scope": authorization.scope,
        "exp": stored.expires_at.min(authorization.expires_at).unix_timestamp(),
        "cred": authorization.id.as_str(),
    })))
}

/// A refresh token of ours and its authorization, if both exist.
async fn find_refresh(
    ctx: &Context,
    token: &str,
) -> Result<Option<(writ_store::StoredRefreshToken, Authorization)>, OAuthError> {
    let Ok(token) = PlainSecret::parse_as(token, Kind::RefreshToken) else { return Ok(None) };
    let conn = ctx.store.conn();
    let stored = match RefreshTokens::new(conn).find(&token.hash(&ctx.pepper)).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(server(e)),
    };
    match Authorizations::new(conn).get(&stored.authorization_id).await {
        Ok(a) => Ok(Some((stored, a))),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(server(e)),
    }
}
