//! Enterprise-managed authorization (the MCP extension; draft-ietf-oauth-identity-assertion-
//! authz-grant §4.4, docs/mcp.md): a client presents an ID-JAG — its org's IdP saying which person
//! it may act for, and for what — with the jwt-bearer grant, and gets that person's token with no
//! login or consent page: the org decided, through its IdP.
//!
//! The ID-JAG must come from a trusted issuer bound to an org (`id_jag` on the issuer), be signed
//! with its keys, say `typ: oauth-id-jag+jwt`, name Writ as its only audience and the
//! authenticated client as its `client_id`, live no longer than the issuer allows, and be used
//! once (`jti`). Its `sub` (the person's `external_id`) or `email`, as the binding says, names a
//! user of the org. Its `resource` and `scope`, when present, bound what the request may ask; the
//! token is still what the client, the org and the person hold. Every failure is `invalid_grant`
//! (its cause is logged), but a scope or resource asked beyond the ID-JAG.
//!
//! The exchange is recorded as the person's consent (given through the IdP; audited as the
//! client's doing) and an authorization that the token's `cred` names, so withdrawing the consent,
//! or disabling or deleting the person, ends the token as it ends any delegated token. No refresh
//! token: the client comes back with a new ID-JAG (§4.4.3).

use serde_json::Value;
use time::Duration;
use writ_core::federation::UserClaim;
use writ_core::{
    Actor, AuditEvent, AuthorizationId, Email, ExternalId, GrantError, ResourceUri, TokenRequest,
};
use writ_store::{Authorization, Authorizations, Orgs, StoreError, Tenant, Users};
use writ_token::AccessClaims;

use crate::context::Context;
use crate::origin::Origin;
use crate::token::client_auth::Authenticated;
use crate::token::grants::id_jag::IdJagGrant;
use crate::token::grants::jwt_bearer;
use crate::token::{OAuthError, OnBehalf, mint};

fn refused(why: &str) -> OAuthError {
    tracing::info!(reason = why, "refused an ID-JAG");
    OAuthError::InvalidGrant("the ID-JAG is not valid here".into())
}

fn server(e: StoreError) -> OAuthError {
    tracing::error!(error = %e, "an ID-JAG exchange failed in the store");
    OAuthError::Server
}

