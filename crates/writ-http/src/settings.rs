//! Loading the settings of a binary: a TOML file, then `WRIT_*` environment variables, then
//! command-line flags, each overriding the one before (clap reads the environment and flags; this
//! module reads the file). The values and their rules are `writ_app::settings`.

use std::path::{Path, PathBuf};

use writ_app::delegation::registration::RegistrationMode;
use writ_app::origin::TrustedProxies;
use writ_app::settings::{Secret, Settings, SettingsError};
use writ_core::{LoginMode, QuotaMode, SigningAlg};

/// The settings flags every binary accepts; each also reads its `WRIT_*` environment variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingsArgs {
    /// A TOML settings file (read first; the environment and flags override it).
    #[arg(long, env = "WRIT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "WRIT_ADDR", global = true)]
    pub addr: Option<String>,
    /// Address of the /metrics listener, empty for none [default: 127.0.0.1:9464].
    #[arg(long, env = "WRIT_METRICS_ADDR", global = true)]
    pub metrics_addr: Option<String>,
    /// Count issued tokens per org in /metrics [default: false].
    #[arg(long, env = "WRIT_METRICS_ORG_LABELS", global = true)]
    pub metrics_org_labels: Option<bool>,
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
    #[arg(long, env = "WRIT_SIGNING_ALG", global = true, value_parser = SigningAlg::parse)]
    pub signing_alg: Option<SigningAlg>,
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
    /// Failed authentications per minute per IP, whatever the client ids, 0 for no limit
    /// [default: 100].
    #[arg(long, env = "WRIT_FAILED_AUTH_PER_ADDRESS_PER_MINUTE", global = true)]
    pub failed_auth_per_address_per_minute: Option<u32>,
    /// Failed logins on Writ's pages per minute per IP, 0 for no limit [default: 30].
    #[arg(long, env = "WRIT_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE", global = true)]
    pub login_failures_per_address_per_minute: Option<u32>,
    /// Failed logins per account in a 15-minute window before it is locked until the window
    /// ends, 0 for no lockout [default: 10].
    #[arg(long, env = "WRIT_LOGIN_FAILURES_PER_ACCOUNT", global = true)]
    pub login_failures_per_account: Option<u32>,
    /// How long a person stays logged in to Writ's pages, in seconds [default: 28800].
    #[arg(long, env = "WRIT_SESSION_TTL_SECONDS", global = true)]
    pub session_ttl_seconds: Option<u32>,
    /// How people log in unless their org says otherwise: password or redirect
    /// [default: password].
    #[arg(long, env = "WRIT_LOGIN_MODE", global = true, value_parser = LoginMode::parse)]
    pub login_mode: Option<LoginMode>,
    /// The vendor's login page, for the redirect login mode.
    #[arg(long, env = "WRIT_LOGIN_URL", global = true)]
    pub login_url: Option<String>,
    /// The public keys that sign the vendor's login responses: a JWKS document (JSON).
    #[arg(long, env = "WRIT_LOGIN_KEYS", global = true)]
    pub login_keys: Option<String>,
    /// Proxies whose X-Forwarded-For names the caller: CIDR blocks or addresses, comma-separated
    /// [default: none].
    #[arg(long, env = "WRIT_TRUSTED_PROXIES", global = true, value_parser = TrustedProxies::parse)]
    pub trusted_proxies: Option<TrustedProxies>,
    /// Let the outbound fetcher (client jwks_uri and metadata documents, trusted issuers) reach
    /// loopback addresses, over plain HTTP too [default: true for the embedded default, else
    /// false].
    #[arg(long, env = "WRIT_FETCH_ALLOW_LOOPBACK", global = true)]
    pub fetch_allow_loopback: Option<bool>,
    /// A PEM file of certificate authorities the outbound fetcher trusts besides the system's.
    #[arg(long, env = "WRIT_FETCH_CA_FILE", global = true)]
    pub fetch_ca_file: Option<PathBuf>,
    /// Whether a client_id that is an HTTPS URL names the client's metadata document
    /// [default: true].
    #[arg(long, env = "WRIT_CLIENT_ID_METADATA_DOCUMENTS", global = true)]
    pub client_id_metadata_documents: Option<bool>,
    /// Dynamic client registration: off, open or token [default: off].
    #[arg(long, env = "WRIT_REGISTRATION", global = true, value_parser = RegistrationMode::parse)]
    pub registration: Option<RegistrationMode>,
    /// Days a registered client lives, 0 for no end [default: 90].
    #[arg(long, env = "WRIT_REGISTRATION_LIFETIME_DAYS", global = true)]
    pub registration_lifetime_days: Option<u32>,
    /// The scopes registered clients may ask for, space-separated [default: any a resource defines].
    #[arg(long, env = "WRIT_REGISTRATION_SCOPES", global = true)]
    pub registration_scopes: Option<String>,
    /// Client registrations per hour per IP, 0 for no limit [default: 20].
    #[arg(long, env = "WRIT_REGISTRATIONS_PER_ADDRESS_PER_HOUR", global = true)]
    pub registrations_per_address_per_hour: Option<u32>,
    /// Revocations per minute per caller, 0 for no limit [default: 60].
    #[arg(long, env = "WRIT_REVOCATIONS_PER_MINUTE", global = true)]
    pub revocations_per_minute: Option<u32>,
    /// Entries the revocation feed keeps; followers further behind resync from a snapshot
    /// [default: 100000].
    #[arg(long, env = "WRIT_REVOCATION_FEED_LENGTH", global = true)]
    pub revocation_feed_length: Option<usize>,
    /// Tokens per clock hour per client, 0 for no quota [default: 0].
    #[arg(long, env = "WRIT_QUOTA_PER_HOUR", global = true)]
    pub quota_per_hour: Option<u32>,
    /// Tokens per day per client, 0 for no quota [default: 0].
    #[arg(long, env = "WRIT_QUOTA_PER_DAY", global = true)]
    pub quota_per_day: Option<u32>,
    /// Over a quota: enforce or log_only [default: enforce].
    #[arg(long, env = "WRIT_QUOTA_MODE", global = true, value_parser = QuotaMode::parse)]
    pub quota_mode: Option<QuotaMode>,
    /// redis_url lists Redis Cluster nodes, comma-separated [default: false].
    #[arg(long, env = "WRIT_REDIS_CLUSTER", global = true)]
    pub redis_cluster: Option<bool>,
}

