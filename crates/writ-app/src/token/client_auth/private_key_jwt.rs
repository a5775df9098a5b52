//! `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2): the client signs a short-lived JWT with a key
//! whose public half it registered (`jwks`) or publishes (`jwks_uri`), and sends it as
//! `client_assertion`. Writ checks, in order: the signature, by the key the `kid` names (or each
//! key of the header's algorithm) — the key decides the algorithm; `iss` = `sub` = the client id;
//! `aud` names this issuer or one of its endpoints; `exp` is not past and at most
//! [`MAX_LIFETIME`] ahead, `iat` and `nbf` not in the future; and, last, that its `jti` was never
//! used before (the guard store keeps it until `exp`). The keys are found and cached by
//! `assertion.rs`.

use serde::Deserialize;
use writ_core::AuthMethod;

use super::assertion::{audiences, check_times, names_us, unverified_claims};
use super::{Authenticated, ClientAuth};
use crate::context::Context;
use crate::token::{OAuthError, Params};

pub const METHOD: &str = "private_key_jwt";
/// RFC 7523 §2.2's `client_assertion_type`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How far ahead an assertion's `exp` may be: it proves possession now, not for the day.
pub const MAX_LIFETIME: i64 = 300;
/// The longest `jti` kept (it is a key in the replay store).
const MAX_JTI: usize = 256;

/// An assertion as sent, and the client id it names (nothing is checked yet).
pub struct Assertion {
    pub client_id: String,
    jwt: String,
}

impl std::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertion").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// The claims an assertion must carry. `aud` is a string or an array.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: i64,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: String,
}

/// Reads a `client_assertion`, which must come alone: no Authorization header, no secret. An
/// assertion whose `iss` is its `sub` is the client's own (`private_key_jwt`): the client id is the
/// `sub`, and a `client_id` parameter, if sent, must be the same. Any other is a token from a
/// trusted issuer (`federated.rs`).
pub fn parse(authorization: Option<&str>, params: &Params) -> Result<ClientAuth, OAuthError> {
    if authorization.is_some() || params.client_secret.is_some() {
        return Err(OAuthError::InvalidRequest("more than one client authentication method".into()));
    }
    match params.client_assertion_type.as_deref() {
        Some(ASSERTION_TYPE) => {}
        Some(other) => {
            return Err(OAuthError::InvalidRequest(format!("unsupported client_assertion_type `{other}`")));
        }
        None => return Err(OAuthError::InvalidRequest("missing parameter `client_assertion_type`".into())),
    }
    let jwt = params
        .client_assertion
        .clone()
        .ok_or_else(|| OAuthError::InvalidRequest("missing parameter `client_assertion`".into()))?;
    let claims = unverified_claims(&jwt).ok_or(OAuthError::InvalidClient { challenge: None })?;
    from_jwt(params, jwt, claims)
}

/// An assertion, as `client_assertion` or as the jwt-bearer grant's `assertion` (the shape the
/// MCP client-credentials extension also allows): the client's own when its `iss` is its `sub`,
/// else a trusted issuer's token (`federated.rs`).
pub(super) fn from_jwt(
    params: &Params,
    jwt: String,
    claims: serde_json::Value,
) -> Result<ClientAuth, OAuthError> {
    let (iss, sub) = (claims.get("iss").and_then(|v| v.as_str()), claims.get("sub").and_then(|v| v.as_str()));
    if iss != sub {
        return super::federated::parse(params, jwt, claims);
    }
    let client_id = sub
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .ok_or(OAuthError::InvalidClient { challenge: None })?
        .to_owned();
    if params.client_id.as_ref().is_some_and(|id| *id != client_id) {
        return Err(OAuthError::InvalidRequest("client_id differs from the assertion's subject".into()));
    }
    Ok(ClientAuth::PrivateKeyJwt(Assertion { client_id, jwt }))
}

/// Checks the assertion. Every failure is `invalid_client` (its cause is logged); a replay store
/// that cannot be reached is `temporarily_unavailable`, never a pass.
pub async fn authenticate(
    ctx: &Context,
    assertion: &Assertion,
    before_load: impl std::future::Future<Output = Result<(), OAuthError>>,
) -> Result<Authenticated, OAuthError> {
    let fail = |why: &str| {
        tracing::info!(reason = why, "refused a client assertion");
        OAuthError::InvalidClient { challenge: None }
    };
    let loaded =
        super::client_for(ctx, &assertion.client_id, AuthMethod::PrivateKeyJwt, before_load, fail).await?;
    let client_id = &loaded.client.id;
    let keys = loaded.client.keys.as_ref().ok_or_else(|| fail("the client has no keys"))?;
    let jws = ctx
        .client_keys
        .verify(ctx, client_id.as_str(), keys, &assertion.jwt, &writ_token::ASSERTION_TYP)
        .await
        .map_err(|why| fail(&why))?;
    let claims: Claims =
        serde_json::from_slice(&jws.payload).map_err(|_| fail("claims missing or malformed"))?;
    let now = ctx.clock.unix();
    check_claims(ctx, &claims, client_id.as_str(), now).map_err(fail)?;
    super::use_once(ctx, &format!("pkj:{client_id}"), &claims.jti, claims.exp, fail).await?;
    Ok(Authenticated {
        client: loaded,
        secret_id: None,
        method: AuthMethod::PrivateKeyJwt,
        key_id: jws.header.kid,
        federation: None,
    })
}

/// What the claims must say, signature aside.
fn check_claims(ctx: &Context, c: &Claims, client_id: &str, now: i64) -> Result<(), &'static str> {
    if c.iss != client_id || c.sub != client_id {
        return Err("iss and sub must both be the client id");
    }
    if !names_us(ctx, &audiences(Some(&c.aud))) {
        return Err("aud does not name this issuer or its token endpoint");
    }
    check_times(c.exp, c.iat, c.nbf, now)?;
    if c.exp > now + MAX_LIFETIME + writ_token::LEEWAY_SECONDS {
        return Err("exp is more than 5 minutes ahead");
    }
    if c.jti.is_empty() || c.jti.len() > MAX_JTI {
        return Err("jti must be 1 to 256 characters");
    }
    Ok(())
}
