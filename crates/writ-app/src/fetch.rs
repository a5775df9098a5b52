//! The one way Writ fetches a URL it was given (a client's `jwks_uri`, a trusted issuer's
//! discovery document and keys; later a client's metadata document): whoever names the URL must
//! not be able to aim Writ at its own network or hold it up. So a fetch
//!
//! - takes `https://` only (plain `http://` to loopback only where loopback is allowed: tests and
//!   the embedded default);
//! - resolves the host itself and refuses loopback (unless allowed), private, shared, link-local
//!   (cloud metadata lives there), multicast and unspecified addresses, then connects to the address
//!   it checked, so a second DNS answer cannot send it elsewhere;
//! - follows no redirect, reads at most [`FetchPolicy::max_bytes`] and gives up after
//!   [`FetchPolicy::timeout`];
//! - keeps a document as long as its `Cache-Control: max-age` says, within bounds;
//! - runs one fetch per URL at a time (callers in between share its answer), and at most
//!   [`FetchPolicy::per_host_per_minute`] per host name and [`FetchPolicy::per_address_per_minute`]
//!   per address (a thousand names of one server count against that server);
//! - keeps at most [`FetchPolicy::max_cached`] documents, so URLs made up by the thousand cannot
//!   fill memory.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use writ_core::bounded::BoundedMap;

/// How a [`Fetcher`] fetches.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Allow loopback addresses, over plain HTTP too (tests, the embedded default).
    pub allow_loopback: bool,
    pub max_bytes: usize,
    pub timeout: Duration,
    /// A document is kept at least this long, whatever its `Cache-Control` says…
    pub min_cache: Duration,
    /// …and at most this long.
    pub max_cache: Duration,
    /// How long a failed fetch is the answer for its URL.
    pub failure_cache: Duration,
    /// Fetches per host name per minute, cached answers not counted.
    pub per_host_per_minute: u32,
    /// Fetches per address per minute, whatever names lead there (generous: many sites share a
    /// CDN's addresses).
    pub per_address_per_minute: u32,
    /// Documents kept at most (the least recently used go first).
    pub max_cached: usize,
    /// Certificate authorities trusted besides the system's (`fetch_ca_file`).
    pub extra_roots: Vec<reqwest::Certificate>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            max_bytes: 64 * 1024,
            timeout: Duration::from_secs(5),
            min_cache: Duration::from_secs(60),
            max_cache: Duration::from_secs(24 * 3600),
            failure_cache: Duration::from_secs(10),
            per_host_per_minute: 30,
            per_address_per_minute: 300,
            max_cached: 10_000,
            extra_roots: Vec::new(),
        }
    }
}

/// Why a URL was not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("too many fetches from {0}: retry later")]
    RateLimited(String),
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
}

/// A cached document (or failure) and when it goes stale.
#[derive(Clone)]
struct Kept {
    result: Result<Arc<Value>, FetchError>,
    until: Instant,
}

