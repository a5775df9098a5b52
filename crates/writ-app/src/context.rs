//! The state use cases run against: a [`Deployment`] for any process, and the server [`Context`]
//! built on it once at start (handlers reach it as `web::Data<Context>`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use writ_core::ClientId;
use writ_core::secret::Pepper;
use writ_core::{
    ADMIN_AUDIENCE, ADMIN_SCOPES, GUARD_AUDIENCE, GUARD_SCOPES, Name, ResourceUri, ScopeDef, ScopeName,
    SigningAlg,
};
use writ_store::{Keys, Resources, Store, StoreError};
use writ_token::{Kek, KeyRing, TokenError};

use crate::audit::AuditWriter;
use crate::cache::{Cached, ClientCache};
use crate::changes::{Apply, Change, ChangeBus};
use crate::clock::{Clock, SystemClock};
use crate::settings::Settings;

/// How long a cached client may be served without a change event (the safety net when events are
/// lost, and the only bound between instances that share no Redis).
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(30);
/// Most clients kept in memory; the rest are read from the database when used.
pub const CLIENT_CACHE_CAPACITY: usize = 100_000;
/// How often keys are reloaded even without a change event.
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("signing keys: {0}")]
    Token(#[from] TokenError),
    #[error("{0}")]
    Invalid(#[from] writ_core::Invalid),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("guard store: {0}")]
    Guard(#[from] writ_guard_store::GuardError),
}

/// A deployment as a use case run outside a server sees it: its settings, its database (migrated
/// when configured to, with the built-in resources and an active signing key), its key-encryption
/// key and pepper, and a change bus that publishes only. Opening one starts no task and subscribes
/// to nothing, so the CLI's local commands (`keys`, `bootstrap`) use it directly.
pub struct Deployment {
    pub settings: Settings,
    /// The `iss` of tokens, without a trailing slash.
    pub issuer: String,
    pub store: Store,
    pub pepper: Pepper,
    pub kek: Kek,
    /// Tells the other instances what changed (Redis pub/sub; nothing without Redis).
    pub changes: ChangeBus,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl Deployment {
    /// Checks the settings, opens the database (migrating it when configured to), and makes sure
    /// the built-in resources and a signing key exist. Settings are checked before anything is
    /// created or migrated.
    pub async fn open(settings: Settings, issuer: String) -> Result<Self, InitError> {
        settings.validate()?;
        settings.ensure_data_dir()?;
        let kek = Kek::new(settings.kek()?);
        let pepper = Pepper::new(settings.pepper()?);
        let store = Store::connect(&settings.database_url()).await?;
        if settings.auto_migrate {
            store.migrate().await?;
        }
        ensure_builtin_resources(&store).await?;
        crate::keys::ensure_active(&store, &kek, settings.signing_alg).await?;
        let changes = match settings.redis_target() {
            Some(target) => ChangeBus::redis(&target, &settings.redis_prefix).await?,
            None => ChangeBus::local(),
        };
        Ok(Self { settings, issuer, store, pepper, kek, changes, clock: Arc::new(SystemClock) })
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.issuer)
    }
}

/// The runtime of a server: a [`Deployment`] (reached through `Deref`) plus what serving needs —
/// the key ring, the client cache, the change subscription, the audit writer, the revocation and
/// rate-limit state, metrics — and the tasks that keep keys current.
pub struct Context {
    deployment: Deployment,
    keys: RwLock<KeyRing>,
    /// The deployment's token-endpoint limits, under orgs' and clients' own.
    pub default_limits: writ_core::RateLimits,
    /// Resources that sign with another algorithm: identifier → algorithm.
    resource_algs: RwLock<Arc<HashMap<String, SigningAlg>>>,
    /// Every scope name some resource defines (discovery's `scopes_supported`).
    scope_names: RwLock<Arc<Vec<String>>>,
    /// The trusted issuers, by the exact `iss` of their tokens.
    trusted_issuers: RwLock<Arc<TrustedIssuerMap>>,
    pub clients: Arc<ClientCache>,
    pub audit: AuditWriter,
    /// Revocation state: Redis when configured, else this process's memory.
    pub guard: Arc<dyn writ_guard_store::GuardStore>,
    /// Rate limits of this process alone, used while Redis cannot be reached.
    local_limits: writ_guard_store::MemoryStore,
    pub metrics: crate::metrics::Metrics,
    /// The one outbound fetcher (clients' `jwks_uri`, trusted issuers).
    pub fetcher: crate::fetch::Fetcher,
    /// Clients' public keys, parsed once.
    pub client_keys: crate::token::client_auth::KeyCache,
    /// The client rows of the metadata documents last fetched.
    pub url_clients: crate::delegation::url_clients::Known,
    /// The vendor's login page and the keys of its login responses (the `redirect` login mode).
    pub vendor_login: crate::people::vendor::VendorLogin,
    keys_changed: Arc<tokio::sync::Notify>,
    /// Held across a reload's read and write, so a reload that read the database before a change
    /// cannot overwrite the ring of one that read it after.
    reloading: tokio::sync::Mutex<()>,
}

type TrustedIssuerMap = HashMap<String, Arc<writ_core::federation::TrustedIssuer>>;

async fn trusted_issuers(store: &Store) -> Result<TrustedIssuerMap, StoreError> {
    let all = writ_store::TrustedIssuers::new(store.conn()).all().await?;
    Ok(all.into_iter().map(|t| (t.issuer.to_string(), Arc::new(t))).collect())
}

impl std::ops::Deref for Context {
    type Target = Deployment;

    fn deref(&self) -> &Deployment {
        &self.deployment
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl Context {
    /// Opens the deployment and starts serving it.
    pub async fn init(settings: Settings, issuer: String) -> Result<Arc<Self>, InitError> {
        Self::start(Deployment::open(settings, issuer).await?).await
    }

    /// Loads the keys, follows the change events, starts the audit writer and the key tasks.
    pub async fn start(deployment: Deployment) -> Result<Arc<Self>, InitError> {
        let settings = &deployment.settings;
        let store = &deployment.store;
        let default_limits = settings.default_rate_limits()?;
        let keys = KeyRing::load(&Keys::new(store.conn()).list().await?, &deployment.kek)?;
        let resource_algs = Resources::new(store.conn()).signing_algs().await?;
        let scope_names = Resources::new(store.conn()).scope_names().await?;
        let issuers = trusted_issuers(store).await?;
        // A SQLite database belongs to one process, whose own changes reach its cache at once: it
        // follows every change. With Redis, the subscription says when it does.
        let embedded = settings.redis_url.is_none() && settings.database_url().starts_with("sqlite:");
        let following = Arc::new(std::sync::atomic::AtomicBool::new(embedded));
        let clients = Arc::new(ClientCache::new(CLIENT_CACHE_TTL, CLIENT_CACHE_CAPACITY, following.clone()));
        let keys_changed = Arc::new(tokio::sync::Notify::new());
        let apply: Apply = {
            let (clients, keys_changed) = (clients.clone(), keys_changed.clone());
            Arc::new(move |change: Change| {
                clients.invalidate(&change);
                if matches!(change, Change::Keys | Change::Resource(_) | Change::All) {
                    keys_changed.notify_one();
                }
            })
        };
        deployment.changes.follow(apply, following)?;
        let audit = AuditWriter::start(&settings.database_url()).await?;
        let guard: Arc<dyn writ_guard_store::GuardStore> = match settings.redis_target() {
            Some(target) => Arc::new(
                writ_guard_store::RedisStore::connect(
                    &target,
                    &settings.redis_prefix,
                    settings.revocation_feed_length,
                )
                .await?,
            ),
            None => {
                Arc::new(writ_guard_store::MemoryStore::with_feed_length(settings.revocation_feed_length))
            }
        };
        let metrics = crate::metrics::Metrics::new(settings.metrics_org_labels);
        let fetcher = crate::fetch::Fetcher::new(settings.fetch_policy()?);
        let (login_url, login_keys) = settings.vendor_login()?;
        let ctx = Arc::new(Self {
            deployment,
            keys: RwLock::new(keys),
            default_limits,
            resource_algs: RwLock::new(Arc::new(resource_algs)),
            scope_names: RwLock::new(Arc::new(scope_names)),
            trusted_issuers: RwLock::new(Arc::new(issuers)),
            clients,
            audit,
            guard,
            local_limits: writ_guard_store::MemoryStore::new(),
            metrics,
            fetcher,
            client_keys: Default::default(),
            url_clients: Default::default(),
            vendor_login: crate::people::vendor::VendorLogin { url: login_url, keys: login_keys },
            keys_changed,
            reloading: tokio::sync::Mutex::new(()),
        });
        tokio::spawn(reload_keys(Arc::downgrade(&ctx)));
        tokio::spawn(key_lifecycle(Arc::downgrade(&ctx)));
        tokio::spawn(housekeeping(Arc::downgrade(&ctx)));
        if ctx.settings.redis_url.is_none() {
            let seen = writ_store::SystemState::new(ctx.store.conn()).get(CHANGE_MARKER).await?;
            tokio::spawn(watch_marker(Arc::downgrade(&ctx), seen));
        }
        Ok(ctx)
    }

    /// A client's credentials, from the cache or the database; `None` if there is no such client.
    pub async fn client_credentials(&self, id: &ClientId) -> Result<Cached, StoreError> {
        let admitted: Result<(), std::convert::Infallible> = Ok(());
        match self.client_credentials_unless(id, std::future::ready(admitted)).await {
            Ok(loaded) => loaded,
            Err(never) => match never {},
        }
    }

    /// Like [`Self::client_credentials`], but a cache miss first awaits `before_load`, which may
    /// refuse the database read (the outer error: an address over its failure limit, say).
    pub async fn client_credentials_unless<E>(
        &self,
        id: &ClientId,
        before_load: impl std::future::Future<Output = Result<(), E>>,
    ) -> Result<Result<Cached, StoreError>, E> {
        if let Some(hit) = self.clients.get(id) {
            return Ok(Ok(hit));
        }
        before_load.await?;
        let generation = self.clients.generation();
        let loaded = match writ_store::load_credentials(self.store.conn(), id).await {
            Ok(loaded) => loaded.map(Arc::new),
            Err(e) => return Ok(Err(e)),
        };
        self.clients.insert(generation, id.clone(), loaded.clone());
        Ok(Ok(loaded))
    }

    /// Applies rate-limit checks on the shared store; while it cannot be reached, on this process's
    /// own limiter, so token issuance keeps working (each instance then enforces the limits alone).
    pub async fn throttle(
        &self,
        shard: &str,
        checks: &[writ_guard_store::Check],
    ) -> Vec<writ_guard_store::Decision> {
        use writ_guard_store::GuardStore as _;
        let now_ms = i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        match self.guard.throttle(shard, checks, now_ms).await {
            Ok(decisions) => decisions,
            Err(e) => {
                tracing::warn!(error = %e, "rate limits: shared store unreachable, limiting locally");
                self.local_limits.throttle(shard, checks, now_ms).await.unwrap_or_default()
            }
        }
    }

    /// Applies `change` here at once, then tells the other instances. Call after the change is
    /// committed.
    pub async fn publish(&self, change: Change) {
        self.clients.invalidate(&change);
        if matches!(change, Change::Keys | Change::Resource(_) | Change::All)
            && let Err(e) = self.reload_keys().await
        {
            tracing::error!(error = %e, "reloading keys failed");
        }
        self.changes.send(&change).await;
    }

    /// How many keys the JWKS publishes, as the database says.
    pub async fn published_keys(&self) -> Result<usize, StoreError> {
        Ok(Keys::new(self.store.conn()).list().await?.iter().filter(|k| k.state.is_published()).count())
    }

    /// The current key ring (a cheap clone).
    pub fn keys(&self) -> KeyRing {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the keys, the trusted issuers, the resources' algorithms and the scope names from
    /// the database (after a rotation, a trusted issuer's change, or a resource change).
    pub async fn reload_keys(&self) -> Result<(), InitError> {
        let _one_at_a_time = self.reloading.lock().await;
        let ring = KeyRing::load(&Keys::new(self.store.conn()).list().await?, &self.kek)?;
        let issuers = Arc::new(trusted_issuers(&self.store).await?);
        let resources = Resources::new(self.store.conn());
        let algs = Arc::new(resources.signing_algs().await?);
        let scopes = Arc::new(resources.scope_names().await?);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = ring;
        *self.trusted_issuers.write().unwrap_or_else(|p| p.into_inner()) = issuers;
        *self.resource_algs.write().unwrap_or_else(|p| p.into_inner()) = algs;
        *self.scope_names.write().unwrap_or_else(|p| p.into_inner()) = scopes;
        Ok(())
    }

    /// The trusted issuer whose tokens carry `iss`, if there is one.
    pub fn trusted_issuer(&self, iss: &str) -> Option<Arc<writ_core::federation::TrustedIssuer>> {
        self.trusted_issuers.read().unwrap_or_else(|p| p.into_inner()).get(iss).cloned()
    }

    /// Every scope name some resource defines, sorted.
    pub fn scope_names(&self) -> Arc<Vec<String>> {
        self.scope_names.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The algorithm tokens for `audiences` are signed with: the audiences' own if they name one,
    /// else the deployment's. `None` when the audiences disagree (no single token can suit both).
    pub fn signing_alg_for<'a>(&self, audiences: impl IntoIterator<Item = &'a str>) -> Option<SigningAlg> {
        let algs = self.resource_algs.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut chosen: Option<SigningAlg> = None;
        for aud in audiences {
            let alg = algs.get(aud).copied().unwrap_or(self.settings.signing_alg);
            if chosen.is_some_and(|c| c != alg) {
                return None;
            }
            chosen = Some(alg);
        }
        Some(chosen.unwrap_or(self.settings.signing_alg))
    }
}

/// The system-state key a process that cannot reach every server's change feed (the CLI, on a
/// deployment without Redis) bumps with each change: servers without Redis watch it.
pub const CHANGE_MARKER: &str = "change_marker";
/// How often a server without Redis looks at [`CHANGE_MARKER`].
pub const MARKER_INTERVAL: Duration = Duration::from_secs(1);

/// What the CLI's changes tell running servers: over Redis when there is one, and through the
/// database's change marker for servers without Redis, so every server sees the change within
/// about a second either way.
impl crate::changes::Publish for Deployment {
    async fn publish(&self, change: Change) {
        self.changes.send(&change).await;
        if self.settings.redis_url.is_some() {
            return; // every server follows Redis
        }
        let marker = writ_core::id::new_token_id();
        if let Err(e) = writ_store::SystemState::new(self.store.conn()).set(CHANGE_MARKER, &marker).await {
            tracing::warn!(error = %e, "could not mark the change for servers without Redis");
        }
    }
}

impl crate::changes::Publish for Context {
    async fn publish(&self, change: Change) {
        Context::publish(self, change).await;
    }
}

/// Reloads the key ring when told to, and every [`KEY_RELOAD_INTERVAL`] regardless; ends with the
/// context.
async fn reload_keys(ctx: Weak<Context>) {
    loop {
        let Some(notify) = ctx.upgrade().map(|c| c.keys_changed.clone()) else {
            return;
        };
        let _ = tokio::time::timeout(KEY_RELOAD_INTERVAL, notify.notified()).await;
        let Some(ctx) = ctx.upgrade() else { return };
        if let Err(e) = ctx.reload_keys().await {
            tracing::error!(error = %e, "reloading keys failed");
        }
    }
}

/// Without Redis, another process's changes (the CLI's) arrive through the database: when the
/// change marker moves, everything cached is dropped and the keys reloaded. Ends with the context.
async fn watch_marker(ctx: Weak<Context>, mut seen: Option<String>) {
    loop {
        tokio::time::sleep(MARKER_INTERVAL).await;
        let Some(ctx) = ctx.upgrade() else { return };
        match writ_store::SystemState::new(ctx.store.conn()).get(CHANGE_MARKER).await {
            Ok(marker) if marker != seen => {
                seen = marker;
                ctx.publish(Change::All).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the change marker failed"),
        }
    }
}

/// Advances the signing-key lifecycle every [`crate::keys::LIFECYCLE_TICK`]; ends with the context.
async fn key_lifecycle(ctx: Weak<Context>) {
    loop {
        tokio::time::sleep(crate::keys::LIFECYCLE_TICK).await;
        let Some(ctx) = ctx.upgrade() else { return };
        if let Err(e) = crate::keys::advance(&ctx, ctx.clock.now()).await {
            tracing::error!(error = %e, "advancing the key lifecycle failed");
        }
    }
}

/// How often each instance deletes what has expired (sessions, invitations, authorization
/// requests, refresh tokens, authorizations): often enough to keep the tables small, rarely enough
/// that their unindexed expiry columns cost nothing noticeable.
const HOUSEKEEPING_TICK: std::time::Duration = std::time::Duration::from_secs(300);

/// Deletes expired rows every [`HOUSEKEEPING_TICK`]; ends with the context. Nothing depends on
/// it for correctness: every lookup checks expiry itself.
async fn housekeeping(ctx: Weak<Context>) {
    loop {
        tokio::time::sleep(HOUSEKEEPING_TICK).await;
        let Some(ctx) = ctx.upgrade() else { return };
        let (conn, now) = (ctx.store.conn(), ctx.clock.now());
        let results = [
            ("login sessions", writ_store::LoginSessions::new(conn).purge_expired(now).await),
            ("invitations", writ_store::Invitations::new(conn).purge_expired(now).await),
            ("authorization requests", writ_store::AuthorizationRequests::new(conn).purge_expired(now).await),
            ("refresh tokens", writ_store::RefreshTokens::new(conn).purge_expired(now).await),
            ("authorizations", writ_store::Authorizations::new(conn).purge_expired(now).await),
        ];
        for (what, result) in results {
            match result {
                Ok(0) => {}
                Ok(n) => tracing::debug!(what, deleted = n, "deleted expired rows"),
                Err(e) => tracing::warn!(what, error = %e, "deleting expired rows failed"),
            }
        }
    }
}

async fn ensure_builtin_resources(store: &Store) -> Result<(), InitError> {
    let resources = Resources::new(store.conn());
    for (identifier, name, scopes) in
        [(ADMIN_AUDIENCE, "Writ admin API", ADMIN_SCOPES), (GUARD_AUDIENCE, "Writ guard API", GUARD_SCOPES)]
    {
        let defs = scopes
            .iter()
            .map(|(n, d)| Ok(ScopeDef { name: ScopeName::parse(n)?, description: (*d).to_owned() }))
            .collect::<Result<Vec<_>, writ_core::Invalid>>()?;
        resources.ensure_builtin(&ResourceUri::parse(identifier)?, &Name::parse(name)?, &defs).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settings_that_disagree_touch_nothing() {
        let dir = std::env::temp_dir().join(format!("writ-open-{}", std::process::id()));
        let settings = Settings {
            data_dir: dir.clone(),
            jwks_max_age_seconds: 300,
            key_publish_delay_seconds: 60,
            ..Default::default()
        };
        let refused = Deployment::open(settings, "http://localhost:8080".into()).await.unwrap_err();
        assert!(refused.to_string().contains("key_publish_delay_seconds"), "{refused}");
        assert!(!dir.exists(), "no data directory, key file or database was made");
    }
}
