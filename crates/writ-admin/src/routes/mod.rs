//! Admin routes, one module per resource. Handlers extract (the caller, its scope, the body as
//! domain values), call one use case of `writ-app`, and render its answer.

mod audit;
mod clients;
mod federation;
mod keys;
mod orgs;
mod resources;
mod revocations;
mod secrets;
mod users;

use utoipa_actix_web::service_config::ServiceConfig;

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
        .service(users::invite_user)
        .service(users::list_consents)
        .service(users::revoke_consent)
        .service(clients::create_client)
        .service(clients::list_clients)
        .service(clients::get_client)
        .service(clients::update_client)
        .service(clients::delete_client)
        .service(secrets::create_secret)
        .service(secrets::list_secrets)
        .service(secrets::delete_secret)
        .service(federation::create_federated_credential)
        .service(federation::list_federated_credentials)
        .service(federation::delete_federated_credential)
        .service(federation::create_trusted_issuer)
        .service(federation::list_trusted_issuers)
        .service(federation::get_trusted_issuer)
        .service(federation::update_trusted_issuer)
        .service(federation::delete_trusted_issuer)
        .service(keys::list_keys)
        .service(keys::rotate_key)
        .service(keys::revoke_key)
        .service(revocations::create_revocation)
        .service(revocations::revoke_client_tokens)
        .service(audit::list_audit_events);
}

/// Parses a path id; an id that cannot exist is simply not found.
pub(crate) fn path_id<T>(
    parse: impl FnOnce(&str) -> Result<T, writ_core::Invalid>,
    s: &str,
) -> Result<T, writ_app::AppError> {
    parse(s).map_err(|_| writ_app::AppError::not_found())
}
