//! Admin routes, one module per resource. Handlers extract, authorize, convert the body into domain
//! values, call the store in one transaction, and convert back.

mod clients;
mod keys;
mod orgs;
mod resources;
mod revocations;
mod secrets;

use actix_web::HttpRequest;
use utoipa_actix_web::service_config::ServiceConfig;
use writ_core::AuditEvent;

pub(crate) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(orgs::create_org)
        .service(orgs::list_orgs)
        .service(orgs::get_org)
        .service(resources::create_resource)
        .service(resources::list_resources)
        .service(resources::get_resource)
        .service(clients::create_client)
        .service(clients::list_clients)
        .service(clients::get_client)
        .service(clients::update_client)
        .service(orgs::update_org)
        .service(secrets::create_secret)
        .service(secrets::list_secrets)
        .service(secrets::delete_secret)
        .service(keys::list_keys)
        .service(keys::rotate_key)
        .service(keys::revoke_key)
        .service(revocations::create_revocation)
        .service(revocations::revoke_client_tokens);
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
