//! Settings of every Writ deployment: the values, their defaults and the rules between them.
//! Loading them (a TOML file, then `WRIT_*` environment variables, then flags) is the binaries'
//! business (`writ_http::settings`); the files of the embedded default (generated key-encryption
//! key and pepper) are in [`files`].

mod files;

pub use files::write_private;

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use writ_core::delegation::LoginUrl;
use writ_core::{LoginMode, QuotaMode, SigningAlg};

use crate::origin::TrustedProxies;

/// A configuration secret. `Debug` never prints it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

/// Wiped from memory when dropped.
impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// Every setting, with its default. Field names are the TOML keys; the environment variable of
/// each is `WRIT_` and the name in upper case (`database_url` → `WRIT_DATABASE_URL`).
#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on.
    pub addr: String,
    /// Address of the `/metrics` listener, apart from the API so that it is never public by
    /// accident; empty for none. Loopback by default.
    pub metrics_addr: String,
    /// Whether `writ_tokens_issued_total` counts per org (the first 100 orgs seen, then `other`):
    /// it names tenants, so only where the scraper may know them.
    pub metrics_org_labels: bool,
    /// The `iss` of tokens and the base of discovery URLs. Default: `http://localhost:<port>`.
    pub issuer: Option<String>,
    /// `postgres://…` or `sqlite://…`. Default: the SQLite file `<data_dir>/writ.db`.
    pub database_url: Option<String>,
    /// Redis for change events, revocation and rate limits. Default: in-process (one instance).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments (and tests) can share one Redis.
    pub redis_prefix: String,
    /// Where the embedded default keeps its database, generated secrets and operator credential.
    pub data_dir: PathBuf,
    /// Base64 of the 32-byte key-encryption key. Default: generated into `<data_dir>/kek`.
    pub kek: Option<Secret>,
    /// Base64 of the 32-byte pepper of client-secret hashes. Default: generated into `<data_dir>/pepper`.
    pub pepper: Option<Secret>,
    /// Run pending migrations at start (`writ serve`); turn off when a separate job migrates.
    pub auto_migrate: bool,
    /// The deployment's token signing algorithm: `ES256`, `RS256` or `EdDSA`. Resources may name
    /// their own.
    pub signing_alg: SigningAlg,
    /// How long resource servers may cache the JWKS (`Cache-Control: max-age`).
    pub jwks_max_age_seconds: u32,
    /// How long a new key is published before it signs; at least `jwks_max_age_seconds`, so every
    /// verifier that honours the cache lifetime knows a key before it sees a token signed with it.
    pub key_publish_delay_seconds: u32,
    /// Rotate the signing keys this often (days); 0 turns scheduled rotation off.
    pub key_rotation_days: u32,
    /// Tokens one client may get per second, sustained; 0 turns the limit off.
    pub rate_limit_per_second: u32,
    /// Tokens one client may get at once before the sustained rate applies.
    pub rate_limit_burst: u32,
    /// Failed authentications per minute for one client id from one IP before further attempts
    /// (right or wrong) are refused with 429.
    pub failed_auth_per_minute: u32,
    /// Failed authentications per minute from one address, whatever client ids it names, before
    /// its further failures, and its requests naming a client this instance has not loaded, are
    /// refused with 429; 0 turns the limit off. A correct secret for a loaded client still works,
    /// so the clients behind one NAT address are not all locked out by one of them.
    pub failed_auth_per_address_per_minute: u32,
    /// Failed logins on Writ's pages per minute from one address before further attempts are
    /// refused; 0 turns the limit off.
    pub login_failures_per_address_per_minute: u32,
    /// Failed logins for one account (org and email, whether it exists or not) within a
    /// 15-minute window before it is locked until the window ends; 0 turns the lockout off.
    pub login_failures_per_account: u32,
    /// How long a person stays logged in to Writ's pages (seconds, 300 to 2,592,000).
    pub session_ttl_seconds: u32,
    /// How people log in unless their org says otherwise: `password` (Writ's own pages) or
    /// `redirect` (the vendor's login page at `login_url`, docs/delegation.md).
    pub login_mode: LoginMode,
    /// The vendor's login page, for the `redirect` mode (orgs may name their own).
    pub login_url: Option<String>,
    /// The public keys that sign the vendor's login responses: a JWKS document (JSON text).
    pub login_keys: Option<String>,
    /// The proxies in front of Writ (CIDR blocks or addresses) whose `X-Forwarded-For` (or, without
    /// it, `Forwarded`) names the caller. None by default: the caller is the TCP peer.
    pub trusted_proxies: TrustedProxies,
    /// Whether the outbound fetcher (`crate::fetch`: clients' `jwks_uri`, trusted issuers) may
    /// reach loopback addresses, over plain HTTP too. Default: yes for the embedded default (no
    /// `database_url` or `redis_url`: everything is on this machine anyway), no otherwise.
    pub fetch_allow_loopback: Option<bool>,
    /// A PEM file of certificate authorities the outbound fetcher trusts besides the system's (an
    /// internal CA that signs the servers of clients' keys or metadata documents).
    pub fetch_ca_file: Option<PathBuf>,
    /// Whether a `client_id` that is an HTTPS URL names the client's metadata document (Client ID
    /// Metadata Documents, docs/mcp.md); orgs then say whether their people may use such clients.
    pub client_id_metadata_documents: bool,
    /// Dynamic client registration at `/oauth/register` (RFC 7591, docs/mcp.md): `off`, `open`
    /// (anyone), or `token` (an admin token with `admin:clients:write` registers within its
    /// tenant and what it holds).
    pub registration: crate::delegation::registration::RegistrationMode,
    /// How long a registered client lives (days); 0: until it is deleted.
    pub registration_lifetime_days: u32,
    /// The scopes a registered client may ask for (space-separated); unset: any scope a resource
    /// defines.
    pub registration_scopes: Option<String>,
    /// Registrations per hour from one address; 0 turns the limit off.
    pub registrations_per_address_per_hour: u32,
    /// Revocations one caller (an admin client, or a client revoking its own tokens) may write per
    /// minute; 0 turns the limit off. Bounds how fast anyone can push entries through the
    /// revocation feed.
    pub revocations_per_minute: u32,
    /// How many entries the revocation feed keeps. A follower that falls further behind starts
    /// over from a snapshot, so this bounds memory in the guard store, not correctness.
    pub revocation_feed_length: usize,
    /// Tokens one client may get per clock hour (UTC); 0 for no quota. Orgs and clients may
    /// override it.
    pub quota_per_hour: u32,
    /// Tokens one client may get per day (UTC); 0 for no quota.
    pub quota_per_day: u32,
    /// Over a quota: `enforce` (429) or `log_only` (issue, log and count).
    pub quota_mode: QuotaMode,
    /// `redis_url` names Redis Cluster nodes (comma-separated; any one suffices to find the rest).
    pub redis_cluster: bool,
    /// Log filter (`RUST_LOG` syntax).
    pub log: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            metrics_addr: "127.0.0.1:9464".into(),
            metrics_org_labels: false,
            issuer: None,
            database_url: None,
            redis_url: None,
            redis_prefix: "writ:".into(),
            data_dir: PathBuf::from("writ-data"),
            kek: None,
            pepper: None,
            auto_migrate: true,
            signing_alg: SigningAlg::ES256,
            jwks_max_age_seconds: 300,
            key_publish_delay_seconds: 600,
            key_rotation_days: 90,
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
            failed_auth_per_minute: 10,
            failed_auth_per_address_per_minute: 100,
            login_failures_per_address_per_minute: 30,
            login_failures_per_account: 10,
            session_ttl_seconds: 8 * 3600,
            login_mode: LoginMode::Password,
            login_url: None,
            login_keys: None,
            trusted_proxies: TrustedProxies::default(),
            fetch_allow_loopback: None,
            fetch_ca_file: None,
            client_id_metadata_documents: true,
            registration: Default::default(),
            registration_lifetime_days: 90,
            registration_scopes: None,
            registrations_per_address_per_hour: 20,
            revocations_per_minute: 60,
            revocation_feed_length: writ_guard_store::FEED_LENGTH,
            quota_per_hour: 0,
            quota_per_day: 0,
            quota_mode: QuotaMode::Enforce,
            redis_cluster: false,
            log: "info".into(),
        }
    }
}

