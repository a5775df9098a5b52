//! The admin API (`/admin/v1`): orgs, resources and clients for the operator and tenant admins, and
//! the operator bootstrap used by the CLI.
//!
//! Invariants: every handler names its required scope in its signature (`Authorized<…>`), reaches
//! org data only through tenant-built repositories, writes its audit event in the same transaction
//! as its change, and answers with DTOs built from domain values, never rows.

pub mod bootstrap;
mod dto;
mod etag;
mod idempotency;
mod routes;

pub use dto::*;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::{AppExt, scope, service_config::ServiceConfig};

/// Registers the admin routes under `/admin/v1`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    register(&mut ServiceConfig::new(cfg));
}

fn register(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/admin/v1")
            .wrap(actix_web::middleware::from_fn(idempotency::idempotency))
            .configure(routes::configure),
    );
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
    for item in api.paths.paths.values_mut() {
        if let Some(post) = item.post.as_mut() {
            document_idempotency(post);
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    api
}

/// Every `POST` takes an `Idempotency-Key` (the middleware serves them all, so the document says so
/// for all of them rather than route by route).
fn document_idempotency(op: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Ref, Required, ResponseBuilder, Type};
    let key = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the same key with the same body within 24 hours answers the first \
             answer again (with `Idempotent-Replayed: true`) and changes nothing; with another body it \
             is `422 idempotency_key_reused`; while the first request still runs, `409 \
             idempotency_key_in_use`. Keys are per client, 1 to 255 visible ASCII characters.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).max_length(Some(255)).build()))
        .example(Some(serde_json::json!("3f6c2a9e-8d1b-4f5e-9a77-1c2d3e4f5a6b")))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(key.into());
    op.responses.responses.entry("409".into()).or_insert_with(|| {
        ResponseBuilder::new()
            .description("A request with the same `Idempotency-Key` is still running")
            .content(
                "application/problem+json",
                utoipa::openapi::ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            )
            .build()
            .into()
    });
}
