//! The guard service (`/guard/v1`): the revocation feed that resource servers follow to reject
//! revoked tokens without calling Writ per request, and single-token lookups. Rate-limit checks
//! come with the rest of the guard issue.
//!
//! Invariant: depends on writ-http glue, the guard store and core only, never on another service.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use writ_http::auth::RevocationsRead;
use writ_http::{ApiError, Authorized, Context};

/// The most entries one feed page holds.
pub const MAX_PAGE: usize = 1_000;
/// The longest a feed request waits for new entries.
pub const MAX_WAIT_SECONDS: u64 = 30;

/// The guard's routes under `/guard/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/guard/v1/status", web::get().to(status))
        .route("/guard/v1/revocations", web::get().to(feed))
        .route("/guard/v1/revocations/{jti}", web::get().to(revocation));
}

/// `GET /guard/v1/status`: which backend holds revocations.
async fn status(ctx: web::Data<Context>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "backend": ctx.guard.backend() }))
}

fn unavailable(e: writ_guard_store::GuardError) -> ApiError {
    tracing::error!(error = %e, "revocation store unreachable");
    ApiError::unavailable("revocation state unreachable; retry shortly")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    after: Option<String>,
    limit: Option<usize>,
    /// Seconds to wait for an entry when there is none yet (long poll), 0 to 30.
    wait: Option<u64>,
}

/// `GET /guard/v1/revocations?after=&limit=&wait=`: revocations in order. Each entry is a revoked
/// `token` (`id` = jti) or a `client`/`org` watermark (tokens issued at or before `at` are revoked),
/// with `expires_at`, after which it no longer matters. Follow with `after` = `next_cursor`; with
/// `wait`, the request is held until something arrives. Requires a `urn:writ:guard` token with
/// `guard:revocations:read`, without `oid`: the feed names every tenant's clients.
async fn feed(
    auth: Authorized<RevocationsRead>,
    ctx: web::Data<Context>,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let limit = query.limit.unwrap_or(500);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation("limit", format!("must be between 1 and {MAX_PAGE}")));
    }
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(ApiError::validation("wait", format!("must be at most {MAX_WAIT_SECONDS} seconds")));
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
    let entries = loop {
        let entries = ctx.guard.feed(query.after.as_deref(), limit).await.map_err(unavailable)?;
        if !entries.is_empty() || tokio::time::Instant::now() >= deadline {
            break entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let next = entries.last().map(|e| e.cursor.clone()).or_else(|| query.after.clone());
    let data: Vec<_> = entries
        .iter()
        .map(|e| json!({ "cursor": e.cursor, "kind": e.kind, "id": e.id, "at": e.at, "expires_at": e.expires_at }))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "data": data, "next_cursor": next })))
}

/// `GET /guard/v1/revocations/{jti}`: whether one token was revoked by its jti (watermarks are in
/// the feed). Requires `guard:revocations:read` on `urn:writ:guard`, operator level.
async fn revocation(
    auth: Authorized<RevocationsRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let revoked = ctx.guard.is_token_revoked(&path, now).await.map_err(unavailable)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "jti": path.as_str(), "revoked": revoked })))
}