/// Like the derived form, but the passwords in the database and Redis URLs are redacted (the key
/// and pepper redact themselves).
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Option<String>| u.as_deref().map(redact_url);
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("metrics_org_labels", &self.metrics_org_labels)
            .field("issuer", &self.issuer)
            .field("database_url", &url(&self.database_url))
            .field("redis_url", &url(&self.redis_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("data_dir", &self.data_dir)
            .field("kek", &self.kek)
            .field("pepper", &self.pepper)
            .field("auto_migrate", &self.auto_migrate)
            .field("signing_alg", &self.signing_alg)
            .field("jwks_max_age_seconds", &self.jwks_max_age_seconds)
            .field("key_publish_delay_seconds", &self.key_publish_delay_seconds)
            .field("key_rotation_days", &self.key_rotation_days)
            .field("rate_limit_per_second", &self.rate_limit_per_second)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("failed_auth_per_minute", &self.failed_auth_per_minute)
            .field("failed_auth_per_address_per_minute", &self.failed_auth_per_address_per_minute)
            .field("login_failures_per_address_per_minute", &self.login_failures_per_address_per_minute)
            .field("login_failures_per_account", &self.login_failures_per_account)
            .field("session_ttl_seconds", &self.session_ttl_seconds)
            .field("login_mode", &self.login_mode)
            .field("login_url", &self.login_url)
            .field("login_keys", &self.login_keys.as_ref().map(|_| "<a JWKS>"))
            .field("trusted_proxies", &self.trusted_proxies)
            .field("fetch_allow_loopback", &self.fetch_allow_loopback)
            .field("fetch_ca_file", &self.fetch_ca_file)
            .field("client_id_metadata_documents", &self.client_id_metadata_documents)
            .field("registration", &self.registration)
            .field("registration_lifetime_days", &self.registration_lifetime_days)
            .field("registration_scopes", &self.registration_scopes)
            .field("registrations_per_address_per_hour", &self.registrations_per_address_per_hour)
            .field("revocations_per_minute", &self.revocations_per_minute)
            .field("revocation_feed_length", &self.revocation_feed_length)
            .field("quota_per_hour", &self.quota_per_hour)
            .field("quota_per_day", &self.quota_per_day)
            .field("quota_mode", &self.quota_mode)
            .field("redis_cluster", &self.redis_cluster)
            .field("log", &self.log)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:<redacted>@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:<redacted>@{host}"),
        None => url.to_owned(),
    }
}

