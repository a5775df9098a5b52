//! Organizations (tenants): create, list, read, update, delete. Only the operator creates and
//! deletes orgs and changes their status, entitlements, limits and login mode; a tenant admin sees
//! and renames its own org and says who is created on a first login through the vendor.

use writ_core::cimd::UrlClients;
use writ_core::{Grants, LoginMode, Metadata, Name, Org, OrgId, OrgLogin, OrgStatus, RateLimits, Slug};
use writ_guard_store::Watermark;
use writ_store::{Audit, Orgs, Page, Paged, StoreError};

use crate::caller::Caller;
use crate::changes::Change;
use crate::context::Context;
use crate::error::AppError;

/// An org to create.
#[derive(Debug)]
pub struct NewOrg {
    pub name: Name,
    pub slug: Slug,
    pub metadata: Metadata,
    pub entitlements: Grants,
    pub rate_limits: RateLimits,
    pub login: OrgLogin,
    pub url_clients: UrlClients,
}

/// Changes to an org; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct OrgChanges {
    pub name: Option<Name>,
    /// Operator only.
    pub status: Option<OrgStatus>,
    /// Operator only.
    pub entitlements: Option<Grants>,
    pub metadata: Option<Metadata>,
    /// Operator only.
    pub rate_limits: Option<RateLimits>,
    /// The mode and URL are the operator's to change; the grants of new people, a tenant admin's
    /// too (within what it holds and the org is entitled to).
    pub login: Option<OrgLogin>,
    /// Whether its people may use clients known by their metadata documents (a tenant admin's
    /// call too).
    pub url_clients: Option<UrlClients>,
}

pub async fn create(ctx: &Context, caller: &Caller, new: NewOrg) -> Result<Org, AppError> {
    caller.require_operator()?;
    crate::authority::ensure_holds(ctx, caller, &Grants::new(), &new.entitlements).await?;
    let now = ctx.clock.now();
    check_login(ctx, &new.login, &new.entitlements)?;
    let org = Org {
        id: OrgId::generate(),
        name: new.name,
        slug: new.slug,
        status: OrgStatus::Active,
        metadata: new.metadata,
        entitlements: new.entitlements,
        rate_limits: new.rate_limits,
        login: new.login,
        url_clients: new.url_clients,
        created_at: now,
        updated_at: now,
    };
    let txn = ctx.store.begin().await?;
    Orgs::new(&txn, &caller.tenant).create(&org).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            AppError::conflict(format!("an org with slug `{}` already exists", org.slug))
        }
        e => e.into(),
    })?;
    let event = caller.event(Some(org.id.clone()), "org.created", Some(org.id.to_string())).with_details(
        serde_json::json!({ "slug": org.slug.as_str(), "rate_limits": org.rate_limits, "login": login_summary(&org.login), "url_clients": org.url_clients }),
    );
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(org)
}

/// A page of the orgs the caller may see: every org for the operator, its own for a tenant.
pub async fn list(ctx: &Context, caller: &Caller, page: &Page) -> Result<Paged<Org>, AppError> {
    Ok(Orgs::new(ctx.store.conn(), &caller.tenant).list(page).await?)
}

pub async fn get(ctx: &Context, caller: &Caller, id: &OrgId) -> Result<Org, AppError> {
    caller.ensure_org(id)?;
    Ok(Orgs::new(ctx.store.conn(), &caller.tenant).get(id).await?)
}

