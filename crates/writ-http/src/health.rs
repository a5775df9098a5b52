//! `GET /healthz` (the process is alive) and `GET /readyz` (its database answers), on every binary;
//! `GET /metrics` on the metrics listener only (`metrics_addr`).

use actix_web::{HttpResponse, guard, web};
use serde_json::json;
use writ_app::AppError;

use crate::ApiError;
use writ_app::Context;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").guard(guard::Get()).to(healthz))
        .service(web::resource("/readyz").guard(guard::Get()).to(readyz));
}

/// The routes of the metrics listener.
pub fn configure_metrics(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").guard(guard::Get()).to(metrics));
}

/// `GET /metrics`: Prometheus text, for the scraper alone.
async fn metrics(ctx: web::Data<Context>) -> HttpResponse {
    let lookups = ctx.clients.lookups();
    let lookup_help = "Client lookups at the token endpoint: answered by the cache (hit) or the database (miss), for clients that exist (known) and ids that do not.";
    let published = ctx.published_keys().await.unwrap_or_default() as u64;
    let body = ctx.metrics.render(&[
        (
            "writ_audit_records_written_total",
            "Audit records written by the batched writer.",
            ctx.audit.written(),
        ),
        (
            "writ_audit_records_dropped_total",
            "Audit records dropped (queue full or write failed); each also loses its secret-use update.",
            ctx.audit.dropped(),
        ),
        (
            "writ_audit_queue_depth",
            "Audit records waiting for the batched writer (the queue holds 65,536).",
            ctx.audit.queued() as u64,
        ),
        (
            "writ_client_cache_entries",
            "Clients held in the token endpoint's cache.",
            ctx.clients.len() as u64,
        ),
        (
            "writ_client_cache_unknown_entries",
            "Ids of no client remembered as such (bounded apart from the clients).",
            ctx.clients.unknown_len() as u64,
        ),
        ("writ_client_lookups_total{client=\"known\",result=\"hit\"}", lookup_help, lookups.known_hits),
        ("writ_client_lookups_total{client=\"known\",result=\"miss\"}", lookup_help, lookups.known_misses),
        ("writ_client_lookups_total{client=\"unknown\",result=\"hit\"}", lookup_help, lookups.unknown_hits),
        (
            "writ_client_lookups_total{client=\"unknown\",result=\"miss\"}",
            lookup_help,
            lookups.unknown_misses,
        ),
        ("writ_signing_keys_published", "Keys in the JWKS.", published),
        (
            "writ_guard_redis_round_trips_total",
            "Round trips to Redis for revocation checks and rate limits (one per token request).",
            ctx.guard.round_trips(),
        ),
    ]);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body)
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
            Err(AppError::unavailable("database unreachable").into())
        }
        Err(_) => Err(AppError::unavailable("database did not answer within 2 s").into()),
    }
}
