//! The guard service (`/guard/v1`): the revocation feed that resource servers follow to reject
//! revoked tokens without calling Writ per request, single-token lookups, and rate-limit checks
//! resource servers use to enforce their own per-client quotas.
//!
//! Invariant: depends on writ-http glue, the guard store and core only, never on another service.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use writ_app::AppError;
use writ_app::Context;
use writ_app::limits::Applied;
use writ_http::auth::{RateLimitCheck, RevocationsRead};
use writ_http::error::Problem;
use writ_http::{ApiError, Authorized};

/// The most entries one feed page holds.
pub const MAX_PAGE: usize = 1_000;
/// The longest a feed request waits for new entries.
pub const MAX_WAIT_SECONDS: u64 = 30;

/// The guard's routes under `/guard/v1`.
/// The service, as a binary serves it.
pub const SERVICE: writ_http::server::Service =
    writ_http::server::Service { name: "guard", configure, openapi };

pub fn configure(cfg: &mut web::ServiceConfig) {
    register(&mut ServiceConfig::new(cfg));
    writ_http::openapi::serve(cfg, "guard", openapi);
}

fn register(cfg: &mut ServiceConfig) {
    // The snapshot before `{jti}`, which would otherwise match it.
    cfg.service(status).service(feed).service(snapshot).service(revocation).service(check_rate);
}

/// The OpenAPI document of the guard, collected from the registered routes.
pub fn openapi() -> serde_json::Value {
    writ_http::openapi::document(
        register,
        "Writ guard API",
        "For resource servers and gateways: the revocation feed that lets an API reject revoked tokens \
         without calling Writ per request, single-token revocation lookups, and rate-limit checks for \
         the API's own quotas. Authenticate with a Writ access token for the audience \
         `urn:writ:guard`. Errors are RFC 9457 problem+json documents with a stable `code`.",
    )
}

/// Which store holds the guard's state.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"backend": "redis"}))]
pub struct GuardStatus {
    /// `memory` (embedded, one process), `redis` or `redis-cluster`.
    pub backend: &'static str,
}

/// Get the guard's status
///
/// Which backend holds revocations and rate limits. Public.
#[utoipa::path(
    tag = "guard",
    responses((status = 200, description = "The status", body = GuardStatus)),
    security(())
)]
#[get("/guard/v1/status")]
async fn status(ctx: web::Data<Context>) -> HttpResponse {
    HttpResponse::Ok().json(GuardStatus { backend: ctx.guard.backend() })
}

fn unavailable(e: writ_guard_store::GuardError) -> ApiError {
    writ_app::revocations::unreachable(e, "revocation state unreachable; retry shortly").into()
}

/// Whether `s` is a feed cursor: one or two runs of up to 20 digits, joined by `-`.
fn is_cursor(s: &str) -> bool {
    let digits = |p: &str| (1..=20).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    match s.split_once('-') {
        Some((ms, seq)) => digits(ms) && digits(seq),
        None => digits(s),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    /// The `next_cursor` of the previous page, or a snapshot's `cursor`; none: from the oldest
    /// entry the feed keeps (start from a snapshot instead).
    after: Option<String>,
    /// Entries per page, 1 to 1000 (default 500).
    limit: Option<usize>,
    /// Seconds to wait for an entry when there is none yet (long poll), 0 to 30.
    wait: Option<u64>,
}

/// One revocation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revocation {
    /// `token` (one token, `id` = its jti), `client`, `org` (every token of that client or org
    /// issued at or before `at`) or `credential` (every token whose `cred` claim is `id` and whose
    /// `client_id` is `within`, issued at or before `at`).
    pub kind: &'static str,
    pub id: String,
    /// Whose tokens alone it concerns: for a `token` revoked by a tenant admin, the org (`oid`)
    /// whose token it revokes (another org's token with that jti stays valid); for a `credential`,
    /// the client. Absent: every token it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// When it was revoked (Unix seconds); for a watermark, tokens issued (`iat`) at or before it.
    pub at: i64,
    /// After this (Unix seconds) the entry no longer matters: every token it covers has expired.
    pub expires_at: i64,
}

impl From<writ_guard_store::Revoked> for Revocation {
    fn from(r: writ_guard_store::Revoked) -> Self {
        Self { kind: r.kind.as_str(), id: r.id, within: r.within, at: r.at, expires_at: r.expires_at }
    }
}

/// One revocation and where it sits in the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEntry {
    pub cursor: String,
    #[serde(flatten)]
    pub revocation: Revocation,
}

