//! The token endpoint as an engine (RFC 6749 §3.2): a request is parsed once into a typed client
//! authentication and a typed grant, each from a module of its own (`client_auth/`, `grants/`);
//! [`issue`] authenticates the client, applies the rate limits (`throttle.rs`), lets the grant
//! decide what the client may receive, and mints an RFC 9068 access token. Nothing here writes to
//! the database or runs a slow hash: the audit record and the secret's use time go to the batched
//! writer.

pub mod client_auth;
mod error;
pub mod grants;
pub mod introspection;
mod params;
mod throttle;

pub use client_auth::{Authenticated, ClientAuth};
pub use error::OAuthError;
pub use grants::{Grant, GrantType};
pub use params::{MAX_BODY, Params};
pub use throttle::Plan;

use serde_json::json;
use writ_core::{Actor, AuditEvent};
use writ_token::{AccessClaims, Audience, TOKEN_TYPE};

use crate::context::Context;
use crate::origin::Origin;

/// The paths of the endpoints where clients authenticate; a client assertion's `aud` may name
/// any of them, or the issuer.
pub const ENDPOINTS: &[&str] = &["/oauth/token", "/oauth/revoke", "/oauth/introspect"];

/// A token request, parsed: how the client authenticates, and what it asks for.
#[derive(Debug)]
pub struct TokenRequest {
    pub client: ClientAuth,
    pub grant: Grant,
}

impl TokenRequest {
    /// Parses a request body (`content_type` says how it is encoded) and its `Authorization`
    /// header. The grant type is checked first, then the client authentication, then the grant's
    /// own parameters, so a request that fails several ways fails the same way every time.
    pub fn parse(content_type: &str, authorization: Option<&str>, body: &[u8]) -> Result<Self, OAuthError> {
        let params = Params::parse(content_type, body)?;
        let grant_type = GrantType::parse(&params)?;
        // An ID-JAG is a grant, not the client's credential: the client authenticates as usual.
        let id_jag = grant_type == GrantType::JwtBearer && grants::id_jag::is_id_jag(&params);
        let client = match grant_type {
            GrantType::JwtBearer if !id_jag => client_auth::federated::from_grant(authorization, &params)?,
            _ => ClientAuth::parse(authorization, &params)?,
        };
        tracing::Span::current().record("client_id", client.client_id());
        let grant = match id_jag {
            true => Grant::IdJag(grants::id_jag::parse(&params)?),
            false => Grant::parse(grant_type, &params)?,
        };
        Ok(Self { client, grant })
    }
}

/// An issued access token and what its answer says about it.
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
    /// A person's refresh token (delegated grants, when the client may refresh).
    pub refresh_token: Option<String>,
    /// The `RateLimit` header fields of the answer.
    pub rate_limits: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Issues a token for `request`, or says why not (RFC 6749 §5.2).
pub async fn issue(ctx: &Context, request: TokenRequest, origin: &Origin) -> Result<Issued, OAuthError> {
    let plan = Plan::new(ctx, origin, request.client.client_id());
    let auth = plan.authenticate(&request.client).await?;
    let rate_limits = plan.admit(&auth).await?;
    if let Some(org) = auth.client.client.kind.org_id() {
        tracing::Span::current().record("org_id", org.as_str());
    }
    let kind = request.grant.grant_type().kind();
    let public = auth.method == writ_core::AuthMethod::None;
    if !auth.client.client.delegation.grant_types.allows(kind) || (public && !kind.is_delegated()) {
        return Err(OAuthError::UnauthorizedClient(format!(
            "the client may not use the {} grant",
            kind.as_str()
        )));
    }
    let refused_client = |e| match e {
        OAuthError::InvalidClient { .. } => {
            OAuthError::InvalidClient { challenge: request.client.challenge() }
        }
        e => e,
    };
    let (access_token, claims, refresh_token) = match &request.grant {
        Grant::ClientCredentials(g) | Grant::JwtBearer(g) => {
            let grant = g.decide(&auth).map_err(refused_client)?;
            let (token, claims) = mint(ctx, &auth, &grant, origin, None)?;
            (token, claims, None)
        }
        Grant::IdJag(g) => crate::delegation::id_jag::exchange(ctx, &auth, g, origin).await?,
        Grant::AuthorizationCode(g) => crate::delegation::tokens::exchange(ctx, &auth, g, origin).await?,
        Grant::RefreshToken(g) => crate::delegation::tokens::refresh(ctx, &auth, g, origin).await?,
        Grant::DeviceCode(g) => crate::delegation::tokens::poll(ctx, &auth, g, origin).await?,
    };
    Ok(Issued {
        access_token,
        expires_in: claims.exp - claims.iat,
        scope: claims.scope,
        refresh_token,
        rate_limits,
    })
}

/// Reads a request to an endpoint where clients authenticate besides the token endpoint (PAR,
/// device authorization, revocation, introspection) and authenticates its client as the token
/// endpoint does, under the same failed-authentication limits.
pub async fn authenticate_request(
    ctx: &Context,
    origin: &Origin,
    content_type: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<(Params, Authenticated), OAuthError> {
    let params = Params::parse(content_type, body)?;
    let client = ClientAuth::parse(authorization, &params)?;
    let plan = Plan::new(ctx, origin, client.client_id());
    let caller = plan.authenticate(&client).await?;
    plan.unlocked().await?;
    Ok((params, caller))
}

/// Whom a person's token is for: the authorization it belongs to, which its `cred` names (so
/// revoking the authorization revokes it), and the grant that minted it (audited).
#[derive(Debug, Clone, Copy)]
pub struct OnBehalf<'a> {
    pub authorization: &'a writ_core::AuthorizationId,
    pub grant_type: &'static str,
}

