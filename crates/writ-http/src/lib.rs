//! Shared actix glue for Writ's services: settings loading, RFC 9457 error rendering, the
//! `Authorized<Scope>` extractor, health endpoints, metrics, telemetry and the server builder. The
//! runtime and the rules are below, in `writ-app`.
//!
//! Invariant: this is the only place that maps domain and storage errors to HTTP status codes for
//! the admin and guard APIs; service crates never depend on each other, only on this glue.

#[cfg(feature = "jemalloc")]
mod allocator;
pub mod auth;
pub mod body;
pub mod error;
pub mod health;
pub mod openapi;
pub mod origin;
pub mod server;
pub mod settings;
pub mod telemetry;

pub use auth::{Authorized, RequiredScope};
pub use body::{Body, OptionalBody};
pub use error::ApiError;
pub use origin::RequestOrigin;
pub use server::{Application, query_of};

/// The JSON, query and path extractor settings every service registers, so malformed input gets
/// a problem+json answer like every other error instead of actix's plain text.
pub fn configure_extractors(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.app_data(web::JsonConfig::default().limit(64 * 1024).error_handler(error::json_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error));
}
