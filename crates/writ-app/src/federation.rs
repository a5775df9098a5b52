//! Workload identity federation, administered (docs/clients.md): the operator registers trusted
//! issuers; tenant admins attach federated credentials, naming an issuer by its URL, to their own
//! clients. Removing a credential, or an issuer with all its credentials, revokes every token
//! they minted (tokens carry the credential in `cred`).

use writ_core::federation::{ClaimMatch, FederatedCredential, IdJagBinding, SubjectPattern, TrustedIssuer};
use writ_core::{ClientId, FederatedCredentialId, KeySource, Name, ResourceUri, TrustedIssuerId};
use writ_guard_store::Watermark;
use writ_store::{Audit, Clients, FederatedCredentials, Page, Paged, StoreError, Tenant, TrustedIssuers};

use crate::caller::Caller;
use crate::changes::Change;
use crate::context::Context;
use crate::error::AppError;

/// The most keys a trusted issuer's registered JWKS holds.
pub const MAX_ISSUER_KEYS: usize = 20;

/// A trusted issuer to register.
#[derive(Debug)]
pub struct NewTrustedIssuer {
    pub issuer: ResourceUri,
    pub name: Name,
    /// `None`: found through OIDC discovery.
    pub keys: Option<KeySource>,
    pub max_token_lifetime: u32,
    pub single_use: bool,
    /// Its ID-JAGs act for this org's people (enterprise-managed authorization).
    pub id_jag: Option<IdJagBinding>,
}

/// Changes to a trusted issuer; `None` leaves a field as it is. Its `iss` never changes.
#[derive(Debug, Default)]
pub struct TrustedIssuerChanges {
    pub name: Option<Name>,
    /// `Some(None)`: from now on, found through OIDC discovery.
    pub keys: Option<Option<KeySource>>,
    pub max_token_lifetime: Option<u32>,
    pub single_use: Option<bool>,
    /// `Some(None)`: its ID-JAGs are no longer taken.
    pub id_jag: Option<Option<IdJagBinding>>,
}

fn issuer_event(caller: &Caller, action: &str, t: &TrustedIssuer) -> writ_core::AuditEvent {
    let keys = match &t.keys {
        Some(keys) => crate::clients::keys_summary(Some(keys)),
        None => serde_json::json!("discovery"),
    };
    caller.event(None, action, Some(t.id.to_string())).with_details(serde_json::json!({
        "issuer": t.issuer.as_str(),
        "keys": keys,
        "max_token_lifetime_seconds": t.max_token_lifetime,
        "single_use": t.single_use,
        "id_jag": t.id_jag.as_ref().map(|b| serde_json::json!({"org_id": b.org_id.as_str(), "user_claim": b.user_claim.as_str()})),
    }))
}

/// An ID-JAG binding must name an org that exists.
async fn check_binding(ctx: &Context, binding: Option<&IdJagBinding>) -> Result<(), AppError> {
    let Some(binding) = binding else { return Ok(()) };
    match writ_store::Orgs::new(ctx.store.conn(), &Tenant::Operator).get(&binding.org_id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(AppError::validation("id_jag.org_id", "no such org")),
        Err(e) => Err(e.into()),
    }
}

/// Registers a trusted issuer (operator only). Its `iss` is unique.
pub async fn create_issuer(
    ctx: &Context,
    caller: &Caller,
    new: NewTrustedIssuer,
) -> Result<TrustedIssuer, AppError> {
    caller.require_operator()?;
    if let Some(keys) = &new.keys {
        crate::clients::check_keys(ctx, keys, MAX_ISSUER_KEYS)?;
    }
    check_binding(ctx, new.id_jag.as_ref()).await?;
    let now = ctx.clock.now();
    let issuer = TrustedIssuer {
        id: TrustedIssuerId::generate(),
        issuer: new.issuer,
        name: new.name,
        keys: new.keys,
        max_token_lifetime: new.max_token_lifetime,
        single_use: new.single_use,
        id_jag: new.id_jag,
        created_at: now,
        updated_at: now,
    };
    let txn = ctx.store.begin().await?;
    TrustedIssuers::new(&txn).create(&issuer).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            AppError::conflict(format!("{} is a trusted issuer already", issuer.issuer))
        }
        e => e.into(),
    })?;
    Audit::new(&txn).record(&issuer_event(caller, "trusted_issuer.created", &issuer)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Keys).await;
    Ok(issuer)
}

