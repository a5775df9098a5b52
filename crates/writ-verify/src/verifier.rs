//! The verifier: discovery, the key set and its refetching, the checks, and the token cache.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use writ_core::SigningAlg;
use writ_token::{AccessClaims, LEEWAY_SECONDS, PublicKeys, TokenError};

use crate::VerifyError;
use crate::cache::TokenCache;

/// How to verify: whose tokens, for which API, and how the keys are kept.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The issuer, exactly as in its tokens' `iss` (`https://auth.example.com`).
    pub issuer: String,
    /// This API's identifier: tokens must name it in `aud`.
    pub audience: String,
    /// The algorithms accepted (default: ES256, RS256, EdDSA — asymmetric only; the key of the
    /// token's `kid` decides which applies).
    pub algorithms: Vec<SigningAlg>,
    /// The JWKS URL; default: discovered from the issuer's RFC 8414 metadata.
    pub jwks_uri: Option<String>,
    /// At most one fetch for unknown keys per this interval (default 10 s).
    pub min_refetch_interval: Duration,
    /// Keys are fetched again in the background once this old (default 5 minutes), so a key
    /// withdrawn in an emergency stops verifying.
    pub max_key_age: Duration,
    /// How many verified tokens to remember (default 10,000; 0 turns the cache off).
    pub cache_capacity: usize,
}

impl VerifierConfig {
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            audience: audience.into(),
            algorithms: vec![SigningAlg::ES256, SigningAlg::RS256, SigningAlg::EdDSA],
            jwks_uri: None,
            min_refetch_interval: Duration::from_secs(10),
            max_key_age: Duration::from_secs(300),
            cache_capacity: 10_000,
        }
    }
}

/// Why a verifier could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the authorization server metadata is not usable: {0}")]
    BadMetadata(String),
    #[error("{0}")]
    Insecure(String),
}

/// A verified token's claims. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Claims(Arc<AccessClaims>);

impl std::ops::Deref for Claims {
    type Target = AccessClaims;
    fn deref(&self) -> &AccessClaims {
        &self.0
    }
}

impl Claims {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.has_scope(scope)
    }

    /// `InsufficientScope` naming all of `scopes` unless the token carries every one: the token
    /// the client gets next must hold them all, not only the missing ones (step-up).
    pub fn require(&self, scopes: &[&str]) -> Result<(), VerifyError> {
        if scopes.iter().all(|s| self.has_scope(s)) {
            Ok(())
        } else {
            Err(VerifyError::InsufficientScope(scopes.join(" ")))
        }
    }
}

/// Verifies access tokens of one issuer for one audience. Cheap to clone; share one per API.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: VerifierConfig,
    jwks_uri: String,
    http: reqwest::Client,
    keys: RwLock<(Arc<PublicKeys>, Instant)>,
    /// Held while fetching: one fetch at a time. The value is when the last one started.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    refreshing: AtomicBool,
    fetches: AtomicU64,
    cache: TokenCache,
    revocations: std::sync::OnceLock<crate::RevocationFollower>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.config.issuer)
            .field("audience", &self.inner.config.audience)
            .field("jwks_uri", &self.inner.jwks_uri)
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An HTTP client for talking to Writ and to APIs: reqwest on rustls needs a crypto provider
/// installed first, and this installs ring (Writ's only one) if none is.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // Metadata, keys and the feed come from the issuer itself: a redirect elsewhere is refused.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<serde_json::Value, SetupError> {
    crate::transport::check_url(url).map_err(SetupError::Insecure)?;
    let unreachable = |reason: String| SetupError::Unreachable { url: url.to_owned(), reason };
    let res = http.get(url).send().await.map_err(|e| unreachable(e.to_string()))?;
    if !res.status().is_success() {
        return Err(unreachable(format!("status {}", res.status())));
    }
    crate::transport::json(res, crate::transport::DOCUMENT_LIMIT).await.map_err(unreachable)
}

