//! The all-in-one Writ: issuer, admin and guard routes on one port, and the CLI around them.
//!
//! Invariant: this crate only composes the service libraries; it holds no domain logic of its own.

pub mod cli;
mod remote;
mod seed;

use writ_app::Settings;
use writ_http::Application;
use writ_http::server::{BuildError, Service};

/// Every service, as `writ serve` runs them.
pub const ALL_SERVICES: &[Service] = &[writ_issuer::SERVICE, writ_admin::SERVICE, writ_guard::SERVICE];

/// Builds the all-in-one application (tests use this too, so what is tested is what ships).
pub async fn build(settings: Settings) -> Result<Application, BuildError> {
    Application::build(settings, ALL_SERVICES).await
}

/// The OpenAPI documents Writ publishes, by name.
pub fn openapi_documents() -> Vec<(&'static str, serde_json::Value)> {
    ALL_SERVICES.iter().map(|s| (s.name, (s.openapi)())).collect()
}