/// A page of the revocation feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "data": [
        {"cursor": "1795000000123-0", "kind": "token", "id": "01jd8x4c2v9q0m7k3n5p6r8s0t", "at": 1795000000, "expires_at": 1795003600},
        {"cursor": "1795000000456-0", "kind": "client", "id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t", "at": 1795000000, "expires_at": 1795086400}
    ],
    "next_cursor": "1795000000456-0",
    "behind": false
}))]
pub struct FeedPage {
    pub data: Vec<FeedEntry>,
    /// Where to go on from (`after`); the request's own `after` when the page is empty.
    pub next_cursor: Option<String>,
    /// `true` when entries after `after` have left the feed's window (it keeps the newest
    /// `revocation_feed_length`): the follower missed some, and must start over from
    /// `GET /guard/v1/revocations/snapshot`.
    pub behind: bool,
}

/// Follow the revocation feed
///
/// Revocations in order: revoked tokens and client, org and credential watermarks, each with the
/// moment after which it no longer matters. Start from a snapshot's `cursor`, then follow with
/// `after` = `next_cursor`; with `wait`, the request is held until something arrives (long poll).
/// When `behind` is `true` the follower missed entries: it takes a new snapshot. Requires
/// `guard:revocations:read` on `urn:writ:guard`, without `oid`: the feed names every tenant's
/// clients.
#[utoipa::path(
    tag = "guard",
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of the feed", body = FeedPage),
        (status = 400, description = "`invalid_query`: an unknown parameter, or an `after` this feed did not return", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing scope, or an org-bound token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` or `wait` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["guard:revocations:read"]))
)]
#[get("/guard/v1/revocations")]
async fn feed(
    auth: Authorized<RevocationsRead>,
    ctx: web::Data<Context>,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let limit = query.limit.unwrap_or(500);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::validation("limit", format!("must be between 1 and {MAX_PAGE}")).into());
    }
    // A cursor is a feed position: digits, or a Redis stream id (`1700000000000-0`).
    if query.after.as_deref().is_some_and(|a| !is_cursor(a)) {
        return Err(AppError::new(
            writ_app::ErrorCode::InvalidQuery,
            "after: not a cursor this feed returned",
        )
        .into());
    }
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(
            AppError::validation("wait", format!("must be at most {MAX_WAIT_SECONDS} seconds")).into()
        );
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
    let read = loop {
        let read = ctx.guard.feed(query.after.as_deref(), limit).await.map_err(unavailable)?;
        if !read.entries.is_empty() || read.behind || tokio::time::Instant::now() >= deadline {
            break read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let next = read.entries.last().map(|e| e.cursor.clone()).or_else(|| query.after.clone());
    let data = read
        .entries
        .into_iter()
        .map(|e| FeedEntry { cursor: e.cursor, revocation: e.revoked.into() })
        .collect();
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(FeedPage {
        data,
        next_cursor: next,
        behind: read.behind,
    }))
}

/// Every live revocation, and where to follow the feed from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "data": [
        {"kind": "org", "id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "at": 1795000000, "expires_at": 1795086460}
    ],
    "cursor": "1795000000456-0"
}))]
pub struct RevocationSnapshot {
    /// Every revocation that still matters, in no particular order.
    pub data: Vec<Revocation>,
    /// Follow the feed from here (`after`): everything up to it is in `data`.
    pub cursor: String,
}

/// Take a snapshot of every live revocation
///
/// Where a follower starts, and starts over when the feed says it is `behind`: every revocation
/// that still concerns a valid token, and the feed cursor to follow on from. Requires
/// `guard:revocations:read` on `urn:writ:guard`, without `oid`.
#[utoipa::path(
    tag = "guard",
    responses(
        (status = 200, description = "The snapshot", body = RevocationSnapshot),
        (status = 403, description = "Missing scope, or an org-bound token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["guard:revocations:read"]))
)]
#[get("/guard/v1/revocations/snapshot")]
async fn snapshot(
    auth: Authorized<RevocationsRead>,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let snapshot = ctx.guard.snapshot(ctx.clock.unix()).await.map_err(unavailable)?;
    let data = snapshot.entries.into_iter().map(Revocation::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RevocationSnapshot { data, cursor: snapshot.cursor }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct LookupQuery {
    /// The token's `oid` claim, if it has one.
    oid: Option<String>,
}

/// Whether one token was revoked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"jti": "01jd8x4c2v9q0m7k3n5p6r8s0t", "revoked": true}))]
pub struct TokenRevocation {
    pub jti: String,
    pub revoked: bool,
}

/// Look up one token's revocation
///
/// Whether a token was revoked by its `jti` (client, org and credential watermarks are in the
/// feed). Pass the token's `oid` too, so its org's own revocations count. Requires
/// `guard:revocations:read` on `urn:writ:guard`, without `oid`.
#[utoipa::path(
    tag = "guard",
    params(("jti" = String, Path, description = "The token's `jti`"), LookupQuery),
    responses(
        (status = 200, description = "Whether it was revoked", body = TokenRevocation),
        (status = 403, description = "Missing scope, or an org-bound token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["guard:revocations:read"]))
)]
#[get("/guard/v1/revocations/{jti}")]
async fn revocation(
    auth: Authorized<RevocationsRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
    query: web::Query<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let now = ctx.clock.unix();
    let revoked = ctx.guard.is_token_revoked(&path, query.oid.as_deref(), now).await.map_err(unavailable)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenRevocation { jti: path.into_inner(), revoked }))
}

/// One rate-limit check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "invoices:cli_01jd8x4c2v9q0m7k3n5p6r8s0t", "per_period": 100, "period_seconds": 60, "burst": 20}))]
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

/// The answer to a rate-limit check.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"allowed": true, "limit": 20, "remaining": 19, "retry_after_seconds": 0, "reset_seconds": 1}))]
pub struct RateDecision {
    /// Whether the request may go ahead (and was counted).
    pub allowed: bool,
    /// The burst.
    pub limit: u32,
    pub remaining: u32,
    /// When refused: seconds until it would be allowed.
    pub retry_after_seconds: i64,
    /// Seconds until the limit is whole again.
    pub reset_seconds: i64,
}

/// Check a rate limit
///
/// One GCRA check for a resource server enforcing its own quotas (per client, per route…). Keys
/// live in the caller's namespace, so two callers never share a counter. Answers `200` with
/// `allowed` either way, and `RateLimit-*` headers to pass on; while Redis is away each instance
/// counts alone. Requires `guard:ratelimit:check` on `urn:writ:guard`.
#[utoipa::path(
    tag = "guard",
    request_body = RateCheck,
    responses(
        (status = 200, description = "The decision", body = RateDecision),
        (status = 422, description = "A value out of range (`field` names it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["guard:ratelimit:check"]))
)]
#[post("/guard/v1/ratelimit/check")]
async fn check_rate(
    auth: Authorized<RateLimitCheck>,
    ctx: web::Data<Context>,
    body: writ_http::Body<RateCheck>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.key.is_empty() || body.key.chars().count() > 200 {
        return Err(AppError::validation("key", "must be 1 to 200 characters").into());
    }
    if !(1..=1_000_000).contains(&body.per_period) {
        return Err(AppError::validation("per_period", "must be between 1 and 1000000").into());
    }
    if !(1..=86_400).contains(&body.period_seconds) {
        return Err(AppError::validation("period_seconds", "must be between 1 and 86400").into());
    }
    let burst = body.burst.unwrap_or(body.per_period);
    if !(1..=1_000_000).contains(&burst) {
        return Err(AppError::validation("burst", "must be between 1 and 1000000").into());
    }
    let cost = body.cost.unwrap_or(1);
    if cost > burst {
        return Err(AppError::validation("cost", "must not exceed the burst").into());
    }
    let rate = writ_guard_store::Rate {
        per_period: body.per_period,
        period_ms: i64::from(body.period_seconds) * 1000,
        burst,
    };
    let check =
        writ_guard_store::Check::rate(format!("rs:{}:{}", auth.claims.client_id, body.key), rate, cost);
    let decisions = ctx.throttle(&auth.claims.client_id, std::slice::from_ref(&check)).await;
    let d = decisions.first().ok_or_else(|| AppError::unavailable("rate limiter unavailable"))?;
    let secs = |ms: i64| (ms + 999) / 1000;
    let mut res = HttpResponse::Ok();
    res.insert_header(("Cache-Control", "no-store"));
    for (name, value) in writ_app::limits::headers(&[Applied { name: "default", check: &check, decision: d }])
    {
        res.insert_header((name, value));
    }
    Ok(res.json(RateDecision {
        allowed: d.allowed,
        limit: d.limit,
        remaining: d.remaining,
        retry_after_seconds: secs(d.retry_after_ms),
        reset_seconds: secs(d.reset_ms),
    }))
}