impl Verifier {
    /// Discovers the JWKS (unless configured) and fetches the keys. Fails if the issuer cannot be
    /// reached, is not HTTPS (but on loopback), or its metadata names another issuer (RFC 8414 §3.3).
    pub async fn new(config: VerifierConfig) -> Result<Self, SetupError> {
        crate::transport::check_url(&config.issuer).map_err(SetupError::Insecure)?;
        let http = http_client();
        let jwks_uri = match &config.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let url = format!("{}/.well-known/oauth-authorization-server", config.issuer);
                let meta = get_json(&http, &url).await?;
                if meta["issuer"].as_str() != Some(config.issuer.as_str()) {
                    return Err(SetupError::BadMetadata(format!(
                        "it names issuer {}, not {}",
                        meta["issuer"], config.issuer
                    )));
                }
                meta["jwks_uri"].as_str().ok_or(SetupError::BadMetadata("no jwks_uri".into()))?.to_owned()
            }
        };
        let keys = fetch(&http, &jwks_uri, &config.algorithms).await?;
        let cache = TokenCache::new(config.cache_capacity);
        let inner = Inner {
            config,
            jwks_uri,
            http,
            keys: RwLock::new((Arc::new(keys), Instant::now())),
            fetching: tokio::sync::Mutex::new(Some(Instant::now())),
            refreshing: AtomicBool::new(false),
            fetches: AtomicU64::new(1),
            cache,
            revocations: std::sync::OnceLock::new(),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// How many times the key set was fetched (for metrics and tests).
    pub fn jwks_fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Refuses tokens the follower has seen revoked, from now on (once per verifier).
    pub fn follow_revocations(&self, follower: crate::RevocationFollower) {
        let _ = self.inner.revocations.set(follower);
    }

    /// How many verified tokens the cache holds.
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.len()
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// Verifies the value of an `Authorization` header (`Bearer <token>`).
    pub async fn verify_header(&self, authorization: Option<&str>) -> Result<Claims, VerifyError> {
        let token = authorization
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(VerifyError::MissingToken)?;
        self.verify(token).await
    }

    /// Verifies a token: signature by a published key of an allowed algorithm, `typ`, `iss`,
    /// `aud`, `exp` and `nbf`. Scopes are [`Claims::require`]'s.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let claims = self.verify_unrevoked(token).await?;
        match self.inner.revocations.get() {
            Some(follower) if follower.is_revoked(&claims) => {
                Err(VerifyError::InvalidToken("the token was revoked".into()))
            }
            _ => Ok(claims),
        }
    }

    async fn verify_unrevoked(&self, token: &str) -> Result<Claims, VerifyError> {
        let now = now();
        self.refresh_if_stale();
        if let Some(claims) = self.inner.cache.get(token, now, LEEWAY_SECONDS) {
            return Ok(Claims(claims));
        }
        let claims = match self.check(token, now) {
            Err(TokenError::UnknownKey) => {
                let kid = PublicKeys::kid_of(token).unwrap_or_default();
                self.fetch_for(&kid).await;
                self.check(token, now)
            }
            other => other,
        }
        .map_err(|e| VerifyError::InvalidToken(e.to_string()))?;
        if !claims.aud.contains(&self.inner.config.audience) {
            return Err(VerifyError::InvalidToken("the token is for another audience".into()));
        }
        let claims = Arc::new(claims);
        self.inner.cache.insert(token, claims.clone(), now, LEEWAY_SECONDS);
        Ok(Claims(claims))
    }

    fn check(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let keys = self.inner.keys.read().unwrap_or_else(|p| p.into_inner()).0.clone();
        keys.verify_any_audience(token, &self.inner.config.issuer, now)
    }

    /// Fetches the keys for an unknown `kid`: one fetch at a time (the others wait for it and use
    /// its result), and none if the last started less than `min_refetch_interval` ago.
    async fn fetch_for(&self, kid: &str) {
        let mut last = self.inner.fetching.lock().await;
        if self.inner.keys.read().unwrap_or_else(|p| p.into_inner()).0.contains(kid) {
            return;
        }
        if last.is_some_and(|t| t.elapsed() < self.inner.config.min_refetch_interval) {
            return;
        }
        *last = Some(Instant::now());
        self.fetch_now().await;
    }

    async fn fetch_now(&self) {
        let inner = &self.inner;
        inner.fetches.fetch_add(1, Ordering::Relaxed);
        match fetch(&inner.http, &inner.jwks_uri, &inner.config.algorithms).await {
            Ok(keys) => {
                let mut slot = inner.keys.write().unwrap_or_else(|p| p.into_inner());
                if slot.0.kids() != keys.kids() {
                    // A key may have been withdrawn: what it verified must be checked again.
                    inner.cache.clear();
                }
                *slot = (Arc::new(keys), Instant::now());
            }
            Err(e) => tracing::warn!(error = %e, "could not fetch the JWKS; keeping the keys held"),
        }
    }

    /// Past `max_key_age`, fetches the keys in the background (one refresh at a time).
    fn refresh_if_stale(&self) {
        let age = self.inner.keys.read().unwrap_or_else(|p| p.into_inner()).1.elapsed();
        if age < self.inner.config.max_key_age || self.inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            {
                let mut last = this.inner.fetching.lock().await;
                *last = Some(Instant::now());
                this.fetch_now().await;
            }
            this.inner.refreshing.store(false, Ordering::Release);
        });
    }
}

async fn fetch(
    http: &reqwest::Client,
    uri: &str,
    algorithms: &[SigningAlg],
) -> Result<PublicKeys, SetupError> {
    let jwks = get_json(http, uri).await?;
    let (keys, skipped) = PublicKeys::from_jwks(&jwks, algorithms)
        .map_err(|e| SetupError::BadMetadata(format!("the JWKS at {uri}: {e}")))?;
    if skipped > 0 {
        tracing::debug!(skipped, "JWKS keys of other algorithms or uses were left out");
    }
    Ok(keys)
}
