//! The consents a person gave, listed and withdrawn — by the person on their account page, or by
//! a tenant admin (or the operator) through the admin API. Withdrawing one ends everything the
//! client holds for the person: its refresh tokens are deleted and its access tokens revoked
//! (a watermark on their `cred`), within a second for verifiers that follow the revocation feed.

use writ_core::{Actor, AuditEvent, ConsentId, UserId};
use writ_guard_store::Watermark;
use writ_store::{Audit, Authorizations, Clients, Consent, Consents, StoreError, Tenant, Users};

use crate::caller::Caller;
use crate::context::Context;
use crate::error::AppError;
use crate::origin::Origin;
use crate::people::{Person, PersonError};

/// A consent, with the name of the client it was given to.
#[derive(Debug, Clone)]
pub struct Given {
    pub consent: Consent,
    pub client_name: String,
}

async fn named(ctx: &Context, consents: Vec<Consent>) -> Result<Vec<Given>, StoreError> {
    let mut out = Vec::with_capacity(consents.len());
    for consent in consents {
        let client_name =
            match Clients::new(ctx.store.conn(), &Tenant::Operator).get(&consent.client_id).await {
                Ok(c) => c.name.to_string(),
                Err(StoreError::NotFound) => consent.client_id.to_string(),
                Err(e) => return Err(e),
            };
        out.push(Given { consent, client_name });
    }
    Ok(out)
}

/// The person's own consents.
pub async fn of_person(ctx: &Context, person: &Person) -> Result<Vec<Given>, PersonError> {
    let consents = Consents::new(ctx.store.conn(), &Tenant::Operator).of_user(&person.user.id).await?;
    Ok(named(ctx, consents).await?)
}

/// A user's consents, for an admin who may see the user.
pub async fn of_user(ctx: &Context, caller: &Caller, user: &UserId) -> Result<Vec<Given>, AppError> {
    Users::new(ctx.store.conn(), &caller.tenant).get(user).await?;
    let consents = Consents::new(ctx.store.conn(), &caller.tenant).of_user(user).await?;
    Ok(named(ctx, consents).await?)
}

/// The person withdraws their consent `id`.
pub async fn withdraw_own(
    ctx: &Context,
    person: &Person,
    id: &ConsentId,
    origin: &Origin,
) -> Result<(), PersonError> {
    let tenant = Tenant::Org(person.org.id.clone());
    let consent = match Consents::new(ctx.store.conn(), &tenant).get(id).await {
        Ok(c) if c.user_id == person.user.id => c,
        Ok(_) | Err(StoreError::NotFound) => return Err(PersonError::NoSuchConsent),
        Err(e) => return Err(e.into()),
    };
    let event = origin.stamp(AuditEvent::new(
        Actor::User(person.user.id.clone()),
        Some(person.org.id.clone()),
        "consent.revoked",
        Some(id.to_string()),
    ));
    withdraw(ctx, &tenant, &consent, event).await.map_err(|e| {
        tracing::error!(error = %e.detail, "withdrawing a consent failed");
        PersonError::Unavailable
    })
}

/// An admin withdraws the consent `id` of `user`.
pub async fn withdraw_for(
    ctx: &Context,
    caller: &Caller,
    user: &UserId,
    id: &ConsentId,
) -> Result<(), AppError> {
    let consent = Consents::new(ctx.store.conn(), &caller.tenant).get(id).await?;
    if &consent.user_id != user {
        return Err(AppError::not_found());
    }
    let event = caller.event(Some(consent.org_id.clone()), "consent.revoked", Some(id.to_string()));
    withdraw(ctx, &caller.tenant, &consent, event).await
}

/// Revokes what the consent's authorizations minted, then deletes the consent (its
/// authorizations and refresh tokens go with it) and records `event`, in one transaction.
async fn withdraw(
    ctx: &Context,
    tenant: &Tenant,
    consent: &Consent,
    event: AuditEvent,
) -> Result<(), AppError> {
    let txn = ctx.store.begin().await?;
    let authorizations = Authorizations::new(&txn).of_consent(&consent.id).await?;
    Consents::new(&txn, tenant).delete(&consent.id).await?;
    let event = event.with_details(serde_json::json!({
        "client_id": consent.client_id.as_str(),
        "user_id": consent.user_id.as_str(),
        "authorizations": authorizations.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>(),
    }));
    Audit::new(&txn).record(&event).await?;
    let watermarks: Vec<Watermark<'_>> = authorizations
        .iter()
        .map(|(c, a)| Watermark::Credential { client: c.as_str(), id: a.as_str() })
        .collect();
    crate::revocations::cutting(ctx, &watermarks, crate::changes::Change::User(consent.user_id.clone()), txn)
        .await
}