/// Applies `changes`, if `precondition` accepts the org as it is. Suspending an org refuses every
/// client's next token request and revokes the tokens already out; shrinking entitlements shrinks
/// its clients' tokens at once.
pub async fn update(
    ctx: &Context,
    caller: &Caller,
    id: &OrgId,
    changes: OrgChanges,
    precondition: impl FnOnce(&Org) -> Result<(), AppError>,
) -> Result<Org, AppError> {
    caller.ensure_org(id)?;
    if changes.status.is_some() || changes.entitlements.is_some() || changes.rate_limits.is_some() {
        caller.require_operator()?;
    }
    let txn = ctx.store.begin().await?;
    let orgs = Orgs::new(&txn, &caller.tenant).for_update();
    let mut org = orgs.get(id).await?;
    precondition(&org)?;
    // Suspension stops new tokens (change event) and the ones already out (watermark); so does
    // taking entitlements away, for the tokens that hold what was taken.
    let cuts = changes.status == Some(OrgStatus::Suspended)
        || changes.entitlements.as_ref().is_some_and(|e| org.entitlements.excess_over(e).is_some());
    let mut changed = Vec::new();
    if let Some(name) = changes.name {
        org.name = name;
        changed.push("name");
    }
    if let Some(status) = changes.status {
        org.status = status;
        changed.push("status");
    }
    if let Some(entitlements) = changes.entitlements {
        crate::authority::ensure_holds(ctx, caller, &org.entitlements, &entitlements).await?;
        org.entitlements = entitlements;
        changed.push("entitlements");
    }
    if let Some(metadata) = changes.metadata {
        org.metadata = metadata;
        changed.push("metadata");
    }
    if let Some(limits) = changes.rate_limits {
        org.rate_limits = limits;
        changed.push("rate_limits");
    }
    if let Some(login) = changes.login.filter(|l| *l != org.login) {
        if login.mode != org.login.mode || login.url != org.login.url {
            caller.require_operator()?;
        }
        let before = org.login.new_users.clone().unwrap_or_default();
        crate::authority::ensure_holds(ctx, caller, &before, login.new_users.as_ref().unwrap_or(&before))
            .await?;
        org.login = login;
        changed.push("login");
    }
    if let Some(url_clients) = changes.url_clients.filter(|u| *u != org.url_clients) {
        org.url_clients = url_clients;
        changed.push("url_clients");
    }
    if changed.contains(&"login") {
        check_login(ctx, &org.login, &org.entitlements)?;
    }
    org.updated_at = ctx.clock.now();
    orgs.update(&org).await?;
    let event =
        caller.event(Some(id.clone()), "org.updated", Some(id.to_string())).with_details(serde_json::json!({
            "changed": changed,
            "status": org.status.as_str(),
            "rate_limits": org.rate_limits,
            "login": login_summary(&org.login),
            "url_clients": org.url_clients,
        }));
    Audit::new(&txn).record(&event).await?;
    let watermarks: &[Watermark<'_>] = if cuts { &[Watermark::Org(id.as_str())] } else { &[] };
    crate::revocations::cutting(ctx, watermarks, Change::Org(id.clone()), txn).await?;
    Ok(org)
}

/// An org's login settings must work: a `redirect` mode needs a login page (the org's or the
/// deployment's) and the deployment's keys for its responses; the grants of new people stay within
/// the org's entitlements.
fn check_login(ctx: &Context, login: &OrgLogin, entitlements: &Grants) -> Result<(), AppError> {
    let mode = login.mode.unwrap_or(ctx.settings.login_mode);
    if mode == LoginMode::Redirect {
        if login.url.is_none() && ctx.vendor_login.url.is_none() {
            return Err(AppError::validation(
                "login.url",
                "required for the redirect mode: the deployment sets no login_url",
            ));
        }
        if ctx.vendor_login.keys.is_none() {
            return Err(AppError::validation(
                "login.mode",
                "redirect needs the deployment's login_keys (the keys that sign login responses)",
            ));
        }
    }
    if let Some((resource, scopes)) = login.new_users.as_ref().and_then(|g| g.excess_over(entitlements)) {
        return Err(AppError::validation(
            "login.new_users",
            format!("the org is not entitled to {scopes} on {resource}"),
        ));
    }
    Ok(())
}

/// An org's login settings in its audit events.
fn login_summary(login: &OrgLogin) -> serde_json::Value {
    serde_json::json!({
        "mode": login.mode.map(LoginMode::as_str),
        "url": login.url.as_ref().map(|u| u.as_str()),
        "new_users": login.new_users,
    })
}

/// Deletes an org with its users, clients and their secrets, after revoking every token its
/// clients hold. Its audit events stay.
pub async fn delete(ctx: &Context, caller: &Caller, id: &OrgId) -> Result<(), AppError> {
    caller.ensure_org(id)?;
    caller.require_operator()?;
    let txn = ctx.store.begin().await?;
    let orgs = Orgs::new(&txn, &caller.tenant).for_update();
    let org = orgs.get(id).await?;
    orgs.delete(id).await?;
    let event = caller
        .event(Some(id.clone()), "org.deleted", Some(id.to_string()))
        .with_details(serde_json::json!({ "slug": org.slug.as_str() }));
    Audit::new(&txn).record(&event).await?;
    crate::revocations::cutting(ctx, &[Watermark::Org(id.as_str())], Change::Org(id.clone()), txn).await
}