/// At most this many keys sign login responses (the current ones and the next, during a rotation).
const MAX_LOGIN_KEYS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{0} must be the base64 of exactly 32 bytes")]
    BadKey(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
}

impl Settings {
    /// Checks the settings that depend on each other.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.default_rate_limits()?;
        if self.redis_prefix.contains(['{', '}']) {
            return Err(SettingsError::Invalid(
                "redis_prefix must not contain { or }: Writ places its own Redis Cluster hash tags".into(),
            ));
        }
        if self.redis_cluster && self.redis_url.is_none() {
            return Err(SettingsError::Invalid("redis_cluster needs redis_url (the cluster's nodes)".into()));
        }
        if !(300..=2_592_000).contains(&self.session_ttl_seconds) {
            return Err(SettingsError::Invalid("session_ttl_seconds must be between 300 and 2592000".into()));
        }
        let (url, keys) = self.vendor_login()?;
        if self.login_mode == LoginMode::Redirect && (url.is_none() || keys.is_none()) {
            return Err(SettingsError::Invalid(
                "login_mode redirect needs login_url (the vendor's login page) and login_keys (the public \
                 keys that sign its login responses)"
                    .into(),
            ));
        }
        if let Some(scopes) = &self.registration_scopes {
            writ_core::ScopeSet::parse(scopes)
                .map_err(|e| SettingsError::Invalid(format!("registration_scopes: {e}")))?;
        }
        if self.revocation_feed_length == 0 {
            return Err(SettingsError::Invalid("revocation_feed_length must be at least 1".into()));
        }
        if self.key_publish_delay_seconds < self.jwks_max_age_seconds {
            return Err(SettingsError::Invalid(
                "key_publish_delay_seconds must be at least jwks_max_age_seconds, or verifiers could meet a \
                 token signed with a key their cached JWKS does not hold yet"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The deployment's token-endpoint limits: what a client gets when neither it nor its org
    /// says otherwise.
    pub fn default_rate_limits(&self) -> Result<writ_core::RateLimits, SettingsError> {
        writ_core::RateLimits {
            per_second: Some(self.rate_limit_per_second),
            burst: Some(self.rate_limit_burst.max(1)),
            per_hour: Some(self.quota_per_hour),
            per_day: Some(self.quota_per_day),
            quota_mode: Some(self.quota_mode),
        }
        .validate()
        .map_err(|e| SettingsError::Invalid(format!("rate limit settings: {e}")))
    }

    /// The vendor's login page and the keys of its login responses, as far as they are set.
    pub fn vendor_login(&self) -> Result<(Option<LoginUrl>, Option<writ_token::PublicKeys>), SettingsError> {
        let url = self.login_url.as_deref().map(LoginUrl::parse).transpose();
        let url = url.map_err(|e| SettingsError::Invalid(format!("login_url {}", e.reason)))?;
        let keys = match self.login_keys.as_deref() {
            None => None,
            Some(text) => {
                let bad = |why: String| SettingsError::Invalid(format!("login_keys: {why}"));
                let jwks: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| bad(format!("not a JWKS document: {e}")))?;
                writ_token::PublicKeys::check_registered(&jwks, MAX_LOGIN_KEYS).map_err(bad)?;
                Some(writ_token::PublicKeys::for_assertions(&jwks).map_err(|e| bad(e.to_string()))?.0)
            }
        };
        Ok((url, keys))
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("writ.db").display()))
    }

