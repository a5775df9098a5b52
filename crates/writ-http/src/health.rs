//! `GET /healthz` (the process is alive) and `GET /readyz` (its database answers), on every binary.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::{ApiError, Context};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz)).route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready while the database answers. Redis is reported but does not fail readiness: without it
/// the services keep working, degraded (change events fall back to cache TTLs).
async fn readyz(ctx: web::Data<Context>) -> Result<HttpResponse, ApiError> {
    let redis = match ctx.changes.ping().await {
        None => "not configured",
        Some(true) => "ok",
        Some(false) => "unreachable",
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), ctx.store.ping()).await {
        Ok(Ok(())) => {
            Ok(HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok", "redis": redis })))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Err(ApiError::unavailable("database unreachable"))
        }
        Err(_) => Err(ApiError::unavailable("database did not answer within 2 s")),
    }
}