pub async fn list_issuers(
    ctx: &Context,
    caller: &Caller,
    page: &Page,
) -> Result<Paged<TrustedIssuer>, AppError> {
    caller.require_operator()?;
    Ok(TrustedIssuers::new(ctx.store.conn()).list(page).await?)
}

pub async fn get_issuer(
    ctx: &Context,
    caller: &Caller,
    id: &TrustedIssuerId,
) -> Result<TrustedIssuer, AppError> {
    caller.require_operator()?;
    Ok(TrustedIssuers::new(ctx.store.conn()).get(id).await?)
}

/// Changes a trusted issuer's name, keys, lifetime, replay rule or ID-JAG binding; every instance
/// uses them at once.
pub async fn update_issuer(
    ctx: &Context,
    caller: &Caller,
    id: &TrustedIssuerId,
    changes: TrustedIssuerChanges,
) -> Result<TrustedIssuer, AppError> {
    caller.require_operator()?;
    let txn = ctx.store.begin().await?;
    let issuers = TrustedIssuers::new(&txn);
    let mut issuer = issuers.get(id).await?;
    if let Some(keys) = changes.keys {
        if let Some(keys) = &keys {
            crate::clients::check_keys(ctx, keys, MAX_ISSUER_KEYS)?;
        }
        issuer.keys = keys;
    }
    issuer.name = changes.name.unwrap_or(issuer.name);
    issuer.max_token_lifetime = changes.max_token_lifetime.unwrap_or(issuer.max_token_lifetime);
    issuer.single_use = changes.single_use.unwrap_or(issuer.single_use);
    if let Some(binding) = changes.id_jag {
        check_binding(ctx, binding.as_ref()).await?;
        issuer.id_jag = binding;
    }
    issuer.updated_at = ctx.clock.now();
    issuers.update(&issuer).await?;
    Audit::new(&txn).record(&issuer_event(caller, "trusted_issuer.updated", &issuer)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Keys).await;
    Ok(issuer)
}

/// Deletes a trusted issuer with every federated credential naming it, and revokes every token
/// those credentials minted (if the revocation state cannot take that, nothing is deleted).
pub async fn delete_issuer(ctx: &Context, caller: &Caller, id: &TrustedIssuerId) -> Result<(), AppError> {
    caller.require_operator()?;
    let txn = ctx.store.begin().await?;
    let issuer = TrustedIssuers::new(&txn).get(id).await?;
    let credentials = FederatedCredentials::new(&txn, &Tenant::Operator).of_issuer(id).await?;
    TrustedIssuers::new(&txn).delete(id).await?;
    let mut event = issuer_event(caller, "trusted_issuer.deleted", &issuer);
    event.details["federated_credentials_deleted"] = credentials.len().into();
    Audit::new(&txn).record(&event).await?;
    let watermarks: Vec<Watermark<'_>> = credentials
        .iter()
        .map(|(client, credential)| Watermark::Credential {
            client: client.as_str(),
            id: credential.as_str(),
        })
        .collect();
    // Every client that had one caches it: drop everything (and reload the issuers).
    crate::revocations::cutting(ctx, &watermarks, Change::All, txn).await
}

/// A federated credential to attach to a client; `issuer` is the trusted issuer's URL.
#[derive(Debug)]
pub struct NewFederatedCredential {
    pub issuer: String,
    pub name: Name,
    pub subject: SubjectPattern,
    pub audience: Option<ResourceUri>,
    pub claims: ClaimMatch,
}

