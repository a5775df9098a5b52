//! The token issuer: `POST /oauth/token` (client credentials), `POST /oauth/revoke` (RFC 7009),
//! `POST /oauth/introspect` (RFC 7662), `GET /.well-known/jwks.json` and the discovery documents
//! (RFC 8414).
//!
//! Invariant: the token endpoint writes nothing to the database and never runs a slow hash; it
//! depends on writ-http glue, store, token and core, never on another service crate.

mod discovery;
mod introspection;
mod oauth_error;
mod request;
mod token;

pub use oauth_error::OAuthError;

use actix_web::web;

/// The issuer's routes: `/oauth/token` and `/.well-known/*`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/token", web::post().to(token::token))
        .route("/oauth/revoke", web::post().to(introspection::revoke))
        .route("/oauth/introspect", web::post().to(introspection::introspect))
        .route("/.well-known/jwks.json", web::get().to(discovery::jwks))
        .route("/.well-known/oauth-authorization-server", web::get().to(discovery::metadata))
        .route("/.well-known/openid-configuration", web::get().to(discovery::metadata));
}
