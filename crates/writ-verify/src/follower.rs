//! Follows the guard's revocation feed (`/guard/v1/revocations`, long poll), so a resource server
//! that verifies tokens locally still refuses a revoked one — by `jti`, or by a client's, an org's
//! or a credential's watermark — within about a second, with no network call per request.
//!
//! It starts from a snapshot of every live revocation (`/guard/v1/revocations/snapshot`) and
//! follows the feed from the snapshot's cursor; when the feed says the follower is `behind` (the
//! entries after its cursor left the feed's window), it takes a snapshot again.
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

/// What a revocation covers (the feed's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Token,
    Client,
    Org,
    Credential,
}

/// One revocation of an id.
#[derive(Debug)]
struct Mark {
    kind: Kind,
    /// Only the tokens of this org (a token) or client (a credential).
    within: Option<String>,
    /// Revoked at; for a watermark, tokens issued at or before it.
    at: i64,
    expires: i64,
}

#[derive(Debug, Default)]
struct State {
    /// jti, client, org or credential id → its revocations.
    marks: HashMap<String, Vec<Mark>>,
}

impl State {
    fn holds(&self, id: &str, kind: Kind, pass: impl Fn(&Mark) -> bool) -> bool {
        self.marks.get(id).is_some_and(|marks| marks.iter().any(|m| m.kind == kind && pass(m)))
    }
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
    snapshots: AtomicU64,
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
            snapshots: AtomicU64::new(0),
            stop: tokio::sync::Notify::new(),
        });
        let url = format!("{}/guard/v1/revocations", base_url.into().trim_end_matches('/'));
        tokio::spawn(follow(Arc::downgrade(&inner), url, source));
        Self { inner }
    }

    /// Whether `claims` belong to a revoked token.
    pub fn is_revoked(&self, claims: &AccessClaims) -> bool {
        let state = self.inner.state.read().unwrap_or_else(|p| p.into_inner());
        let oid = claims.oid.as_deref();
        let issued_before = |m: &Mark| claims.iat <= m.at;
        state.holds(&claims.jti, Kind::Token, |m| m.within.is_none() || m.within.as_deref() == oid)
            || state.holds(&claims.client_id, Kind::Client, issued_before)
            || oid.is_some_and(|o| state.holds(o, Kind::Org, issued_before))
            || claims.cred.as_deref().is_some_and(|c| {
                state.holds(c, Kind::Credential, |m| {
                    m.within.as_deref() == Some(claims.client_id.as_str()) && issued_before(m)
                })
            })
    }

    /// Whether the last poll of the feed succeeded.
    pub fn healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// How many feed and snapshot entries were applied.
    pub fn entries(&self) -> u64 {
        self.inner.entries.load(Ordering::Relaxed)
    }

    /// How many snapshots were taken: one at the start, one more each time the follower fell
    /// behind the feed's window.
    pub fn snapshots(&self) -> u64 {
        self.inner.snapshots.load(Ordering::Relaxed)
    }

    /// Marks `jtis` revoked for an hour, as if the feed had said so (for benchmarks and tests).
    #[doc(hidden)]
    pub fn preload(&self, jtis: impl IntoIterator<Item = String>) {
        let expires = now() + 3600;
        let mut state = self.inner.state.write().unwrap_or_else(|p| p.into_inner());
        for jti in jtis {
            state.marks.entry(jti).or_default().push(Mark {
                kind: Kind::Token,
                within: None,
                at: 0,
                expires,
            });
        }
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
    if let Err(e) = crate::transport::check_url(&url) {
        tracing::error!(error = %e, "not following the revocation feed");
        return;
    }
    let http = crate::verifier::http_client();
    let snapshot_url = format!("{url}/snapshot");
    // `None`: take a snapshot first.
    let mut after: Option<String> = None;
    let mut backoff = Duration::from_millis(250);
    loop {
        let Some(this) = inner.upgrade() else { return };
        let caught_up = this.caught_up.load(Ordering::Acquire);
        let request = match &after {
            None => http.get(&snapshot_url),
            Some(cursor) => {
                // Long poll once caught up; page through quickly before.
                let wait = if caught_up { "25" } else { "0" };
                http.get(&url).query(&[("limit", "1000"), ("wait", wait), ("after", cursor)])
            }
        };
        let page = match source.token().await {
            Ok(token) => {
                let request = request.bearer_auth(&*token).timeout(Duration::from_secs(40));
                tokio::select! {
                    res = request.send() => res.map_err(|e| e.to_string()),
                    () = this.stop.notified() => return,
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let page = match page {
            Ok(res) if res.status().is_success() => {
                let limit = if after.is_none() {
                    crate::transport::SNAPSHOT_LIMIT
                } else {
                    crate::transport::FEED_LIMIT
                };
                crate::transport::json(res, limit).await
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
                if after.is_none() {
                    this.snapshots.fetch_add(1, Ordering::Relaxed);
                    after = page["cursor"].as_str().map(str::to_owned);
                } else if page["behind"].as_bool() == Some(true) {
                    tracing::warn!("fell behind the revocation feed's window; taking a snapshot");
                    after = None;
                } else {
                    if let Some(next) = page["next_cursor"].as_str() {
                        after = Some(next.to_owned());
                    }
                    if entries.len() < 1000 {
                        this.caught_up.store(true, Ordering::Release);
                    }
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

/// Adds feed or snapshot entries to what is known (a snapshot adds to it too: nothing revoked is
/// ever taken back), forgetting what stopped mattering.
fn apply(inner: &Inner, entries: &[serde_json::Value]) {
    let now = now();
    let mut state = inner.state.write().unwrap_or_else(|p| p.into_inner());
    state.marks.retain(|_, marks| {
        marks.retain(|m| m.expires > now);
        !marks.is_empty()
    });
    for e in entries {
        let (Some(kind), Some(id), Some(at), Some(expires)) =
            (e["kind"].as_str(), e["id"].as_str(), e["at"].as_i64(), e["expires_at"].as_i64())
        else {
            continue;
        };
        let kind = match kind {
            "token" => Kind::Token,
            "client" => Kind::Client,
            "org" => Kind::Org,
            "credential" => Kind::Credential,
            _ => continue, // a kind this version does not know
        };
        let within = e["within"].as_str().map(str::to_owned);
        let marks = state.marks.entry(id.to_owned()).or_default();
        match marks.iter_mut().find(|m| m.kind == kind && m.within == within) {
            Some(m) => {
                m.at = m.at.max(at);
                m.expires = m.expires.max(expires);
            }
            None => marks.push(Mark { kind, within, at, expires }),
        }
        inner.entries.fetch_add(1, Ordering::Relaxed);
    }
}
