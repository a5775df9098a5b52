//! The people of an org, on whose behalf `user` clients act: create, list, read, update, delete.
//! A user's grants stay within the org's entitlements; deleting a user revokes its clients' tokens.

use writ_core::{Email, ExternalId, Grants, OrgId, Status, User, UserId};
use writ_guard_store::Watermark;
use writ_store::{Audit, Authorizations, Clients, Orgs, Page, Paged, StoreError, Tenant, Users};

use crate::caller::Caller;
use crate::changes::Change;
use crate::clients::check_entitled;
use crate::context::Context;
use crate::error::AppError;

/// A user to create.
#[derive(Debug)]
pub struct NewUser {
    pub email: Email,
    pub external_id: Option<ExternalId>,
    /// The user's org; a tenant admin's own org when left out.
    pub org_id: Option<OrgId>,
    pub grants: Grants,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub email: Option<Email>,
    /// `Some(None)` removes it.
    pub external_id: Option<Option<ExternalId>>,
    pub status: Option<Status>,
    pub grants: Option<Grants>,
}

fn taken(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(_) => {
            AppError::conflict("this org already has a user with that email or external id")
        }
        e => e.into(),
    }
}

pub async fn create(ctx: &Context, caller: &Caller, new: NewUser) -> Result<User, AppError> {
    let unknown_org = || AppError::validation("org_id", "no such org");
    let org_id = match (new.org_id, &caller.tenant) {
        (Some(id), _) => id,
        (None, Tenant::Org(own)) => own.clone(),
        (None, Tenant::Operator) => return Err(AppError::validation("org_id", "required")),
    };
    crate::authority::ensure_holds(ctx, caller, &Grants::new(), &new.grants).await?;
    let txn = ctx.store.begin().await?;
    let org = Orgs::new(&txn, &caller.tenant).get(&org_id).await.map_err(|e| match e {
        StoreError::NotFound => unknown_org(),
        e => e.into(),
    })?;
    check_entitled(&org, &new.grants)?;
    let now = ctx.clock.now();
    let user = User {
        id: UserId::generate(),
        org_id,
        email: new.email,
        external_id: new.external_id,
        password_hash: None,
        password_changed_at: None,
        status: Status::Active,
        grants: new.grants,
        created_at: now,
        updated_at: now,
    };
    Users::new(&txn, &caller.tenant).create(&user).await.map_err(taken)?;
    let event = caller.event(Some(user.org_id.clone()), "user.created", Some(user.id.to_string()));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(user)
}

pub async fn list(
    ctx: &Context,
    caller: &Caller,
    page: &Page,
    org: Option<&OrgId>,
) -> Result<Paged<User>, AppError> {
    Ok(Users::new(ctx.store.conn(), &caller.tenant).list(page, org).await?)
}

pub async fn get(ctx: &Context, caller: &Caller, id: &UserId) -> Result<User, AppError> {
    Ok(Users::new(ctx.store.conn(), &caller.tenant).get(id).await?)
}

/// Applies `changes`, if `precondition` accepts the user as it is. Disabling a user refuses its
/// clients' next token requests on every instance.
pub async fn update(
    ctx: &Context,
    caller: &Caller,
    id: &UserId,
    changes: UserChanges,
    precondition: impl FnOnce(&User) -> Result<(), AppError>,
) -> Result<User, AppError> {
    let txn = ctx.store.begin().await?;
    let users = Users::new(&txn, &caller.tenant).for_update();
    let mut user = users.get(id).await?;
    precondition(&user)?;
    // Disabling a user, or taking grants away, ends the tokens of every client acting for it.
    let cuts = changes.status == Some(Status::Disabled)
        || changes.grants.as_ref().is_some_and(|g| user.grants.excess_over(g).is_some());
    let mut changed = Vec::new();
    if let Some(email) = changes.email {
        user.email = email;
        changed.push("email");
    }
    if let Some(external_id) = changes.external_id {
        user.external_id = external_id;
        changed.push("external_id");
    }
    if let Some(status) = changes.status {
        user.status = status;
        changed.push("status");
    }
    if let Some(grants) = changes.grants {
        crate::authority::ensure_holds(ctx, caller, &user.grants, &grants).await?;
        user.grants = grants;
        check_entitled(&Orgs::new(&txn, &caller.tenant).get(&user.org_id).await?, &user.grants)?;
        changed.push("grants");
    }
    user.updated_at = ctx.clock.now();
    users.update(&user).await.map_err(taken)?;
    let event = caller
        .event(Some(user.org_id.clone()), "user.updated", Some(id.to_string()))
        .with_details(serde_json::json!({ "changed": changed }));
    Audit::new(&txn).record(&event).await?;
    let (clients, delegated) = if cuts {
        (Clients::new(&txn, &caller.tenant).of_user(id).await?, Authorizations::new(&txn).of_user(id).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    if user.status == Status::Disabled {
        // A disabled person's agents keep nothing: their refresh tokens go too.
        for (_, authorization) in &delegated {
            Authorizations::new(&txn).delete(authorization).await?;
        }
    }
    let watermarks = cut_for(&clients, &delegated);
    crate::revocations::cutting(ctx, &watermarks, Change::User(id.clone()), txn).await?;
    Ok(user)
}

/// Deletes a user and its clients, after revoking every token they hold (if the revocation state
/// cannot take that, nothing is deleted and a retry works).
pub async fn delete(ctx: &Context, caller: &Caller, id: &UserId) -> Result<(), AppError> {
    let txn = ctx.store.begin().await?;
    let user = Users::new(&txn, &caller.tenant).for_update().get(id).await?;
    let clients = Clients::new(&txn, &caller.tenant).of_user(id).await?;
    let delegated = Authorizations::new(&txn).of_user(id).await?;
    Users::new(&txn, &caller.tenant).delete(id).await?;
    let event = caller
        .event(Some(user.org_id), "user.deleted", Some(id.to_string()))
        .with_details(serde_json::json!({ "clients": clients }));
    Audit::new(&txn).record(&event).await?;
    let watermarks = cut_for(&clients, &delegated);
    crate::revocations::cutting(ctx, &watermarks, Change::User(id.clone()), txn).await
}

/// What ends a person's access: the tokens of their `user` clients, and of every authorization
/// they gave an agent.
fn cut_for<'a>(
    clients: &'a [writ_core::ClientId],
    delegated: &'a [(writ_core::ClientId, writ_core::AuthorizationId)],
) -> Vec<Watermark<'a>> {
    clients
        .iter()
        .map(|c| Watermark::Client(c.as_str()))
        .chain(delegated.iter().map(|(c, a)| Watermark::Credential { client: c.as_str(), id: a.as_str() }))
        .collect()
}