/// Attaches a federated credential to a client the caller sees. The issuer must be trusted; a
/// subject of only `*` needs a claim; a client holds at most
/// [`FederatedCredential::MAX_PER_CLIENT`].
pub async fn add_credential(
    ctx: &Context,
    caller: &Caller,
    client_id: &ClientId,
    new: NewFederatedCredential,
) -> Result<FederatedCredential, AppError> {
    FederatedCredential::check(&new.subject, &new.claims)
        .map_err(|e| AppError::validation("subject", e.to_string()))?;
    let txn = ctx.store.begin().await?;
    let client = Clients::new(&txn, &caller.tenant).get(client_id).await?;
    let issuer = TrustedIssuers::new(&txn).by_issuer(&new.issuer).await.map_err(|e| match e {
        StoreError::NotFound => {
            AppError::validation("issuer", "not a trusted issuer (the operator registers them)")
        }
        e => e.into(),
    })?;
    let credentials = FederatedCredentials::new(&txn, &caller.tenant);
    if credentials.of_client(client_id).await?.len() >= FederatedCredential::MAX_PER_CLIENT {
        return Err(AppError::conflict(format!(
            "a client holds at most {} federated credentials",
            FederatedCredential::MAX_PER_CLIENT
        )));
    }
    let credential = FederatedCredential {
        id: FederatedCredentialId::generate(),
        client_id: client_id.clone(),
        issuer_id: issuer.id.clone(),
        name: new.name,
        subject: new.subject,
        audience: new.audience,
        claims: new.claims,
        created_at: ctx.clock.now(),
    };
    credentials.create(&credential).await?;
    let event = caller
        .event(
            client.kind.org_id().cloned(),
            "client.federated_credential_created",
            Some(client_id.to_string()),
        )
        .with_details(credential_details(&credential, &issuer));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Client(client_id.clone())).await;
    Ok(credential)
}

fn credential_details(c: &FederatedCredential, issuer: &TrustedIssuer) -> serde_json::Value {
    serde_json::json!({
        "federated_credential_id": c.id.as_str(),
        "issuer": issuer.issuer.as_str(),
        "subject": c.subject.as_str(),
        "audience": c.audience.as_ref().map(ResourceUri::as_str),
        "claims": c.claims.iter().collect::<std::collections::BTreeMap<_, _>>(),
    })
}

/// A client's federated credentials, with the issuer URL each names.
pub async fn credentials(
    ctx: &Context,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<Vec<(FederatedCredential, String)>, AppError> {
    let list = FederatedCredentials::new(ctx.store.conn(), &caller.tenant).of_client(client_id).await?;
    let issuers = TrustedIssuers::new(ctx.store.conn());
    let mut named = Vec::with_capacity(list.len());
    for c in list {
        let issuer = issuers.get(&c.issuer_id).await?.issuer.to_string();
        named.push((c, issuer));
    }
    Ok(named)
}

/// Removes a federated credential and revokes every token it minted.
pub async fn delete_credential(
    ctx: &Context,
    caller: &Caller,
    client_id: &ClientId,
    id: &FederatedCredentialId,
) -> Result<(), AppError> {
    let txn = ctx.store.begin().await?;
    let client = Clients::new(&txn, &caller.tenant).get(client_id).await?;
    let removed = FederatedCredentials::new(&txn, &caller.tenant).delete(client_id, id).await?;
    let issuer = TrustedIssuers::new(&txn).get(&removed.issuer_id).await?;
    let event = caller
        .event(
            client.kind.org_id().cloned(),
            "client.federated_credential_deleted",
            Some(client_id.to_string()),
        )
        .with_details(credential_details(&removed, &issuer));
    Audit::new(&txn).record(&event).await?;
    let cut = [Watermark::Credential { client: client_id.as_str(), id: id.as_str() }];
    crate::revocations::cutting(ctx, &cut, Change::Client(client_id.clone()), txn).await
}
