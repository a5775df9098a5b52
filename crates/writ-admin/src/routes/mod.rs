//! Admin routes, one module per resource. Handlers extract, authorize, convert the body into domain
//! values, call the store in one transaction, and convert back.

mod audit;
mod clients;
mod keys;
mod orgs;
mod resources;
mod revocations;
mod secrets;
mod users;

use actix_web::HttpRequest;
use utoipa_actix_web::service_config::ServiceConfig;
use writ_app::Context;
use writ_core::{AuditEvent, Grants, Org, User};
use writ_guard_store::Watermark;
use writ_http::ApiError;

pub(crate) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(orgs::create_org)
        .service(orgs::list_orgs)
        .service(orgs::get_org)
        .service(orgs::update_org)
        .service(orgs::delete_org)
        .service(resources::create_resource)
        .service(resources::list_resources)
        .service(resources::get_resource)
        .service(resources::update_resource)
        .service(resources::delete_resource)
        .service(users::create_user)
        .service(users::list_users)
        .service(users::get_user)
        .service(users::update_user)
        .service(users::delete_user)
        .service(clients::create_client)
        .service(clients::list_clients)
        .service(clients::get_client)
        .service(clients::update_client)
        .service(clients::delete_client)
        .service(secrets::create_secret)
        .service(secrets::list_secrets)
        .service(secrets::delete_secret)
        .service(keys::list_keys)
        .service(keys::rotate_key)
        .service(keys::revoke_key)
        .service(revocations::create_revocation)
        .service(revocations::revoke_client_tokens)
        .service(audit::list_audit_events);
}

/// Adds where a request came from to its audit event.
pub(crate) fn stamp(mut event: AuditEvent, req: &HttpRequest) -> AuditEvent {
    event.ip = req.peer_addr().map(|a| a.ip().to_string());
    event.request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    event
}

/// Parses a path id; an id that cannot exist is simply not found.
pub(crate) fn path_id<T>(
    parse: impl FnOnce(&str) -> Result<T, writ_core::Invalid>,
    s: &str,
) -> Result<T, writ_http::ApiError> {
    parse(s).map_err(|_| writ_http::ApiError::not_found())
}

/// Deny by default: `grants` must stay within the org's entitlements.
pub(crate) fn check_entitled(org: &Org, grants: &Grants) -> Result<(), ApiError> {
    match grants.excess_over(&org.entitlements) {
        Some((resource, scopes)) => Err(ApiError::validation(
            "grants",
            format!("org {} is not entitled to {scopes} on {resource}", org.slug),
        )),
        None => Ok(()),
    }
}

/// A user client's grants never exceed its user's.
pub(crate) fn check_within_user(user: &User, grants: &Grants) -> Result<(), ApiError> {
    match grants.excess_over(&user.grants) {
        Some((resource, scopes)) => Err(ApiError::validation(
            "grants",
            format!("user {} does not hold {scopes} on {resource}", user.email),
        )),
        None => Ok(()),
    }
}

/// `503` for a guard store that cannot take a revocation.
pub(crate) fn guard_unavailable(e: writ_guard_store::GuardError) -> ApiError {
    tracing::error!(error = %e, "revocation store unreachable");
    ApiError::unavailable("revocation state unreachable; nothing was changed, retry shortly")
}

/// Revokes every token issued until now under `watermark`; `503` when the guard store is away.
pub(crate) async fn revoke_before(ctx: &Context, watermark: Watermark<'_>) -> Result<(), ApiError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ctx.guard.revoke_before(watermark, now, now).await.map_err(guard_unavailable)
}
