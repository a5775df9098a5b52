//! The state every Writ service shares: settings, the database, keys and secrets. Built once at
//! start; handlers reach it as `web::Data<Context>`.

use std::sync::{Arc, RwLock};

use writ_core::secret::Pepper;
use writ_core::{
    ADMIN_AUDIENCE, ADMIN_SCOPES, GUARD_AUDIENCE, GUARD_SCOPES, KeyState, Name, ResourceUri, ScopeDef,
    ScopeName, SigningAlg,
};
use writ_store::{Keys, Resources, Store, StoreError};
use writ_token::{Kek, KeyRing, TokenError};

use crate::Settings;

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
}

pub struct Context {
    pub settings: Settings,
    /// The `iss` of tokens, without a trailing slash.
    pub issuer: String,
    pub store: Store,
    pub pepper: Pepper,
    pub kek: Kek,
    keys: RwLock<KeyRing>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Opens the database (migrating it when configured to), makes sure the built-in resources and
    /// a signing key exist, and loads the keys.
    pub async fn init(settings: Settings, issuer: String) -> Result<Arc<Self>, InitError> {
        settings.ensure_data_dir()?;
        let kek = Kek::new(settings.kek()?);
        let pepper = Pepper::new(settings.pepper()?);
        let store = Store::connect(&settings.database_url()).await?;
        if settings.auto_migrate {
            store.migrate().await?;
        }
        ensure_builtin_resources(&store).await?;
        let keys = load_or_create_keys(&store, &kek).await?;
        Ok(Arc::new(Self {
            settings,
            issuer,
            store,
            pepper,
            kek,
            keys: RwLock::new(keys),
        }))
    }

    /// The current key ring (a cheap clone).
    pub fn keys(&self) -> KeyRing {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the keys from the database (after a rotation).
    pub async fn reload_keys(&self) -> Result<(), InitError> {
        let ring = KeyRing::load(&Keys::new(self.store.conn()).list().await?, &self.kek)?;
        match self.keys.write() {
            Ok(mut k) => *k = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.issuer)
    }
}

async fn ensure_builtin_resources(store: &Store) -> Result<(), InitError> {
    let resources = Resources::new(store.conn());
    for (identifier, name, scopes) in [
        (ADMIN_AUDIENCE, "Writ admin API", ADMIN_SCOPES),
        (GUARD_AUDIENCE, "Writ guard API", GUARD_SCOPES),
    ] {
        let defs = scopes
            .iter()
            .map(|(n, d)| {
                Ok(ScopeDef {
                    name: ScopeName::parse(n)?,
                    description: (*d).to_owned(),
                })
            })
            .collect::<Result<Vec<_>, writ_core::Invalid>>()?;
        resources
            .ensure_builtin(&ResourceUri::parse(identifier)?, &Name::parse(name)?, &defs)
            .await?;
    }
    Ok(())
}

/// Loads the key ring, creating the first active ES256 key on a new deployment.
async fn load_or_create_keys(store: &Store, kek: &Kek) -> Result<KeyRing, InitError> {
    let keys = Keys::new(store.conn());
    let mut all = keys.list().await?;
    if !all.iter().any(|k| k.state == KeyState::Active) {
        let key = writ_token::generate_key(SigningAlg::ES256, KeyState::Active, kek)?;
        keys.insert(&key).await?;
        tracing::info!(kid = %key.kid, alg = key.alg.as_str(), "created the first signing key");
        all.push(key);
    }
    Ok(KeyRing::load(&all, kek)?)
}
