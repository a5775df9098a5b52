//! The token issuer: `POST /oauth/token` (every grant), `POST /oauth/par` (RFC 9126),
//! `POST /oauth/revoke` (RFC 7009), `POST /oauth/introspect` (RFC 7662),
//! `GET /.well-known/jwks.json` and the discovery documents (RFC 8414); and the pages a person
//! sees (`pages/`: login, invitations, their account, authorization and consent).
//!
//! Invariant: the machine grants (client credentials, jwt-bearer) write nothing to the database
//! and no grant runs a slow hash at the token endpoint (only a person's login does, on the pages);
//! the delegated grants write because codes work once and refresh tokens rotate. It depends on
//! writ-http glue, store, token and core, never on another service crate.

mod device;
mod discovery;
mod introspection;
mod oauth_error;
pub mod pages;
mod par;
mod registration;
mod request;
mod schema;
mod token;

pub use oauth_error::OAuthFailure;

use utoipa_actix_web::service_config::ServiceConfig;

/// The issuer's routes: `/oauth/*` and `/.well-known/*`.
/// The service, as a binary serves it.
pub const SERVICE: writ_http::server::Service =
    writ_http::server::Service { name: "issuer", configure, openapi };

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    register(&mut ServiceConfig::new(cfg));
    cfg.service(discovery::metadata_for_path);
    pages::configure(cfg);
    writ_http::openapi::serve(cfg, "issuer", openapi);
}

fn register(cfg: &mut ServiceConfig) {
    cfg.service(token::token)
        .service(introspection::revoke)
        .service(introspection::introspect)
        .service(par::push)
        .service(registration::register)
        .service(registration::read)
        .service(registration::update)
        .service(registration::remove)
        .service(device::start)
        .service(discovery::jwks)
        .service(discovery::metadata)
        .service(discovery::openid_configuration);
}

/// The OpenAPI document of the issuer, collected from the registered routes.
pub fn openapi() -> serde_json::Value {
    writ_http::openapi::document(
        register,
        "Writ token issuer",
        "OAuth 2.0 for machine clients: the client-credentials grant with RFC 8707 resource \
         indicators and RFC 9068 JWT access tokens, RFC 7009 revocation, RFC 7662 introspection, the \
         JWKS and RFC 8414 metadata. Errors follow RFC 6749 §5.2 (docs/errors.md).",
    )
}