    /// The Redis to connect to, if any.
    pub fn redis_target(&self) -> Option<writ_guard_store::RedisTarget> {
        self.redis_url.as_deref().map(|urls| writ_guard_store::RedisTarget::new(urls, self.redis_cluster))
    }

    /// How the outbound fetcher fetches: loopback as `fetch_allow_loopback` says, else only for
    /// the embedded default; trusting the authorities of `fetch_ca_file` too.
    pub fn fetch_policy(&self) -> Result<crate::fetch::FetchPolicy, SettingsError> {
        let embedded = self.database_url.is_none() && self.redis_url.is_none();
        let extra_roots = match &self.fetch_ca_file {
            None => Vec::new(),
            Some(path) => {
                let bad = |message: String| SettingsError::File { path: path.clone(), message };
                let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
                let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
                if roots.is_empty() {
                    return Err(bad("holds no PEM certificate".into()));
                }
                roots
            }
        };
        Ok(crate::fetch::FetchPolicy {
            allow_loopback: self.fetch_allow_loopback.unwrap_or(embedded),
            extra_roots,
            ..Default::default()
        })
    }

    /// Whether this deployment keeps state in the data directory (SQLite or generated secrets).
    pub fn uses_data_dir(&self) -> bool {
        self.database_url.is_none() || self.kek.is_none() || self.pepper.is_none()
    }

    /// The issuer for a server listening on `port`.
    pub fn issuer_for_port(&self, port: u16) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{port}"))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_login_mode_needs_a_page_and_public_keys() {
        let redirect = Settings { login_mode: LoginMode::Redirect, ..Default::default() };
        assert!(redirect.validate().is_err(), "no login_url or login_keys");
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "v1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let keys = serde_json::json!({ "keys": [jwk] }).to_string();
        let good = Settings {
            login_url: Some("https://app.example.com/writ/login".into()),
            login_keys: Some(keys.clone()),
            ..redirect.clone()
        };
        assert!(good.validate().is_ok());
        let (url, keys_parsed) = good.vendor_login().unwrap();
        assert_eq!((url.is_some(), keys_parsed.map(|k| k.len())), (true, Some(1)));
        let mut private = jwk.clone();
        private["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI".into();
        for (bad, why) in [
            (
                Settings { login_url: Some("http://app.example.com/login".into()), ..good.clone() },
                "http off loopback",
            ),
            (Settings { login_keys: Some("not json".into()), ..good.clone() }, "not a JWKS"),
            (Settings { login_keys: Some(r#"{"keys": []}"#.into()), ..good.clone() }, "no key"),
            (
                Settings {
                    login_keys: Some(serde_json::json!({ "keys": [private] }).to_string()),
                    ..good.clone()
                },
                "a private key",
            ),
        ] {
            assert!(bad.validate().is_err(), "{why}");
        }
        // Keys alone, for orgs that log in on their own pages, are fine with passwords by default.
        assert!(Settings { login_keys: Some(keys), ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn limits_and_redis_settings_are_checked_together() {
        let s = Settings { quota_per_day: 500, quota_mode: QuotaMode::LogOnly, ..Default::default() };
        let limits = s.default_rate_limits().unwrap();
        assert_eq!((limits.per_second, limits.burst, limits.per_day), (Some(100), Some(200), Some(500)));
        assert_eq!(limits.quota_mode, Some(writ_core::QuotaMode::LogOnly));
        let invalid = |s: Settings| s.validate().unwrap_err().to_string();
        let big = Settings { quota_per_hour: u32::MAX, ..Default::default() };
        assert!(invalid(big).contains("per_hour"));
        let tagged = Settings { redis_prefix: "{writ}:".into(), ..Default::default() };
        assert!(invalid(tagged).contains("redis_prefix"));
        assert!(invalid(Settings { redis_cluster: true, ..Default::default() }).contains("redis_url"));
        let cluster = Settings {
            redis_cluster: true,
            redis_url: Some("redis://a,redis://b".into()),
            ..Default::default()
        };
        cluster.validate().unwrap();
    }
}
