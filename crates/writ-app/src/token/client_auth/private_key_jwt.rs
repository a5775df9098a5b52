//! `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2): the client signs a short-lived JWT with a key
//! whose public half it registered (`jwks`) or publishes (`jwks_uri`), and sends it as
//! `client_assertion`. Writ checks, in order: the signature, by the key the `kid` names (or each
//! key of the header's algorithm) — the key decides the algorithm; `iss` = `sub` = the client id;
//! `aud` names this issuer or one of its endpoints; `exp` is not past and at most
//! [`MAX_LIFETIME`] ahead, `iat` and `nbf` not in the future; and, last, that its `jti` was never
//! used before (the guard store keeps it until `exp`). Parsed keys are cached per client and
//! per URL; an unknown `kid` refetches a client's `jwks_uri` at most once per
//! [`REFETCH_INTERVAL`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use writ_core::bounded::BoundedMap;
use writ_core::{AuthMethod, ClientId, ClientKeys};
use writ_store::ClientCredentials;
use writ_token::{ASSERTION_TYP, PublicKeys, TokenError};

use super::{Authenticated, ClientAuth};
use crate::context::Context;
use crate::token::{OAuthError, Params};

pub const METHOD: &str = "private_key_jwt";
/// RFC 7523 §2.2's `client_assertion_type`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How far ahead an assertion's `exp` may be: it proves possession now, not for the day.
pub const MAX_LIFETIME: i64 = 300;
/// How often an unknown `kid` may send Writ back to a client's `jwks_uri`.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// The longest `jti` kept (it is a key in the replay store).
const MAX_JTI: usize = 256;
/// Clients and URLs whose parsed keys are kept.
const KEY_CACHE: usize = 10_000;

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

/// The claims of a compact JWS, read without verifying it: only to know whose keys to verify it
/// with.
pub(super) fn unverified_claims(jwt: &str) -> Option<serde_json::Value> {
    let mut parts = jwt.split('.');
    let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok().filter(serde_json::Value::is_object)
}

/// Whether one of `audiences` is this issuer or one of the endpoints where clients authenticate.
pub(super) fn names_us(ctx: &Context, audiences: &[&str]) -> bool {
    audiences.iter().any(|aud| {
        aud.trim_end_matches('/')
            .strip_prefix(ctx.issuer.as_str())
            .is_some_and(|path| path.is_empty() || crate::token::ENDPOINTS.contains(&path))
    })
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
    let jws = verify_signature(ctx, &loaded, &assertion.jwt).await.map_err(|why| fail(&why))?;
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
    let leeway = writ_token::LEEWAY_SECONDS;
    if c.iss != client_id || c.sub != client_id {
        return Err("iss and sub must both be the client id");
    }
    let audience_ok = match &c.aud {
        serde_json::Value::String(aud) => names_us(ctx, &[aud]),
        serde_json::Value::Array(list) => {
            names_us(ctx, &list.iter().filter_map(serde_json::Value::as_str).collect::<Vec<_>>())
        }
        _ => false,
    };
    if !audience_ok {
        return Err("aud does not name this issuer or its token endpoint");
    }
    if c.exp <= now - leeway {
        return Err("expired");
    }
    if c.exp > now + MAX_LIFETIME + leeway {
        return Err("exp is more than 5 minutes ahead");
    }
    if c.iat.is_some_and(|iat| iat > now + leeway) || c.nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err("issued or valid only in the future");
    }
    if c.jti.is_empty() || c.jti.len() > MAX_JTI {
        return Err("jti must be 1 to 256 characters");
    }
    Ok(())
}