impl SettingsArgs {
    /// The file, then the environment and flags, checked as a whole before anything uses them.
    pub fn load(self) -> Result<Settings, SettingsError> {
        let file = from_file(self.config.as_deref())?;
        let settings = self.apply(file);
        settings.validate()?;
        Ok(settings)
    }

    /// Overrides every setting the environment or a flag gave (clap has merged those two, flags
    /// winning).
    pub fn apply(self, mut s: Settings) -> Settings {
        let a = self;
        macro_rules! set {
            (value: $($f:ident),*; optional: $($o:ident),*; url: $($u:ident),*) => {
                $(if let Some(v) = a.$f { s.$f = v; })*
                $(if a.$o.is_some() { s.$o = a.$o; })*
                $(if let Some(v) = a.$u { s.$u = Some(v.into_string()); })*
            };
        }
        set!(
            value: addr, metrics_addr, metrics_org_labels, redis_prefix, data_dir, auto_migrate, log, signing_alg, jwks_max_age_seconds,
                key_publish_delay_seconds, key_rotation_days, rate_limit_per_second, rate_limit_burst,
                failed_auth_per_minute, failed_auth_per_address_per_minute, login_failures_per_address_per_minute,
                login_failures_per_account, session_ttl_seconds, login_mode, trusted_proxies, revocations_per_minute, revocation_feed_length, quota_per_hour, quota_per_day, quota_mode, redis_cluster,
                client_id_metadata_documents, registration, registration_lifetime_days,
                registrations_per_address_per_hour;
            optional: issuer, kek, pepper, fetch_allow_loopback, fetch_ca_file, login_url, login_keys,
                registration_scopes;
            url: database_url, redis_url
        );
        s
    }
}

/// Reads `file` (if given) over the defaults.
pub fn from_file(file: Option<&Path>) -> Result<Settings, SettingsError> {
    let Some(path) = file else {
        return Ok(Settings::default());
    };
    config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| SettingsError::File { path: path.to_owned(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_overrides_and_secrets_stay_hidden() {
        let dir = std::env::temp_dir().join(format!("writ-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("writ.toml");
        std::fs::write(&file, "addr = \"0.0.0.0:9000\"\nlog = \"debug\"\npepper = \"c2VjcmV0\"\n").unwrap();
        let s = from_file(Some(&file)).unwrap();
        assert_eq!(s.addr, "0.0.0.0:9000");
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
        let s = SettingsArgs {
            addr: Some("127.0.0.1:1".into()),
            database_url: Some(Secret::new("postgres://writ:hunter2@db:5432/writ")),
            kek: Some(Secret::new("a2Vr")),
            ..Default::default()
        }
        .apply(s);
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("a2Vr"), "{debug}");
        assert!(debug.contains("postgres://writ:<redacted>@db:5432/writ"));
        assert_eq!(s.database_url.as_deref(), Some("postgres://writ:hunter2@db:5432/writ"));
        assert_eq!(s.addr, "127.0.0.1:1");
        assert_eq!(s.log, "debug", "kept from the file");
        assert!(matches!(s.pepper(), Err(SettingsError::BadKey("pepper"))));
        std::fs::write(&file, "nope = 1\n").unwrap();
        assert!(from_file(Some(&file)).is_err(), "unknown keys are refused");
        std::fs::write(&file, "quota_mode = \"strict\"\n").unwrap();
        let refused = from_file(Some(&file)).unwrap_err().to_string();
        assert!(refused.contains("quota_mode") || refused.contains("strict"), "{refused}");
        std::fs::write(&file, "signing_alg = \"HS256\"\n").unwrap();
        assert!(from_file(Some(&file)).is_err(), "an unknown algorithm is refused on reading");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