/// Trades the ID-JAG of `g` for the person's access token.
pub async fn exchange(
    ctx: &Context,
    auth: &Authenticated,
    g: &IdJagGrant,
    origin: &Origin,
) -> Result<(String, AccessClaims, Option<String>), OAuthError> {
    let client = &auth.client.client;
    let unverified =
        crate::token::client_auth::unverified_claims(&g.assertion).ok_or_else(|| refused("malformed"))?;
    let iss = unverified.get("iss").and_then(Value::as_str).unwrap_or_default();
    let issuer = ctx.trusted_issuer(iss).ok_or_else(|| refused("not a trusted issuer"))?;
    let binding = issuer.id_jag.as_ref().ok_or_else(|| refused("the issuer is not taken for ID-JAGs"))?;
    let typ = &writ_token::ID_JAG_TYP;
    crate::token::client_auth::federated::verify_by(ctx, &issuer, &g.assertion, typ)
        .await
        .map_err(|why| refused(&why))?;
    // The signature covers the bytes the claims were read from: they hold as read.
    let claims = &unverified;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
    let now = ctx.clock.unix();
    crate::token::client_auth::federated::check_lifetime(claims, &issuer, now).map_err(refused)?;
    // §4.4.1: `aud` is Writ's issuer (alone); `client_id` the client that authenticated.
    let audiences = crate::token::client_auth::audiences(claims.get("aud"));
    if audiences != [ctx.issuer.as_str()] {
        return Err(refused("aud is not this issuer alone"));
    }
    let named = text("client_id").ok_or_else(|| refused("no client_id"))?;
    let own_url = client.delegation.metadata_url.as_ref().map(|u| u.as_str());
    if named != client.id.as_str() && Some(named) != own_url {
        return Err(refused("issued for another client"));
    }
    let jti = text("jti").filter(|j| j.len() <= 256).ok_or_else(|| refused("no jti"))?;
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
    let replayed = |why: &str| refused(why);
    crate::token::client_auth::use_once(ctx, &format!("idjag:{}", issuer.id), jti, exp, replayed).await?;

    let conn = ctx.store.conn();
    let org = match Orgs::new(conn, &Tenant::Operator).get(&binding.org_id).await {
        Ok(org) => org,
        Err(StoreError::NotFound) => return Err(refused("the issuer's org is gone")),
        Err(e) => return Err(server(e)),
    };
    let users = Users::new(conn, &Tenant::Operator);
    let user = match binding.user_claim {
        UserClaim::Sub => {
            let sub =
                ExternalId::parse(text("sub").unwrap_or_default()).map_err(|_| refused("no usable sub"))?;
            users.by_external_id(&org.id, &sub).await
        }
        UserClaim::Email => {
            let email =
                Email::parse(text("email").unwrap_or_default()).map_err(|_| refused("no usable email"))?;
            users.by_email(&org.id, &email).await
        }
    };
    let user = match user {
        Ok(user) => user,
        Err(StoreError::NotFound) => return Err(refused("the person is not a user of the issuer's org")),
        Err(e) => return Err(server(e)),
    };
    let request = within_id_jag(&g.request, claims)?;
    let grant = writ_core::grant::delegated(client, &org, &user, &request).map_err(|e| match e {
        GrantError::Inactive(why) => refused(why),
        GrantError::NothingGranted => refused("nothing may be granted"),
        GrantError::InvalidScope(d) => OAuthError::InvalidScope(d),
        GrantError::InvalidTarget(d) => OAuthError::InvalidTarget(d),
    })?;

    // The org granted it through its IdP: the person's consent, and an authorization for `cred`.
    let now = ctx.clock.now();
    let txn = ctx.store.begin().await.map_err(server)?;
    let event = |id: &str| {
        let actor = Actor::Client(client.id.clone());
        origin
            .stamp(AuditEvent::new(actor, Some(org.id.clone()), "consent.granted", Some(id.to_owned())))
            .with_details(serde_json::json!({ "through": "id_jag", "issuer": issuer.issuer.as_str() }))
    };
    let consent_id = super::consent::extend(&txn, (&user.id, &org.id), &client.id, &grant, event, now)
        .await
        .map_err(server)?;
    let authorization = Authorization {
        id: AuthorizationId::generate(),
        consent_id,
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        org_id: org.id.clone(),
        scope: grant.scope.to_string(),
        resources: grant.audiences.iter().map(ToString::to_string).collect(),
        created_at: now,
        expires_at: now + Duration::seconds(i64::from(grant.ttl.seconds())),
    };
    Authorizations::new(&txn).create(&authorization).await.map_err(server)?;
    txn.commit().await.map_err(|e| server(e.into()))?;
    let on_behalf = OnBehalf { authorization: &authorization.id, grant_type: jwt_bearer::GRANT_TYPE };
    let (token, claims) = mint(ctx, auth, &grant, origin, Some(on_behalf))?;
    Ok((token, claims, None))
}

/// The request, within the ID-JAG's `resource` and `scope` (§4.4.1): what it names is the most the
/// request may ask; a request that names neither asks for all of it.
fn within_id_jag(request: &TokenRequest, claims: &Value) -> Result<TokenRequest, OAuthError> {
    let mut request = request.clone();
    let resources: Vec<ResourceUri> = match claims.get("resource") {
        None => Vec::new(),
        Some(Value::String(r)) => vec![ResourceUri::parse(r).map_err(|_| refused("malformed resource"))?],
        Some(Value::Array(list)) => list
            .iter()
            .map(|r| {
                r.as_str()
                    .and_then(|r| ResourceUri::parse(r).ok())
                    .ok_or_else(|| refused("malformed resource"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(refused("malformed resource")),
    };
    if !resources.is_empty() {
        if let Some(beyond) = request.resources.iter().find(|r| !resources.contains(r)) {
            return Err(OAuthError::InvalidTarget(format!("{beyond} is beyond the ID-JAG's resource")));
        }
        if request.resources.is_empty() {
            request.resources = resources;
        }
    }
    if let Some(scope) = claims.get("scope") {
        let allowed = scope
            .as_str()
            .and_then(|s| writ_core::ScopeSet::parse(s).ok())
            .ok_or_else(|| refused("malformed scope"))?;
        request.scope = match request.scope.take() {
            Some(asked) => {
                let beyond = asked.difference(&allowed);
                if !beyond.is_empty() {
                    return Err(OAuthError::InvalidScope(format!("{beyond} is beyond the ID-JAG's scope")));
                }
                Some(asked)
            }
            None => Some(allowed),
        };
    }
    Ok(request)
}