/// Verifies the assertion's signature with the client's keys, refetching a `jwks_uri` once when
/// the `kid` is unknown (the client rotated).
async fn verify_signature(
    ctx: &Context,
    loaded: &Arc<ClientCredentials>,
    jwt: &str,
) -> Result<writ_token::Jws, String> {
    let refused = |e: TokenError| format!("signature: {e}");
    match &loaded.client.keys {
        None => Err("the client has no keys".into()),
        Some(ClientKeys::Jwks(jwks)) => {
            ctx.client_keys.inline(&loaded.client.id, jwks).verify_jws(jwt, &ASSERTION_TYP).map_err(refused)
        }
        Some(ClientKeys::JwksUri(url)) => {
            let keys = ctx.client_keys.fetched(ctx, url.as_str()).await?;
            match keys.verify_jws(jwt, &ASSERTION_TYP) {
                Err(TokenError::UnknownKey)
                    if ctx.client_keys.may_refetch(loaded.client.id.as_str(), REFETCH_INTERVAL) =>
                {
                    ctx.fetcher.forget(url.as_str());
                    let keys = ctx.client_keys.fetched(ctx, url.as_str()).await?;
                    keys.verify_jws(jwt, &ASSERTION_TYP).map_err(refused)
                }
                result => result.map_err(refused),
            }
        }
    }
}

/// Parsed public keys: clients' inline sets by client (kept while the client's cached set is the
/// same allocation, so a change is seen as soon as the client cache reloads), trusted issuers'
/// inline sets by issuer (the same way), fetched sets by URL (kept while the fetcher returns the
/// same document).
pub struct KeyCache {
    inline: Parsed<ClientId>,
    issuers: Parsed<writ_core::TrustedIssuerId>,
    fetched: Parsed<String>,
    /// When a client or an issuer last sent Writ back to its keys' URL.
    refetched: Mutex<BoundedMap<String, Instant>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            inline: Mutex::new(BoundedMap::new(KEY_CACHE)),
            issuers: Mutex::new(BoundedMap::new(KEY_CACHE)),
            fetched: Mutex::new(BoundedMap::new(KEY_CACHE)),
            refetched: Mutex::new(BoundedMap::new(KEY_CACHE)),
        }
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// JWKS documents and their keys, parsed.
type Parsed<K> = Mutex<BoundedMap<K, (Arc<serde_json::Value>, Arc<PublicKeys>)>>;

/// The parsed keys of `jwks` from `map` under `key`, parsing them if `map` holds another document.
fn parsed<K: std::hash::Hash + Eq + Clone>(
    map: &Parsed<K>,
    key: &K,
    jwks: &Arc<serde_json::Value>,
) -> Arc<PublicKeys> {
    if let Some((doc, keys)) = lock(map).peek(key)
        && Arc::ptr_eq(doc, jwks)
    {
        return keys.clone();
    }
    let keys = Arc::new(PublicKeys::for_assertions(jwks).map(|(k, _)| k).unwrap_or_default());
    let retired = lock(map).insert(key.clone(), (jwks.clone(), keys.clone()));
    drop(retired);
    keys
}

impl KeyCache {
    fn inline(&self, client: &ClientId, jwks: &Arc<serde_json::Value>) -> Arc<PublicKeys> {
        parsed(&self.inline, client, jwks)
    }

    pub(super) fn issuer(
        &self,
        id: &writ_core::TrustedIssuerId,
        jwks: &Arc<serde_json::Value>,
    ) -> Arc<PublicKeys> {
        parsed(&self.issuers, id, jwks)
    }

    pub(super) async fn fetched(&self, ctx: &Context, url: &str) -> Result<Arc<PublicKeys>, String> {
        let doc = ctx.fetcher.json(url).await.map_err(|e| format!("jwks_uri: {e}"))?;
        Ok(parsed(&self.fetched, &url.to_owned(), &doc))
    }

    /// Whether `owner` (a client or issuer id) may send Writ to its keys' URL again now; if so,
    /// the interval restarts.
    pub(super) fn may_refetch(&self, owner: &str, interval: Duration) -> bool {
        let now = Instant::now();
        let mut map = lock(&self.refetched);
        if map.peek(owner).is_some_and(|at| now.duration_since(*at) < interval) {
            return false;
        }
        drop(map.insert(owner.to_owned(), now));
        true
    }
}