/// Signs the access token of `grant` for `auth`'s client — or, `on_behalf` of a person, for the
/// person (`sub` is the user) — and records it (audit, metrics).
pub(crate) fn mint(
    ctx: &Context,
    auth: &Authenticated,
    grant: &writ_core::Grant,
    origin: &Origin,
    on_behalf: Option<OnBehalf<'_>>,
) -> Result<(String, AccessClaims), OAuthError> {
    let client = &auth.client.client;
    let now = ctx.clock.unix();
    let sub = match (&on_behalf, &grant.user_id) {
        (Some(_), Some(user)) => user.to_string(),
        _ => client.id.to_string(),
    };
    let cred = match &on_behalf {
        Some(b) => Some(b.authorization.to_string()),
        None => auth.credential().map(str::to_owned),
    };
    let claims = AccessClaims {
        iss: ctx.issuer.clone(),
        sub,
        client_id: client.id.to_string(),
        aud: Audience::from_list(grant.audiences.iter().map(ToString::to_string).collect()),
        scope: grant.scope.to_string(),
        iat: now,
        nbf: now,
        exp: now + i64::from(grant.ttl.seconds()),
        jti: writ_core::id::new_token_id(),
        oid: grant.org_id.as_ref().map(ToString::to_string),
        uid: grant.user_id.as_ref().map(ToString::to_string),
        cred,
    };
    let alg = ctx.signing_alg_for(grant.audiences.iter().map(|a| a.as_str())).ok_or_else(|| {
        OAuthError::InvalidTarget(
            "these resources require different signing algorithms: ask for one at a time".into(),
        )
    })?;
    let keys = ctx.keys();
    let (token, kid) = keys.sign(alg, TOKEN_TYPE, &claims).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError::Server
    })?;
    tracing::debug!(kid = %kid, jti = %claims.jti, scope = %claims.scope, "issued a token");
    let mut event = AuditEvent::new(
        Actor::Client(client.id.clone()),
        grant.org_id.clone(),
        "token.issued",
        Some(claims.jti.clone()),
    )
    .with_details(json!({
        "auth_method": auth.method.as_str(),
        "secret_id": auth.secret_id.as_ref().map(|s| s.as_str()),
        "kid": kid.as_str(),
        "jti": claims.jti,
        "scope": claims.scope,
        "aud": claims.aud,
        "exp": claims.exp,
    }));
    // What only assertions have, only when there is one: every token's record stays as small.
    if let Some(key) = &auth.key_id {
        event.details["client_key_id"] = key.as_str().into();
    }
    if let Some(b) = &on_behalf {
        event.details["grant_type"] = b.grant_type.into();
        event.details["authorization_id"] = b.authorization.as_str().into();
        event.details["sub"] = claims.sub.clone().into();
    }
    if let Some(f) = &auth.federation {
        event.details["federated_credential_id"] = f.credential.as_str().into();
        event.details["external_issuer"] = f.issuer.as_str().into();
        event.details["external_subject"] = f.subject.as_str().into();
    }
    let event = origin.stamp(event);
    match &auth.secret_id {
        Some(secret_id) => ctx.audit.record_secret_use(event, secret_id.clone()),
        None => ctx.audit.record(event),
    }
    ctx.metrics.token_issued(claims.oid.as_deref());
    Ok((token, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(authorization: Option<&str>, body: &str) -> Result<TokenRequest, OAuthError> {
        TokenRequest::parse("application/x-www-form-urlencoded", authorization, body.as_bytes())
    }

    #[test]
    fn a_request_fails_the_same_way_every_time_grant_type_then_client_then_grant() {
        let bad_scope = "scope=a%20%20b";
        let missing = OAuthError::InvalidRequest("missing parameter `grant_type`".into());
        assert_eq!(parse(None, bad_scope).unwrap_err(), missing);
        let unknown = format!("grant_type=password&{bad_scope}");
        assert_eq!(parse(None, &unknown).unwrap_err(), OAuthError::UnsupportedGrantType);
        let anonymous = format!("grant_type=client_credentials&{bad_scope}");
        assert_eq!(parse(None, &anonymous).unwrap_err(), OAuthError::invalid_client_basic());
        let post = format!("grant_type=client_credentials&client_id=cli_a&client_secret=s&{bad_scope}");
        assert!(matches!(parse(None, &post).unwrap_err(), OAuthError::InvalidScope(_)));
    }

    #[test]
    fn a_well_formed_request_becomes_its_typed_grant_and_method() {
        let body = "grant_type=client_credentials&client_id=cli_a&client_secret=s&resource=https%3A%2F%2Fapi.example.com\
                    &audience=https%3A%2F%2Fother.example.com&scope=read+write";
        let request = parse(None, body).unwrap();
        assert_eq!((request.client.method(), request.client.client_id()), ("client_secret_post", "cli_a"));
        assert!(
            request.client.challenge().is_none(),
            "a client that did not use Basic gets no Basic challenge"
        );
        let Grant::ClientCredentials(g) = &request.grant else { panic!("not client credentials") };
        assert_eq!(g.request.resources.len(), 2, "resource and audience together");
        assert_eq!(g.request.scope.as_ref().map(ToString::to_string).as_deref(), Some("read write"));
        let bad_target = "grant_type=client_credentials&client_id=cli_a&client_secret=s&resource=relative";
        assert!(matches!(parse(None, bad_target).unwrap_err(), OAuthError::InvalidTarget(_)));
    }
}
