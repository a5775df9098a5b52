//! The guard: revocation and rate limits (DESIGN.md §5). This first version serves the guard's
//! path prefix and reports which backend it runs on; the revocation store, the feed and the rate
//! limiter arrive with the guard issue.
//!
//! Invariant: depends on writ-http glue and core only, never on another service crate.

use actix_web::{HttpResponse, web};
use serde_json::json;
use writ_http::Context;

/// The guard's routes under `/guard/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/guard/v1/status", web::get().to(status));
}

/// `GET /guard/v1/status`: which backend holds revocations and rate limits.
async fn status(ctx: web::Data<Context>) -> HttpResponse {
    let backend = if ctx.settings.redis_url.is_some() { "redis" } else { "memory" };
    HttpResponse::Ok().json(json!({ "backend": backend }))
}