/// The fetcher: share one per process.
pub struct Fetcher {
    policy: FetchPolicy,
    cache: Mutex<BoundedMap<String, Kept>>,
    /// One lock per URL being fetched: the single flight.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Fetches per host in the current minute.
    hosts: Mutex<HashMap<String, (Instant, u32)>>,
    fetches: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Fetcher {
    pub fn new(policy: FetchPolicy) -> Self {
        Self {
            cache: Mutex::new(BoundedMap::new(policy.max_cached / 2)),
            policy,
            flights: Mutex::default(),
            hosts: Mutex::default(),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// How many requests went out (for metrics and tests).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The JSON document at `url`, from the cache while it is fresh. A failure is kept
    /// [`FetchPolicy::failure_cache`] long too, so the callers that waited on a failing flight, and
    /// those right after, share its answer instead of each waiting out the host again.
    pub async fn json(&self, url: &str) -> Result<Arc<Value>, FetchError> {
        if let Some(kept) = self.cached(url) {
            return kept;
        }
        let flight = {
            let mut flights = lock(&self.flights);
            flights.entry(url.to_owned()).or_default().clone()
        };
        let _flying = flight.lock().await;
        // Whoever flew before us may have brought it.
        if let Some(kept) = self.cached(url) {
            return kept;
        }
        let result = self.fetch(url).await;
        lock(&self.flights).remove(url);
        let (result, keep) = match result {
            Ok((value, max_age)) => {
                (Ok(Arc::new(value)), max_age.clamp(self.policy.min_cache, self.policy.max_cache))
            }
            Err(e) => (Err(e), self.policy.failure_cache),
        };
        let kept = Kept { result: result.clone(), until: Instant::now() + keep };
        let retired = lock(&self.cache).insert(url.to_owned(), kept);
        drop(retired);
        result
    }

    /// Forgets `url`'s document (or failure), so the next call fetches it (a key it lacks was
    /// asked for).
    pub fn forget(&self, url: &str) {
        lock(&self.cache).remove(url);
    }

    fn cached(&self, url: &str) -> Option<Result<Arc<Value>, FetchError>> {
        let (hit, retired) = {
            let mut cache = lock(&self.cache);
            let retired = cache.touch(url);
            (cache.peek(url).filter(|k| k.until > Instant::now()).map(|k| k.result.clone()), retired)
        };
        drop(retired);
        hit
    }

    async fn fetch(&self, url: &str) -> Result<(Value, Duration), FetchError> {
        let failed = |reason: String| FetchError::Failed { url: url.to_owned(), reason };
        let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::Refused(format!("{url}: {e}")))?;
        let host = parsed.host_str().ok_or_else(|| FetchError::Refused(format!("{url} names no host")))?;
        let port = parsed.port_or_known_default().unwrap_or(443);
        let address = self.vetted_address(host, port, parsed.scheme()).await?;
        self.count_against(host, self.policy.per_host_per_minute)?;
        let ip = address.ip().to_string();
        if ip != host.trim_start_matches('[').trim_end_matches(']') {
            self.count_against(&ip, self.policy.per_address_per_minute)?;
        }
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .tls_certs_merge(self.policy.extra_roots.iter().cloned())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.policy.timeout)
            .resolve(host, address)
            .build()
            .map_err(|e| failed(e.to_string()))?;
        let mut res = client.get(parsed.clone()).send().await.map_err(|e| failed(e.to_string()))?;
        if !res.status().is_success() {
            return Err(failed(format!("status {}", res.status())));
        }
        let limit = self.policy.max_bytes;
        if res.content_length().is_some_and(|n| n > limit as u64) {
            return Err(failed(format!("the document exceeds {limit} bytes")));
        }
        let max_age = max_age(res.headers().get(reqwest::header::CACHE_CONTROL));
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| failed(e.to_string()))? {
            if body.len() + chunk.len() > limit {
                return Err(failed(format!("the document exceeds {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let value = serde_json::from_slice(&body).map_err(|e| failed(format!("not JSON: {e}")))?;
        Ok((value, max_age))
    }

    /// The address to connect to: the host's first, once every address it resolves to is one Writ
    /// may reach.
    async fn vetted_address(&self, host: &str, port: u16, scheme: &str) -> Result<SocketAddr, FetchError> {
        let refused = |why: String| FetchError::Refused(format!("{host}: {why}"));
        let addresses: Vec<SocketAddr> =
            match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => tokio::time::timeout(self.policy.timeout, tokio::net::lookup_host((host, port)))
                    .await
                    .map_err(|_| refused("name resolution timed out".into()))?
                    .map_err(|e| refused(format!("cannot resolve: {e}")))?
                    .collect(),
            };
        let first = *addresses.first().ok_or_else(|| refused("resolves to no address".into()))?;
        for address in &addresses {
            let ip = address.ip().to_canonical();
            if ip.is_loopback() && self.policy.allow_loopback {
                continue;
            }
            if let Some(kind) = forbidden(ip) {
                return Err(refused(format!("{ip} is {kind}: Writ fetches only from public addresses")));
            }
        }
        let loopback = addresses.iter().all(|a| a.ip().to_canonical().is_loopback());
        match scheme {
            "https" => Ok(first),
            "http" if loopback && self.policy.allow_loopback => Ok(first),
            other => Err(refused(format!("{other}:// is refused: HTTPS only"))),
        }
    }

    /// Counts a fetch against `host` (a name or an address), refusing it past `limit` a minute.
    fn count_against(&self, host: &str, limit: u32) -> Result<(), FetchError> {
        let mut hosts = lock(&self.hosts);
        if hosts.len() > 10_000 {
            hosts.retain(|_, (since, _)| since.elapsed() < Duration::from_secs(60));
        }
        let (since, count) = hosts.entry(host.to_owned()).or_insert((Instant::now(), 0));
        if since.elapsed() >= Duration::from_secs(60) {
            *since = Instant::now();
            *count = 0;
        }
        if *count >= limit {
            return Err(FetchError::RateLimited(host.to_owned()));
        }
        *count += 1;
        Ok(())
    }
}

/// What kind of address `ip` is, if Writ must not fetch from it.
fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local (cloud metadata lives there)")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared (carrier-grade NAT; some clouds' metadata)")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 || a >= 240 {
                Some("not a host address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private (unique local; some clouds' metadata)")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a host address")
            } else {
                None
            }
        }
    }
}

/// `max-age` of a `Cache-Control` value (`no-store` and `no-cache` are 0); none: 5 minutes.
fn max_age(value: Option<&reqwest::header::HeaderValue>) -> Duration {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else { return Duration::from_secs(300) };
    let mut age = Duration::from_secs(300);
    for directive in value.split(',').map(str::trim) {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache") {
            return Duration::ZERO;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=").and_then(|s| s.parse().ok()) {
            age = Duration::from_secs(seconds);
        }
    }
    age
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_writ_must_not_reach() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.100.100.200", "shared"),
            ("0.0.0.0", "not a host"),
            ("224.0.0.1", "not a host"),
            ("::1", "loopback"),
            ("fd00:ec2::254", "private"),
            ("fe80::1", "link-local"),
            ("::", "not a host"),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(forbidden(ip).is_some_and(|k| k.starts_with(kind)), "{ip}: {:?}", forbidden(ip));
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "100.63.0.1", "172.32.0.1"] {
            assert_eq!(forbidden(ip.parse().unwrap()), None, "{ip}");
        }
        // An IPv4 address in IPv6 clothing is judged as IPv4.
        assert!(forbidden("::ffff:10.0.0.1".parse::<IpAddr>().unwrap().to_canonical()).is_some());
    }

    #[test]
    fn cache_lifetimes_come_from_cache_control() {
        let h = |s: &'static str| reqwest::header::HeaderValue::from_static(s);
        assert_eq!(max_age(Some(&h("public, max-age=600"))), Duration::from_secs(600));
        assert_eq!(max_age(Some(&h("no-store"))), Duration::ZERO);
        assert_eq!(max_age(None), Duration::from_secs(300));
    }
}
