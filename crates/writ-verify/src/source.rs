//! The client side: a machine client's token, fetched with the client-credentials grant, kept
//! until shortly before it expires and renewed by one caller while the others wait for it — so a
//! client never fetches a token per call. The client authenticates with a secret
//! (`client_secret_basic`) or a private key (`private_key_jwt`: a fresh assertion per renewal).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenSourceError {
    #[error("cannot reach the token endpoint: {0}")]
    Unreachable(String),
    /// The token endpoint refused (RFC 6749 §5.2): `invalid_client`, `invalid_scope`, …
    #[error("the token endpoint refused: {error} ({description})")]
    Refused { status: u16, error: String, description: String },
    /// The token endpoint is not HTTPS (plain HTTP is allowed to loopback only): the secret would
    /// cross the network in the clear.
    #[error("{0}")]
    Insecure(String),
    /// The client's own credential cannot be used (a key that does not sign, an unreadable file).
    #[error("the client's credential: {0}")]
    Credential(String),
}

/// How the client authenticates.
pub enum Credential {
    /// `client_secret_basic`.
    Secret(String),
    /// `private_key_jwt`: each renewal signs a new assertion (`aud` the token endpoint, one
    /// minute, a random `jti`).
    PrivateKey(writ_token::AssertionSigner),
    /// A token from a trusted issuer (workload identity federation), read from this file on every
    /// renewal: a Kubernetes projected service-account token, which the kubelet rotates on disk.
    FederatedTokenFile(std::path::PathBuf),
}

#[derive(Clone)]
struct Held {
    token: Arc<str>,
    renew_at: Instant,
    expires_at: Instant,
}

/// A client's access token for one API, always fresh. Cheap to clone; share one per client and API.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    token_endpoint: String,
    client_id: String,
    credential: Credential,
    resource: Option<String>,
    scope: Option<String>,
    held: RwLock<Option<Held>>,
    renewing: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_endpoint", &self.inner.token_endpoint)
            .field("client_id", &self.inner.client_id)
            .field("resource", &self.inner.resource)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens of `client_id` from `token_endpoint` (`https://auth.example.com/oauth/token`), for
    /// `resource` (the API's identifier, RFC 8707) when given, with `scope` when given (default:
    /// every scope the client is granted there).
    pub fn new(
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        resource: Option<&str>,
        scope: Option<&str>,
    ) -> Self {
        Self::with_credential(
            token_endpoint,
            client_id,
            Credential::Secret(client_secret.into()),
            resource,
            scope,
        )
    }

    /// Like [`TokenSource::new`], authenticating with `credential`.
    pub fn with_credential(
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        credential: Credential,
        resource: Option<&str>,
        scope: Option<&str>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http: crate::verifier::http_client(),
                token_endpoint: token_endpoint.into(),
                client_id: client_id.into(),
                credential,
                resource: resource.map(str::to_owned),
                scope: scope.map(str::to_owned),
                held: RwLock::new(None),
                renewing: tokio::sync::Mutex::new(()),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// How many tokens were fetched (for metrics and tests).
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    fn held(&self, fresh_until: fn(&Held) -> Instant) -> Option<Arc<str>> {
        let held = self.inner.held.read().unwrap_or_else(|p| p.into_inner());
        held.as_ref().filter(|h| Instant::now() < fresh_until(h)).map(|h| h.token.clone())
    }

    /// The token: the one held while it has more than a fifth of its life left, else a new one.
    /// One caller renews; the others wait and take its token. If renewal fails while the held
    /// token has not expired yet, that token is answered (and renewal tried again next call).
    pub async fn token(&self) -> Result<Arc<str>, TokenSourceError> {
        if let Some(token) = self.held(|h| h.renew_at) {
            return Ok(token);
        }
        let _renewing = self.inner.renewing.lock().await;
        if let Some(token) = self.held(|h| h.renew_at) {
            return Ok(token);
        }
        match self.fetch().await {
            Ok(held) => {
                let token = held.token.clone();
                *self.inner.held.write().unwrap_or_else(|p| p.into_inner()) = Some(held);
                Ok(token)
            }
            Err(e) => match self.held(|h| h.expires_at) {
                Some(token) => {
                    tracing::warn!(error = %e, "token renewal failed; using the current token until it expires");
                    Ok(token)
                }
                None => Err(e),
            },
        }
    }

    /// Forgets the held token (say, after an API answered 401 for it), so the next call fetches.
    pub fn invalidate(&self) {
        *self.inner.held.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn fetch(&self) -> Result<Held, TokenSourceError> {
        let inner = &self.inner;
        crate::transport::check_url(&inner.token_endpoint).map_err(TokenSourceError::Insecure)?;
        inner.fetches.fetch_add(1, Ordering::Relaxed);
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(r) = &inner.resource {
            form.push(("resource", r));
        }
        if let Some(s) = &inner.scope {
            form.push(("scope", s));
        }
        let started = Instant::now();
        let request = inner.http.post(&inner.token_endpoint);
        let assertion;
        let request = match &inner.credential {
            Credential::Secret(secret) => request.basic_auth(&inner.client_id, Some(secret)),
            Credential::PrivateKey(signer) => {
                assertion = self.assertion(signer)?;
                form.push(("client_assertion_type", ASSERTION_TYPE));
                form.push(("client_assertion", &assertion));
                request
            }
            Credential::FederatedTokenFile(path) => {
                assertion = std::fs::read_to_string(path)
                    .map_err(|e| {
                        TokenSourceError::Credential(format!("cannot read {}: {e}", path.display()))
                    })?
                    .trim()
                    .to_owned();
                form.push(("client_id", &inner.client_id));
                form.push(("client_assertion_type", ASSERTION_TYPE));
                form.push(("client_assertion", &assertion));
                request
            }
        };
        let res =
            request.form(&form).send().await.map_err(|e| TokenSourceError::Unreachable(e.to_string()))?;
        let status = res.status().as_u16();
        let body = crate::transport::json(res, crate::transport::TOKEN_LIMIT)
            .await
            .map_err(TokenSourceError::Unreachable)?;
        let (Some(token), Some(expires_in)) = (body["access_token"].as_str(), body["expires_in"].as_u64())
        else {
            return Err(TokenSourceError::Refused {
                status,
                error: body["error"].as_str().unwrap_or("no_token").to_owned(),
                description: body["error_description"].as_str().unwrap_or_default().to_owned(),
            });
        };
        let life = Duration::from_secs(expires_in);
        Ok(Held { token: token.into(), renew_at: started + life * 4 / 5, expires_at: started + life })
    }

    /// A new `private_key_jwt` assertion: this client, for the token endpoint, for a minute.
    fn assertion(&self, signer: &writ_token::AssertionSigner) -> Result<String, TokenSourceError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let id = &self.inner.client_id;
        let claims = serde_json::json!({
            "iss": id, "sub": id, "aud": self.inner.token_endpoint,
            "iat": now, "exp": now + 60, "jti": writ_core::id::new_token_id(),
        });
        signer
            .sign(&claims)
            .map_err(|e| TokenSourceError::Credential(format!("cannot sign the assertion: {e}")))
    }
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
