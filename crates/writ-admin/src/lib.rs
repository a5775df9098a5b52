//! The admin API (`/admin/v1`): orgs, resources and clients for the operator and tenant admins, and
//! the operator bootstrap used by the CLI.
//!
//! Invariants: every handler names its required scope in its signature (`Authorized<…>`), reaches
//! org data only through tenant-built repositories, writes its audit event in the same transaction
//! as its change, and answers with DTOs built from domain values, never rows.

pub mod bootstrap;
mod dto;
mod etag;
mod routes;

pub use dto::*;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::{AppExt, scope, service_config::ServiceConfig};

/// Registers the admin routes under `/admin/v1`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    register(&mut ServiceConfig::new(cfg));
}

fn register(cfg: &mut ServiceConfig) {
    cfg.service(scope::scope("/admin/v1").configure(routes::configure));
}

/// The OpenAPI document of the admin API, collected from the registered routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = actix_web::App::new().into_utoipa_app().configure(register).split_for_parts();
    api.info = utoipa::openapi::InfoBuilder::new()
        .title("Writ admin API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Manage organizations, resources and machine clients. Authenticate with a Writ access token \
             for the audience `urn:writ:admin`; each operation names the scope it requires. Errors are \
             RFC 9457 problem+json documents with a stable `code`.",
        ))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    api
}
