//! Follows the guard's revocation feed (`/guard/v1/revocations`, long poll), so a resource server
//! that verifies tokens locally still refuses a revoked one — by `jti`, or by a client's or an
//! org's watermark — within about a second, with no network call per request.
//!
//! If the feed cannot be reached, the follower keeps what it knows and retries (with backoff up to
//! 30 s); tokens are short-lived, so it fails open rather than refusing every request.
//! [`RevocationFollower::healthy`] tells whether the last poll succeeded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use writ_token::AccessClaims;

use crate::TokenSource;

#[derive(Debug, Default)]
struct State {
    /// jti → when the entry stops mattering.
    tokens: HashMap<String, i64>,
    /// client or org id → (revoked at or before, stops mattering at).
    watermarks: HashMap<String, (i64, i64)>,
}

/// A background follower of the revocation feed. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RevocationFollower {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: RwLock<State>,
    caught_up: AtomicBool,
    healthy: AtomicBool,
    entries: AtomicU64,
    stop: tokio::sync::Notify,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl RevocationFollower {
    /// Starts following the feed of the guard at `base_url` (where `/guard/v1` lives: the issuer
    /// URL of the all-in-one, or the guard's), authenticating with `source` — a client granted
    /// `guard:revocations:read` on `urn:writ:guard`, without an org.
    pub fn start(base_url: impl Into<String>, source: TokenSource) -> Self {
        let inner = Arc::new(Inner {
            state: RwLock::new(State::default()),
            caught_up: AtomicBool::new(false),
            healthy: AtomicBool::new(false),
            entries: AtomicU64::new(0),
            stop: tokio::sync::Notify::new(),
        });
        let url = format!("{}/guard/v1/revocations", base_url.into().trim_end_matches('/'));
        tokio::spawn(follow(Arc::downgrade(&inner), url, source));
        Self { inner }
    }

    /// Whether `claims` belong to a revoked token.
    pub fn is_revoked(&self, claims: &AccessClaims) -> bool {
        let state = self.inner.state.read().unwrap_or_else(|p| p.into_inner());
        let watermark = |id: &str| state.watermarks.get(id).is_some_and(|(at, _)| claims.iat <= *at);
        state.tokens.contains_key(&claims.jti)
            || watermark(&claims.client_id)
            || claims.oid.as_deref().is_some_and(watermark)
    }

    /// Whether the last poll of the feed succeeded.
    pub fn healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// How many feed entries were applied.
    pub fn entries(&self) -> u64 {
        self.inner.entries.load(Ordering::Relaxed)
    }

    /// Marks `jtis` revoked for an hour, as if the feed had said so (for benchmarks and tests).
    #[doc(hidden)]
    pub fn preload(&self, jtis: impl IntoIterator<Item = String>) {
        let until = now() + 3600;
        let mut state = self.inner.state.write().unwrap_or_else(|p| p.into_inner());
        state.tokens.extend(jtis.into_iter().map(|j| (j, until)));
    }

    /// Waits until the feed has been read to its end once (for a readiness check), at most
    /// `timeout`; whether it was.
    pub async fn caught_up(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.inner.caught_up.load(Ordering::Acquire) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.notify_waiters();
    }
}

/// The follower's loop; it ends when the follower is dropped.
async fn follow(inner: std::sync::Weak<Inner>, url: String, source: TokenSource) {
    let http = crate::verifier::http_client();
    let mut after: Option<String> = None;
    let mut backoff = Duration::from_millis(250);
    loop {
        let Some(this) = inner.upgrade() else { return };
        let caught_up = this.caught_up.load(Ordering::Acquire);
        // Long poll once caught up; page through quickly before.
        let wait = if caught_up { 25 } else { 0 };
        let mut query = vec![("limit", "1000".to_owned()), ("wait", wait.to_string())];
        if let Some(cursor) = &after {
            query.push(("after", cursor.clone()));
        }
        let page = match source.token().await {
            Ok(token) => {
                let request =
                    http.get(&url).bearer_auth(&*token).query(&query).timeout(Duration::from_secs(40));
                tokio::select! {
                    res = request.send() => res.map_err(|e| e.to_string()),
                    () = this.stop.notified() => return,
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let page = match page {
            Ok(res) if res.status().is_success() => {
                res.json::<serde_json::Value>().await.map_err(|e| e.to_string())
            }
            Ok(res) => {
                if res.status().as_u16() == 401 {
                    source.invalidate();
                }
                Err(format!("status {}", res.status()))
            }
            Err(e) => Err(e),
        };
        match page {
            Ok(page) => {
                backoff = Duration::from_millis(250);
                this.healthy.store(true, Ordering::Relaxed);
                let entries = page["data"].as_array().map(Vec::as_slice).unwrap_or_default();
                apply(&this, entries);
                if let Some(next) = page["next_cursor"].as_str() {
                    after = Some(next.to_owned());
                }
                if entries.len() < 1000 {
                    this.caught_up.store(true, Ordering::Release);
                }
            }
            Err(e) => {
                this.healthy.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, "revocation feed unreachable; keeping what is known");
                drop(this);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

fn apply(inner: &Inner, entries: &[serde_json::Value]) {
    let now = now();
    let mut state = inner.state.write().unwrap_or_else(|p| p.into_inner());
    state.tokens.retain(|_, expires| *expires > now);
    state.watermarks.retain(|_, (_, expires)| *expires > now);
    for e in entries {
        let (Some(kind), Some(id), Some(at), Some(expires)) =
            (e["kind"].as_str(), e["id"].as_str(), e["at"].as_i64(), e["expires_at"].as_i64())
        else {
            continue;
        };
        match kind {
            "token" => {
                state.tokens.insert(id.to_owned(), expires);
            }
            _ => {
                let slot = state.watermarks.entry(id.to_owned()).or_insert((at, expires));
                *slot = (slot.0.max(at), slot.1.max(expires));
            }
        }
        inner.entries.fetch_add(1, Ordering::Relaxed);
    }
}
