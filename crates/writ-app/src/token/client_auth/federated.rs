//! Workload identity federation (docs/clients.md): a workload authenticates with the token its
//! platform gave it — a Kubernetes service-account token, a GitHub Actions OIDC token, a SPIFFE
//! JWT-SVID — sent as `client_assertion` (with `client_id`) or as the jwt-bearer grant's
//! `assertion`. Writ checks, in order: the client may use `federated` and has credentials for the
//! token's issuer (a trusted issuer, `iss` compared exactly); the signature, by that issuer's keys;
//! `exp`, `nbf`, `iat` and the issuer's maximum lifetime; then exactly one of the client's
//! credentials must match the subject, the claims and the audience (Writ's issuer or token
//! endpoint, or the credential's own audience); last, for single-use issuers, the `jti`.

use serde_json::Value;
use writ_core::AuthMethod;
use writ_core::federation::TrustedIssuer;

use super::assertion::{audiences, check_times, names_us, unverified_claims};
use super::{Authenticated, ClientAuth, Federation};
use crate::context::Context;
use crate::token::{OAuthError, Params};

/// A platform token as sent, for the client it claims to stand for (nothing checked yet).
pub struct FederatedAssertion {
    pub client_id: String,
    jwt: String,
    /// Its claims, read (not verified) once.
    claims: Value,
}

impl std::fmt::Debug for FederatedAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederatedAssertion").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// A `client_assertion` (with its unverified `claims`) whose issuer is not the client:
/// `client_id` says which client it is for.
pub fn parse(params: &Params, jwt: String, claims: Value) -> Result<ClientAuth, OAuthError> {
    let client_id = params.client_id.clone().ok_or_else(|| {
        OAuthError::InvalidRequest("`client_id` is required with a token from another issuer".into())
    })?;
    Ok(ClientAuth::Federated(FederatedAssertion { client_id, jwt, claims }))
}

/// The jwt-bearer grant (RFC 7523 §2.1): the `assertion` authenticates the client — a trusted
/// issuer's token for `client_id`, or the client's own assertion (`iss` = `sub`, signed with its
/// key, as `private_key_jwt`); no other client credentials may come with it.
pub fn from_grant(authorization: Option<&str>, params: &Params) -> Result<ClientAuth, OAuthError> {
    if authorization.is_some() || params.client_secret.is_some() || params.client_assertion.is_some() {
        return Err(OAuthError::InvalidRequest(
            "the jwt-bearer grant's assertion authenticates the client: send no other credentials".into(),
        ));
    }
    let jwt = params
        .assertion
        .clone()
        .ok_or_else(|| OAuthError::InvalidRequest("missing parameter `assertion`".into()))?;
    let claims = unverified_claims(&jwt).ok_or(OAuthError::InvalidClient { challenge: None })?;
    super::private_key_jwt::from_jwt(params, jwt, claims)
}

/// Checks the token. Every failure is `invalid_client` (its cause is logged); a replay store that
/// cannot be reached is `temporarily_unavailable`.
pub async fn authenticate(
    ctx: &Context,
    assertion: &FederatedAssertion,
    before_load: impl std::future::Future<Output = Result<(), OAuthError>>,
) -> Result<Authenticated, OAuthError> {
    let fail = |why: &str| {
        tracing::info!(reason = why, "refused a federated token");
        OAuthError::InvalidClient { challenge: None }
    };
    let loaded =
        super::client_for(ctx, &assertion.client_id, AuthMethod::Federated, before_load, fail).await?;
    let iss = assertion.claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    let Some(issuer) = ctx.trusted_issuer(iss) else { return Err(fail("not a trusted issuer")) };
    if !loaded.federated.iter().any(|f| f.issuer_id == issuer.id) {
        return Err(fail("the client has no credential for this issuer"));
    }
    let jws = verify_by(ctx, &issuer, &assertion.jwt, &writ_token::ASSERTION_TYP)
        .await
        .map_err(|why| fail(&why))?;
    // The signature covers the bytes the claims were read from: they hold as read.
    let claims = &assertion.claims;
    let now = ctx.clock.unix();
    check_lifetime(claims, &issuer, now).map_err(fail)?;
    let audiences = audiences(claims.get("aud"));
    let ours = names_us(ctx, &audiences);
    let mut matching = loaded.federated.iter().filter(|f| {
        f.issuer_id == issuer.id
            && f.matches(claims)
            && (ours || f.audience.as_ref().is_some_and(|a| audiences.contains(&a.as_str())))
    });
    let credential = match (matching.next(), matching.next()) {
        (Some(one), None) => one.clone(),
        (None, _) => return Err(fail("no federated credential matches the subject, claims and audience")),
        (Some(_), Some(_)) => return Err(fail("several federated credentials match: make them narrower")),
    };
    let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();
    if issuer.single_use {
        let jti = claims.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty() && j.len() <= 256);
        let Some(jti) = jti else { return Err(fail("a single-use issuer's token needs a jti")) };
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
        super::use_once(ctx, &format!("fed:{}", issuer.id), jti, exp, fail).await?;
    }
    Ok(Authenticated {
        client: loaded,
        secret_id: None,
        method: AuthMethod::Federated,
        key_id: jws.header.kid,
        federation: Some(Federation {
            issuer: issuer.issuer.to_string(),
            subject,
            credential: credential.id,
        }),
    })
}

/// `jwt` (its header's `typ` fitting `typ`) verified with `issuer`'s keys (registered, or found
/// through its discovery document).
pub(crate) async fn verify_by(
    ctx: &Context,
    issuer: &TrustedIssuer,
    jwt: &str,
    typ: &writ_token::Typ,
) -> Result<writ_token::Jws, String> {
    let owner = issuer.id.as_str();
    match &issuer.keys {
        Some(keys) => ctx.client_keys.verify(ctx, owner, keys, jwt, typ).await,
        None => {
            let url = discovered_jwks_uri(ctx, issuer).await?;
            ctx.client_keys.verify_at(ctx, owner, &url, jwt, typ).await
        }
    }
}

/// `exp` present and not past, `nbf` and `iat` not in the future, and no longer-lived than the
/// issuer allows (`exp - iat`, or `exp - now` without `iat`).
pub(crate) fn check_lifetime(claims: &Value, issuer: &TrustedIssuer, now: i64) -> Result<(), &'static str> {
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    let Some(exp) = time("exp") else { return Err("no exp") };
    check_times(exp, time("iat"), time("nbf"), now)?;
    if exp - time("iat").unwrap_or(now) > i64::from(issuer.max_token_lifetime) + writ_token::LEEWAY_SECONDS {
        return Err("lives longer than the issuer's maximum token lifetime");
    }
    Ok(())
}

/// The `jwks_uri` of the issuer's OpenID discovery document, which must name the issuer exactly.
async fn discovered_jwks_uri(ctx: &Context, issuer: &TrustedIssuer) -> Result<String, String> {
    let url = format!("{}/.well-known/openid-configuration", issuer.issuer.as_str().trim_end_matches('/'));
    let doc = ctx.fetcher.json(&url).await.map_err(|e| format!("discovery: {e}"))?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer.issuer.as_str()) {
        return Err("discovery: the document names another issuer".into());
    }
    let jwks_uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or("discovery: no jwks_uri")?;
    writ_core::FetchUrl::parse(jwks_uri)
        .map(|u| u.to_string())
        .map_err(|e| format!("discovery: jwks_uri: {e}"))
}
