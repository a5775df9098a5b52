//! What the two assertion methods share (`private_key_jwt.rs`, `federated.rs`): reading a JWT's
//! claims before it is verified (to know whose keys verify it), whether an audience names Writ,
//! and the keys themselves — a client's or a trusted issuer's, registered or at a URL — parsed
//! once and verified against, an unknown `kid` at a URL refetching at most once per
//! [`REFETCH_INTERVAL`] per owner.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use writ_core::KeySource;
use writ_core::bounded::BoundedMap;
use writ_token::{Jws, PublicKeys, TokenError, Typ};

use crate::context::Context;

/// How often an unknown `kid` may send Writ back to an owner's keys URL.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Owners and URLs whose parsed keys are kept.
const KEY_CACHE: usize = 10_000;

/// The claims of a compact JWS, read without verifying it: only to know whose keys to verify it
/// with.
pub(crate) fn unverified_claims(jwt: &str) -> Option<serde_json::Value> {
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

/// The audiences of an `aud` claim: a string or an array of them.
pub(crate) fn audiences(aud: Option<&serde_json::Value>) -> Vec<&str> {
    match aud {
        Some(serde_json::Value::String(aud)) => vec![aud.as_str()],
        Some(serde_json::Value::Array(list)) => list.iter().filter_map(serde_json::Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `exp` not past, `iat` and `nbf` not in the future, with the clock leeway.
pub(crate) fn check_times(
    exp: i64,
    iat: Option<i64>,
    nbf: Option<i64>,
    now: i64,
) -> Result<(), &'static str> {
    let leeway = writ_token::LEEWAY_SECONDS;
    if exp <= now - leeway {
        return Err("expired");
    }
    if iat.is_some_and(|iat| iat > now + leeway) || nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err("issued or valid only in the future");
    }
    Ok(())
}

/// Parsed public keys: registered sets by owner (a client or trusted issuer id), kept while the
/// owner's cached set is the same allocation, so a change is seen as soon as the owner is reloaded;
/// fetched sets by URL, kept while the fetcher returns the same document.
pub struct KeyCache {
    inline: Parsed,
    fetched: Parsed,
    /// When an owner last sent Writ back to its keys' URL.
    refetched: Mutex<BoundedMap<String, Instant>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            inline: Mutex::new(BoundedMap::new(KEY_CACHE)),
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
type Parsed = Mutex<BoundedMap<String, (Arc<serde_json::Value>, Arc<PublicKeys>)>>;

/// The parsed keys of `jwks` from `map` under `key`, parsing them if `map` holds another document.
fn parsed(map: &Parsed, key: &str, jwks: &Arc<serde_json::Value>) -> Arc<PublicKeys> {
    if let Some((doc, keys)) = lock(map).peek(key)
        && Arc::ptr_eq(doc, jwks)
    {
        return keys.clone();
    }
    let keys = Arc::new(PublicKeys::for_assertions(jwks).map(|(k, _)| k).unwrap_or_default());
    let retired = lock(map).insert(key.to_owned(), (jwks.clone(), keys.clone()));
    drop(retired);
    keys
}

impl KeyCache {
    /// Verifies `jwt` (whose header's `typ` must fit `typ`) with `owner`'s keys (see
    /// [`KeyCache::verify_at`] for a URL). The reason of a refusal is for the log.
    pub(super) async fn verify(
        &self,
        ctx: &Context,
        owner: &str,
        keys: &KeySource,
        jwt: &str,
        typ: &Typ,
    ) -> Result<Jws, String> {
        match keys {
            KeySource::Jwks(jwks) => parsed(&self.inline, owner, jwks).verify_jws(jwt, typ).map_err(refused),
            KeySource::JwksUri(url) => self.verify_at(ctx, owner, url.as_str(), jwt, typ).await,
        }
    }

    /// Verifies `jwt` with the keys at `url`, fetched through the fetcher (and cached as it says);
    /// an unknown `kid` (the owner rotated) fetches them again, at most once per interval.
    pub(super) async fn verify_at(
        &self,
        ctx: &Context,
        owner: &str,
        url: &str,
        jwt: &str,
        typ: &Typ,
    ) -> Result<Jws, String> {
        match self.fetched(ctx, url).await?.verify_jws(jwt, typ) {
            Err(TokenError::UnknownKey) if self.may_refetch(owner) => {
                ctx.fetcher.forget(url);
                self.fetched(ctx, url).await?.verify_jws(jwt, typ).map_err(refused)
            }
            result => result.map_err(refused),
        }
    }

    async fn fetched(&self, ctx: &Context, url: &str) -> Result<Arc<PublicKeys>, String> {
        let doc = ctx.fetcher.json(url).await.map_err(|e| format!("keys: {e}"))?;
        Ok(parsed(&self.fetched, url, &doc))
    }

    /// Whether `owner` may send Writ to its keys' URL again now; if so, the interval restarts.
    fn may_refetch(&self, owner: &str) -> bool {
        let now = Instant::now();
        let mut map = lock(&self.refetched);
        if map.peek(owner).is_some_and(|at| now.duration_since(*at) < REFETCH_INTERVAL) {
            return false;
        }
        drop(map.insert(owner.to_owned(), now));
        true
    }
}

fn refused(e: TokenError) -> String {
    format!("signature: {e}")
}
