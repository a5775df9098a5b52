//! Settings of every Writ binary. They come from a TOML file, then `WRIT_*` environment variables,
//! then command-line flags, each overriding the one before (the binaries' clap definitions read the
//! environment and flags; this module reads the file and fills in defaults).

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

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

    pub fn into_string(self) -> String {
        self.0
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
    pub signing_alg: String,
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
    /// Tokens one client may get per clock hour (UTC); 0 for no quota. Orgs and clients may
    /// override it.
    pub quota_per_hour: u32,
    /// Tokens one client may get per day (UTC); 0 for no quota.
    pub quota_per_day: u32,
    /// Over a quota: `enforce` (429) or `log_only` (issue, log and count).
    pub quota_mode: String,
    /// `redis_url` names Redis Cluster nodes (comma-separated; any one suffices to find the rest).
    pub redis_cluster: bool,
    /// Log filter (`RUST_LOG` syntax).
    pub log: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            issuer: None,
            database_url: None,
            redis_url: None,
            redis_prefix: "writ:".into(),
            data_dir: PathBuf::from("writ-data"),
            kek: None,
            pepper: None,
            auto_migrate: true,
            signing_alg: "ES256".into(),
            jwks_max_age_seconds: 300,
            key_publish_delay_seconds: 600,
            key_rotation_days: 90,
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
            failed_auth_per_minute: 10,
            quota_per_hour: 0,
            quota_per_day: 0,
            quota_mode: "enforce".into(),
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

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    File { path: PathBuf, source: config::ConfigError },
    #[error("{0} must be the base64 of exactly 32 bytes")]
    BadKey(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
}

impl Settings {
    /// Reads `file` (if given) over the defaults. Environment and flags are applied by the caller
    /// with [`Settings::apply`].
    pub fn from_file(file: Option<&Path>) -> Result<Self, SettingsError> {
        let Some(path) = file else {
            return Ok(Self::default());
        };
        config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|source| SettingsError::File { path: path.to_owned(), source })
    }

    /// Overrides every setting the environment or a flag gave (clap has merged those two, flags
    /// winning).
    pub fn apply(mut self, a: SettingsArgs) -> Self {
        macro_rules! set {
            (value: $($f:ident),*; optional: $($o:ident),*; url: $($u:ident),*) => {
                $(if let Some(v) = a.$f { self.$f = v; })*
                $(if a.$o.is_some() { self.$o = a.$o; })*
                $(if let Some(v) = a.$u { self.$u = Some(v.into_string()); })*
            };
        }
        set!(
            value: addr, redis_prefix, data_dir, auto_migrate, log, signing_alg, jwks_max_age_seconds,
                key_publish_delay_seconds, key_rotation_days, rate_limit_per_second, rate_limit_burst,
                failed_auth_per_minute, quota_per_hour, quota_per_day, quota_mode, redis_cluster;
            optional: issuer, kek, pepper;
            url: database_url, redis_url
        );
        self
    }

    /// Checks the settings that depend on each other.
    pub fn validate(&self) -> Result<(), SettingsError> {
        writ_core::SigningAlg::parse(&self.signing_alg)
            .map_err(|e| SettingsError::Invalid(format!("signing_alg: {e}")))?;
        self.default_rate_limits()?;
        if self.redis_prefix.contains(['{', '}']) {
            return Err(SettingsError::Invalid(
                "redis_prefix must not contain { or }: Writ places its own Redis Cluster hash tags".into(),
            ));
        }
        if self.redis_cluster && self.redis_url.is_none() {
            return Err(SettingsError::Invalid("redis_cluster needs redis_url (the cluster's nodes)".into()));
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
        let quota_mode = match self.quota_mode.as_str() {
            "enforce" => writ_core::QuotaMode::Enforce,
            "log_only" => writ_core::QuotaMode::LogOnly,
            other => {
                return Err(SettingsError::Invalid(format!(
                    "quota_mode must be enforce or log_only, not `{other}`"
                )));
            }
        };
        writ_core::RateLimits {
            per_second: Some(self.rate_limit_per_second),
            burst: Some(self.rate_limit_burst.max(1)),
            per_hour: Some(self.quota_per_hour),
            per_day: Some(self.quota_per_day),
            quota_mode: Some(quota_mode),
        }
        .validate()
        .map_err(|e| SettingsError::Invalid(format!("rate limit settings: {e}")))
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("writ.db").display()))
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

    /// Creates the data directory (0700) if it is needed and missing.
    pub fn ensure_data_dir(&self) -> Result<(), SettingsError> {
        if !self.uses_data_dir() {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .map_err(|source| SettingsError::DataDir { path: self.data_dir.clone(), source })
    }

    /// The key-encryption key: from settings, else from `<data_dir>/kek`, generated on first use.
    pub fn kek(&self) -> Result<[u8; 32], SettingsError> {
        self.key("kek", self.kek.as_ref())
    }

    /// The pepper: from settings, else from `<data_dir>/pepper`, generated on first use.
    pub fn pepper(&self) -> Result<[u8; 32], SettingsError> {
        self.key("pepper", self.pepper.as_ref())
    }

    fn key(&self, name: &'static str, configured: Option<&Secret>) -> Result<[u8; 32], SettingsError> {
        let decode = |s: &str| -> Result<[u8; 32], SettingsError> {
            B64.decode(s.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(SettingsError::BadKey(name))
        };
        if let Some(s) = configured {
            return decode(s.expose());
        }
        let path = self.data_dir.join(name);
        let io = |source| SettingsError::DataDir { path: path.clone(), source };
        match std::fs::read_to_string(&path) {
            Ok(s) => decode(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| io(std::io::Error::other(e.to_string())))?;
                write_private(&path, format!("{}\n", B64.encode(key)).as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Writes a new file readable by its owner only (0600). Fails if the file exists, so a secret is
/// never silently replaced.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_then_overrides_and_secrets_stay_hidden() {
        let dir = std::env::temp_dir().join(format!("writ-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("writ.toml");
        std::fs::write(&file, "addr = \"0.0.0.0:9000\"\nlog = \"debug\"\npepper = \"c2VjcmV0\"\n").unwrap();
        let s = Settings::from_file(Some(&file)).unwrap();
        assert_eq!(s.addr, "0.0.0.0:9000");
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
        let s = s.apply(SettingsArgs {
            addr: Some("127.0.0.1:1".into()),
            database_url: Some(Secret::new("postgres://writ:hunter2@db:5432/writ")),
            kek: Some(Secret::new("a2Vr")),
            ..Default::default()
        });
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("a2Vr"), "{debug}");
        assert!(debug.contains("postgres://writ:<redacted>@db:5432/writ"));
        assert_eq!(s.database_url.as_deref(), Some("postgres://writ:hunter2@db:5432/writ"));
        assert_eq!(s.addr, "127.0.0.1:1");
        assert_eq!(s.log, "debug", "kept from the file");
        assert!(matches!(s.pepper(), Err(SettingsError::BadKey("pepper"))));
        std::fs::write(&file, "nope = 1\n").unwrap();
        assert!(Settings::from_file(Some(&file)).is_err(), "unknown keys are refused");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn limits_and_redis_settings_are_checked_together() {
        let s = Settings { quota_per_day: 500, quota_mode: "log_only".into(), ..Default::default() };
        let limits = s.default_rate_limits().unwrap();
        assert_eq!((limits.per_second, limits.burst, limits.per_day), (Some(100), Some(200), Some(500)));
        assert_eq!(limits.quota_mode, Some(writ_core::QuotaMode::LogOnly));
        let invalid = |s: Settings| s.validate().unwrap_err().to_string();
        assert!(
            invalid(Settings { quota_mode: "strict".into(), ..Default::default() }).contains("quota_mode")
        );
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

    #[test]
    fn generated_keys_are_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("writ-keys-{}", std::process::id()));
        let s = Settings { data_dir: dir.clone(), ..Default::default() };
        s.ensure_data_dir().unwrap();
        let k1 = s.kek().unwrap();
        assert_eq!(s.kek().unwrap(), k1);
        assert_ne!(s.pepper().unwrap(), k1);
        let mode = std::fs::metadata(dir.join("kek")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The settings flags every binary accepts; each also reads its `WRIT_*` environment variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingsArgs {
    /// A TOML settings file (read first; the environment and flags override it).
    #[arg(long, env = "WRIT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "WRIT_ADDR", global = true)]
    pub addr: Option<String>,
    /// Issuer URL (`iss`) [default: http://localhost:<port>].
    #[arg(long, env = "WRIT_ISSUER", global = true)]
    pub issuer: Option<String>,
    /// postgres://… or sqlite://… [default: SQLite in the data directory].
    #[arg(long, env = "WRIT_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// redis://… [default: in-process].
    #[arg(long, env = "WRIT_REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// Prefix of Redis keys and channels [default: writ:].
    #[arg(long, env = "WRIT_REDIS_PREFIX", global = true)]
    pub redis_prefix: Option<String>,
    /// Data directory of the embedded default [default: ./writ-data].
    #[arg(long, env = "WRIT_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Base64 of the 32-byte key-encryption key [default: <data_dir>/kek].
    #[arg(long, env = "WRIT_KEK", global = true, hide_env_values = true)]
    pub kek: Option<Secret>,
    /// Base64 of the 32-byte secret-hash pepper [default: <data_dir>/pepper].
    #[arg(long, env = "WRIT_PEPPER", global = true, hide_env_values = true)]
    pub pepper: Option<Secret>,
    /// Run pending migrations at start [default: true].
    #[arg(long, env = "WRIT_AUTO_MIGRATE", global = true)]
    pub auto_migrate: Option<bool>,
    /// Log filter, RUST_LOG syntax [default: info].
    #[arg(long, env = "WRIT_LOG", global = true)]
    pub log: Option<String>,
    /// Token signing algorithm: ES256, RS256 or EdDSA [default: ES256].
    #[arg(long, env = "WRIT_SIGNING_ALG", global = true)]
    pub signing_alg: Option<String>,
    /// JWKS Cache-Control max-age in seconds [default: 300].
    #[arg(long, env = "WRIT_JWKS_MAX_AGE_SECONDS", global = true)]
    pub jwks_max_age_seconds: Option<u32>,
    /// Seconds a new key is published before it signs [default: 600].
    #[arg(long, env = "WRIT_KEY_PUBLISH_DELAY_SECONDS", global = true)]
    pub key_publish_delay_seconds: Option<u32>,
    /// Days between scheduled key rotations, 0 for none [default: 90].
    #[arg(long, env = "WRIT_KEY_ROTATION_DAYS", global = true)]
    pub key_rotation_days: Option<u32>,
    /// Tokens per second per client, 0 for no limit [default: 100].
    #[arg(long, env = "WRIT_RATE_LIMIT_PER_SECOND", global = true)]
    pub rate_limit_per_second: Option<u32>,
    /// Burst of tokens per client [default: 200].
    #[arg(long, env = "WRIT_RATE_LIMIT_BURST", global = true)]
    pub rate_limit_burst: Option<u32>,
    /// Failed authentications per minute per client id and IP [default: 10].
    #[arg(long, env = "WRIT_FAILED_AUTH_PER_MINUTE", global = true)]
    pub failed_auth_per_minute: Option<u32>,
    /// Tokens per clock hour per client, 0 for no quota [default: 0].
    #[arg(long, env = "WRIT_QUOTA_PER_HOUR", global = true)]
    pub quota_per_hour: Option<u32>,
    /// Tokens per day per client, 0 for no quota [default: 0].
    #[arg(long, env = "WRIT_QUOTA_PER_DAY", global = true)]
    pub quota_per_day: Option<u32>,
    /// Over a quota: enforce or log_only [default: enforce].
    #[arg(long, env = "WRIT_QUOTA_MODE", global = true)]
    pub quota_mode: Option<String>,
    /// redis_url lists Redis Cluster nodes, comma-separated [default: false].
    #[arg(long, env = "WRIT_REDIS_CLUSTER", global = true)]
    pub redis_cluster: Option<bool>,
}

impl SettingsArgs {
    /// The file, then the environment and flags.
    pub fn load(self) -> Result<Settings, SettingsError> {
        Ok(Settings::from_file(self.config.as_deref())?.apply(self))
    }
}
