//! Clients known by their metadata documents (docs/mcp.md): a `client_id` that is an HTTPS URL
//! names a JSON document describing the client (`writ_core::cimd`). Writ fetches it through the
//! one fetcher (`crate::fetch`: public addresses only, no redirects, size and time limits, a cache
//! that follows `Cache-Control`, one flight per URL, a limit per host), and keeps a client row
//! for each URL it meets, so consents, authorizations, audit events and the client cache treat it
//! like any client. The row follows the document: when a fetch brings a changed document, the
//! row changes with it (audited as Writ's own change).
//!
//! While the fetcher holds a document, resolving its URL reads nothing and fetches nothing: the
//! document is the one last seen, so its row is known. An operator can disable or delete the row
//! like any client's; a disabled one stays disabled whatever its document says.

use std::sync::{Arc, Mutex, Weak};

use serde_json::Value;
use writ_core::bounded::BoundedMap;
use writ_core::cimd::{ClientIdUrl, ClientMetadata};
use writ_core::{
    Actor, AuditEvent, AuthMethod, AuthMethods, Client, ClientId, ClientKind, ClientType, Delegation,
    FetchUrl, GrantKind, GrantKinds, Grants, KeySource, Metadata, Name, RateLimits, Status, TokenTtl,
};
use writ_store::{ClientCredentials, Clients, StoreError, Tenant};

use crate::changes::Change;
use crate::context::Context;
use crate::fetch::FetchError;

/// The client rows of the documents last seen, by URL.
pub struct Known(Mutex<BoundedMap<String, (Weak<Value>, ClientId)>>);

impl Default for Known {
    fn default() -> Self {
        Self(Mutex::new(BoundedMap::new(10_000)))
    }
}

impl Known {
    /// The row of `url` if `document` is the very document it was last made from.
    fn get(&self, url: &str, document: &Arc<Value>) -> Option<ClientId> {
        let (hit, retired) = {
            let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let retired = known.touch(url);
            let hit = known.peek(url).filter(|(seen, _)| std::ptr::eq(seen.as_ptr(), Arc::as_ptr(document)));
            (hit.map(|(_, id)| id.clone()), retired)
        };
        drop(retired);
        hit
    }

    fn remember(&self, url: &str, document: &Arc<Value>, id: ClientId) {
        let retired = {
            let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
            known.insert(url.to_owned(), (Arc::downgrade(document), id))
        };
        drop(retired);
    }
}

/// Why a URL client cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlClientError {
    /// This deployment does not take metadata documents.
    #[error("this server does not accept client metadata documents")]
    Off,
    /// The URL, or the document it serves, is not one Writ accepts (said to the caller: it is
    /// about what the client published).
    #[error("{0}")]
    Invalid(String),
    /// The document could not be fetched (refused, slow, down or over its host's limit). Why is
    /// logged, never told: it would say what names resolve to inside the network.
    #[error("its metadata document could not be fetched")]
    Unreachable(String),
    #[error("the database is unavailable")]
    Unavailable,
}

impl From<StoreError> for UrlClientError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "registering a client from its metadata document failed");
        Self::Unavailable
    }
}

/// The client `client_id` names, when it is a metadata document's URL; `None` when it is not one
/// (a registered client's id).
pub async fn resolve(
    ctx: &Context,
    client_id: &str,
) -> Option<Result<Arc<ClientCredentials>, UrlClientError>> {
    if !ClientIdUrl::looks_like(client_id) {
        return None;
    }
    if !ctx.settings.client_id_metadata_documents {
        return Some(Err(UrlClientError::Off));
    }
    Some(match ClientIdUrl::parse(client_id) {
        Ok(url) => client(ctx, &url).await,
        Err(e) => Err(UrlClientError::Invalid(e.reason)),
    })
}

/// The client of the document at `url`: its row, made or brought up to date from the document.
async fn client(ctx: &Context, url: &ClientIdUrl) -> Result<Arc<ClientCredentials>, UrlClientError> {
    let document = match ctx.fetcher.json(url.as_str()).await {
        Ok(document) => document,
        // A host that is down or over its limit does not cut off a client Writ already knows: its
        // row, as last fetched, stands in until the document can be fetched again.
        Err(e @ (FetchError::Failed { .. } | FetchError::RateLimited(_))) => {
            let known = Clients::new(ctx.store.conn(), &Tenant::Operator).by_metadata_url(url).await?;
            tracing::warn!(url = %url, error = %e, known = known.is_some(), "a client metadata document was not fetched");
            let id = known.map(|c| c.id).ok_or_else(|| UrlClientError::Unreachable(e.to_string()))?;
            return loaded(ctx, &id).await;
        }
        Err(FetchError::Refused(why)) => return Err(UrlClientError::Unreachable(why)),
    };
    if let Some(id) = ctx.url_clients.get(url.as_str(), &document)
        && let Some(loaded) = ctx.client_credentials(&id).await?
    {
        return Ok(loaded);
    }
    let metadata = ClientMetadata::parse(url, &document)
        .map_err(|e| UrlClientError::Invalid(format!("its metadata document: {}: {}", e.what, e.reason)))?;
    let id = register(ctx, &metadata).await?;
    ctx.url_clients.remember(url.as_str(), &document, id.clone());
    loaded(ctx, &id).await
}

