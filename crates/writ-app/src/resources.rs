//! Resources, the APIs tokens are for: create, list, read, update, delete (operator only; anyone
//! with the read scope may list them). Writ's own APIs are built in and cannot be changed; a scope
//! or resource still granted cannot be removed.

use std::collections::HashSet;

use writ_core::{Name, Resource, ResourceId, ResourceUri, ScopeDef, ScopeName, SigningAlg};
use writ_store::{Audit, Orgs, Page, Paged, Resources, StoreError, Tenant};

use crate::caller::Caller;
use crate::changes::Change;
use crate::context::Context;
use crate::error::AppError;

/// The longest description a scope may have, in characters.
pub const MAX_DESCRIPTION: usize = 500;

/// A resource to create.
#[derive(Debug)]
pub struct NewResource {
    pub identifier: ResourceUri,
    pub name: Name,
    pub scopes: Vec<ScopeDef>,
    /// The algorithm its tokens are signed with; the deployment's when `None`.
    pub signing_alg: Option<SigningAlg>,
}

/// Changes to a resource; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ResourceChanges {
    pub name: Option<Name>,
    pub scopes: Option<Vec<ScopeDef>>,
    /// `Some(None)` goes back to the deployment's algorithm.
    pub signing_alg: Option<Option<SigningAlg>>,
}

/// A resource's scopes: each named once, each description at most [`MAX_DESCRIPTION`] characters.
pub fn scope_defs(list: impl IntoIterator<Item = (ScopeName, String)>) -> Result<Vec<ScopeDef>, AppError> {
    let mut seen = HashSet::new();
    list.into_iter()
        .map(|(name, description)| {
            if !seen.insert(name.clone()) {
                return Err(AppError::validation("scopes", format!("scope `{name}` is listed twice")));
            }
            if description.chars().count() > MAX_DESCRIPTION {
                return Err(AppError::validation("scopes", "descriptions are at most 500 characters"));
            }
            // A consent page shows it to people.
            if description.chars().any(writ_core::is_unsafe_char) {
                return Err(AppError::validation(
                    "scopes",
                    "descriptions must not contain control characters or bidirectional marks",
                ));
            }
            Ok(ScopeDef { name, description })
        })
        .collect()
}

/// A conflict the store reports (a scope or resource still granted) as the caller should read it.
fn in_use(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(detail) => AppError::conflict(detail),
        e => e.into(),
    }
}

/// Makes sure `alg` has a signing key before any token for the resource needs one.
async fn ensure_key(ctx: &Context, alg: Option<SigningAlg>) -> Result<(), AppError> {
    if let Some(alg) = alg {
        crate::keys::ensure_active(&ctx.store, &ctx.kek, alg).await.map_err(|e| AppError::internal(&e))?;
    }
    Ok(())
}

pub async fn create(ctx: &Context, caller: &Caller, new: NewResource) -> Result<Resource, AppError> {
    caller.require_operator()?;
    if new.identifier.as_str().starts_with("urn:writ:") {
        return Err(AppError::validation(
            "identifier",
            "urn:writ: identifiers are reserved for Writ's own APIs",
        ));
    }
    let now = ctx.clock.now();
    let resource = Resource {
        id: ResourceId::generate(),
        identifier: new.identifier,
        name: new.name,
        scopes: new.scopes,
        builtin: false,
        signing_alg: new.signing_alg,
        created_at: now,
        updated_at: now,
    };
    let txn = ctx.store.begin().await?;
    Resources::new(&txn).create(&resource).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            AppError::conflict(format!("resource {} already exists", resource.identifier))
        }
        e => e.into(),
    })?;
    let event = caller
        .event(None, "resource.created", Some(resource.id.to_string()))
        .with_details(serde_json::json!({ "identifier": resource.identifier.as_str() }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ensure_key(ctx, resource.signing_alg).await?;
    ctx.publish(Change::Resource(resource.id.clone())).await;
    Ok(resource)
}

/// The resources a tenant admin may know of: those its org is entitled to. `None` for the
/// operator, who sees them all.
async fn visible(ctx: &Context, caller: &Caller) -> Result<Option<Vec<ResourceUri>>, AppError> {
    let Tenant::Org(org) = &caller.tenant else { return Ok(None) };
    let org = Orgs::new(ctx.store.conn(), &caller.tenant).get(org).await?;
    Ok(Some(org.entitlements.iter().map(|(r, _)| r.clone()).collect()))
}

/// A page of the resources the caller may know of.
pub async fn list(ctx: &Context, caller: &Caller, page: &Page) -> Result<Paged<Resource>, AppError> {
    let among = visible(ctx, caller).await?;
    Ok(Resources::new(ctx.store.conn()).list(page, among.as_deref()).await?)
}

/// A resource, if the caller may know of it (another org's API reads as missing to a tenant).
pub async fn get(ctx: &Context, caller: &Caller, id: &ResourceId) -> Result<Resource, AppError> {
    let resource = Resources::new(ctx.store.conn()).get(id).await?;
    match visible(ctx, caller).await? {
        Some(among) if !among.contains(&resource.identifier) => Err(AppError::not_found()),
        _ => Ok(resource),
    }
}

/// Applies `changes`, if `precondition` accepts the resource as it is. A scope still granted
/// cannot be removed (`detail` names the holders).
pub async fn update(
    ctx: &Context,
    caller: &Caller,
    id: &ResourceId,
    changes: ResourceChanges,
    precondition: impl FnOnce(&Resource) -> Result<(), AppError>,
) -> Result<Resource, AppError> {
    caller.require_operator()?;
    let txn = ctx.store.begin().await?;
    let resources = Resources::new(&txn).for_update();
    let mut resource = resources.get(id).await?;
    precondition(&resource)?;
    if resource.builtin {
        return Err(AppError::forbidden("Writ's own APIs cannot be changed"));
    }
    let mut changed = Vec::new();
    if let Some(name) = changes.name {
        resource.name = name;
        changed.push("name");
    }
    if let Some(scopes) = changes.scopes {
        resource.scopes = scopes;
        changed.push("scopes");
    }
    if let Some(alg) = changes.signing_alg {
        resource.signing_alg = alg;
        changed.push("signing_alg");
    }
    resource.updated_at = ctx.clock.now();
    resources.update(&resource).await.map_err(in_use)?;
    let resource = resources.get(id).await?;
    let event = caller
        .event(None, "resource.updated", Some(id.to_string()))
        .with_details(serde_json::json!({ "changed": changed }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ensure_key(ctx, resource.signing_alg).await?;
    ctx.publish(Change::Resource(id.clone())).await;
    Ok(resource)
}

/// Deletes a resource nobody is granted or entitled to.
pub async fn delete(ctx: &Context, caller: &Caller, id: &ResourceId) -> Result<(), AppError> {
    caller.require_operator()?;
    let txn = ctx.store.begin().await?;
    let resources = Resources::new(&txn).for_update();
    let resource = resources.get(id).await?;
    if resource.builtin {
        return Err(AppError::forbidden("Writ's own APIs cannot be deleted"));
    }
    resources.delete(id).await.map_err(in_use)?;
    let event = caller
        .event(None, "resource.deleted", Some(id.to_string()))
        .with_details(serde_json::json!({ "identifier": resource.identifier.as_str() }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Resource(id.clone())).await;
    Ok(())
}
