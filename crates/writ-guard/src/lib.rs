//! The guard service (`/guard/v1`): the revocation feed that resource servers follow to reject
//! revoked tokens without calling Writ per request, single-token lookups, and rate-limit checks
//! resource servers use to enforce their own per-client quotas.
//!
//! Invariant: depends on writ-http glue, the guard store and core only, never on another service.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use writ_http::auth::{RateLimitCheck, RevocationsRead};
use writ_http::limits::Applied;
use writ_http::{ApiError, Authorized, Context};

/// The most entries one feed page holds.
pub const MAX_PAGE: usize = 1_000;
/// The longest a feed request waits for new entries.
pub const MAX_WAIT_SECONDS: u64 = 30;

/// The guard's routes under `/guard/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/guard/v1/status", web::get().to(status))
        .route("/guard/v1/revocations", web::get().to(feed))
        .route("/guard/v1/revocations/{jti}", web::get().to(revocation))
        .route("/guard/v1/ratelimit/check", web::post().to(check_rate));
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateCheck {
    /// What is limited, in the caller's own namespace (`invoices:cli_123`, say); 1 to 200 characters.
    key: String,
    /// Requests allowed per period, sustained.
    per_period: u32,
    period_seconds: u32,
    /// Requests allowed at once; default `per_period`.
    burst: Option<u32>,
    /// What this request costs; 0 only asks. Default 1.
    cost: Option<u32>,
}

/// `POST /guard/v1/ratelimit/check`: one GCRA check for a resource server enforcing its own quotas
/// (per client, per route…). Keys live in the caller's namespace, so two callers never share a
/// counter. Answers `200` with `allowed` either way, and `RateLimit-*` headers to pass on; while Redis
/// is away each instance counts alone. Requires `guard:ratelimit:check` on `urn:writ:guard`.
async fn check_rate(
    auth: Authorized<RateLimitCheck>,
    ctx: web::Data<Context>,
    body: web::Json<RateCheck>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.key.is_empty() || body.key.chars().count() > 200 {
        return Err(ApiError::validation("key", "must be 1 to 200 characters"));
    }
    if !(1..=1_000_000).contains(&body.per_period) {
        return Err(ApiError::validation("per_period", "must be between 1 and 1000000"));
    }
    if !(1..=86_400).contains(&body.period_seconds) {
        return Err(ApiError::validation("period_seconds", "must be between 1 and 86400"));
    }
    let burst = body.burst.unwrap_or(body.per_period);
    if !(1..=1_000_000).contains(&burst) {
        return Err(ApiError::validation("burst", "must be between 1 and 1000000"));
    }
    let cost = body.cost.unwrap_or(1);
    if cost > burst {
        return Err(ApiError::validation("cost", "must not exceed the burst"));
    }
    let rate = writ_guard_store::Rate {
        per_period: body.per_period,
        period_ms: i64::from(body.period_seconds) * 1000,
        burst,
    };
    let check =
        writ_guard_store::Check::rate(format!("rs:{}:{}", auth.claims.client_id, body.key), rate, cost);
    let decisions = ctx.throttle(&auth.claims.client_id, std::slice::from_ref(&check)).await;
    let d = decisions.first().ok_or_else(|| ApiError::unavailable("rate limiter unavailable"))?;
    let secs = |ms: i64| (ms + 999) / 1000;
    let mut res = HttpResponse::Ok();
    res.insert_header(("Cache-Control", "no-store"));
    for (name, value) in
        writ_http::limits::headers(&[Applied { name: "default", check: &check, decision: d }])
    {
        res.insert_header((name, value));
    }
    Ok(res.json(json!({
        "allowed": d.allowed,
        "limit": d.limit,
        "remaining": d.remaining,
        "retry_after_seconds": secs(d.retry_after_ms),
        "reset_seconds": secs(d.reset_ms),
    })))
}