async fn loaded(ctx: &Context, id: &ClientId) -> Result<Arc<ClientCredentials>, UrlClientError> {
    let loaded = ctx.client_credentials(id).await?;
    loaded.ok_or_else(|| UrlClientError::Unreachable("its row was deleted, its document not fetched".into()))
}

/// Makes or updates the row of a document; its id.
async fn register(ctx: &Context, metadata: &ClientMetadata) -> Result<ClientId, UrlClientError> {
    let txn = ctx.store.begin().await?;
    let clients = Clients::new(&txn, &Tenant::Operator);
    let now = ctx.clock.now();
    let (client, action) = match clients.by_metadata_url(&metadata.client_id).await? {
        Some(old) => {
            let new = described(ctx, metadata, old.clone())?;
            if new == old {
                return Ok(old.id);
            }
            let client = Client { updated_at: now, ..new };
            clients.update(&client).await?;
            (client, "client.updated")
        }
        None => {
            let blank = Client {
                id: ClientId::generate(),
                kind: ClientKind::Service,
                name: Name::parse("client")?,
                status: Status::Active,
                token_ttl: TokenTtl::DEFAULT,
                grants: Grants::new(),
                metadata: Metadata::default(),
                rate_limits: RateLimits::default(),
                auth_methods: AuthMethods::NONE,
                keys: None,
                delegation: Delegation::default(),
                created_at: now,
                updated_at: now,
            };
            let client = described(ctx, metadata, blank)?;
            match clients.create(&client, None).await {
                Ok(()) => {}
                // Another request registered the same URL first: use its row.
                Err(StoreError::Conflict(_)) => {
                    drop(txn);
                    let raced = Clients::new(ctx.store.conn(), &Tenant::Operator);
                    let theirs = raced.by_metadata_url(&metadata.client_id).await?;
                    return theirs.map(|c| c.id).ok_or(UrlClientError::Unavailable);
                }
                Err(e) => return Err(e.into()),
            }
            (client, "client.created")
        }
    };
    let event = AuditEvent::new(Actor::System, None, action, Some(client.id.to_string())).with_details(
        serde_json::json!({
            "metadata_url": metadata.client_id.as_str(),
            "name": client.name.as_str(),
            "redirect_uris": client.delegation.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "auth_methods": client.auth_methods.to_string(),
        }),
    );
    writ_store::Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Client(client.id.clone())).await;
    tracing::info!(client_id = %client.id, url = %metadata.client_id, action, "a client registered by its metadata document");
    Ok(client.id)
}

/// `client` as the document describes it: its name, redirect URIs, authentication and grant
/// types. What an operator set (its status, limits, lifetimes) stays.
fn described(ctx: &Context, m: &ClientMetadata, client: Client) -> Result<Client, UrlClientError> {
    let refused = |why: String| UrlClientError::Invalid(format!("its metadata document: {why}"));
    let name = Name::parse(m.name.as_deref().unwrap_or(m.client_id.host()))
        .map_err(|e| refused(format!("client_name: {}", e.reason)))?;
    let keys = match (&m.jwks, &m.jwks_uri) {
        (Some(jwks), _) => Some(KeySource::Jwks(Arc::new(jwks.clone()))),
        (None, Some(uri)) => Some(KeySource::JwksUri(
            FetchUrl::parse(uri).map_err(|e| refused(format!("jwks_uri: {}", e.reason)))?,
        )),
        (None, None) => None,
    };
    if let Some(keys) = &keys {
        crate::clients::check_keys(ctx, keys, writ_core::MAX_CLIENT_KEYS)
            .map_err(|e| refused(e.to_string()))?;
    }
    let (method, client_type) = match m.private_key_jwt {
        true => (AuthMethod::PrivateKeyJwt, ClientType::Confidential),
        false => (AuthMethod::None, ClientType::Public),
    };
    let mut grants = vec![GrantKind::AuthorizationCode];
    if m.refresh {
        grants.push(GrantKind::RefreshToken);
    }
    Ok(Client {
        name,
        auth_methods: AuthMethods::new([method])?,
        keys,
        delegation: Delegation {
            client_type,
            redirect_uris: m.redirect_uris.clone(),
            grant_types: GrantKinds::new(grants)?,
            metadata_url: Some(m.client_id.clone()),
            ..client.delegation
        },
        ..client
    })
}

impl From<writ_core::Invalid> for UrlClientError {
    fn from(e: writ_core::Invalid) -> Self {
        Self::Invalid(format!("{}: {}", e.what, e.reason))
    }
}
