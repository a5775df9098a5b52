//! `/admin/v1/audit-events`: who did what, when, from where.

use actix_web::{get, web};
use writ_app::{Context, events};
use writ_http::auth::AuditRead;
use writ_http::{ApiError, Authorized};

use crate::dto::*;

/// List audit events
///
/// Every admin change and every token issued, oldest first, narrowed by any of the filters: org,
/// client (events done by it or to it), actor, action (`client.created`, or a family such as
/// `client.*`) and time range. A tenant admin sees only its own org's events. Requires
/// `admin:audit:read`.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = ListResponse<AuditEventDto>),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:audit:read"]))
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    auth: Authorized<AuditRead>,
    ctx: web::Data<Context>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<ListResponse<AuditEventDto>>, ApiError> {
    let page = events::list(&ctx, &auth, &query.page()?, &query.filter()?).await?;
    Ok(web::Json(ListResponse::of(&page)))
}

// Request and answer bodies.

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Only events of this org (a tenant admin always sees just its own org).
    pub org_id: Option<String>,
    /// Only events done by this client or to it.
    pub client_id: Option<String>,
    /// Only events by this actor: a client or user id, `operator` or `system`.
    pub actor: Option<String>,
    /// An action (`client.created`) or a family of actions (`client.*`).
    pub action: Option<String>,
    /// From this instant (RFC 3339, inclusive).
    pub since: Option<String>,
    /// Until this instant (RFC 3339, exclusive).
    pub until: Option<String>,
}

impl AuditQuery {
    pub(crate) fn page(&self) -> Result<writ_store::Page, AppError> {
        page(self.limit, &self.after)
    }
}

pub(crate) fn instant(field: &'static str, v: Option<&str>) -> Result<Option<OffsetDateTime>, AppError> {
    v.map(|s| OffsetDateTime::parse(s, &Rfc3339))
        .transpose()
        .map_err(|_| AppError::validation(field, "must be an RFC 3339 instant like 2026-11-23T10:00:00Z"))
}

/// Who did something.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActorDto {
    /// `client`, `user`, `operator` or `system`.
    pub kind: String,
    pub id: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "evt_01jd8x4c6f5e4d3c2b1a0z9y8x", "occurred_at": "2026-11-23T10:00:00Z",
    "actor": {"kind": "client", "id": "cli_01jd8x4c0p9n8m7k6j5h4g3f2e"}, "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t",
    "action": "client.created", "target_id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "outcome": "success",
    "ip": "203.0.113.7", "request_id": "9f1c…", "details": {"kind": "org", "name": "acme-sync", "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n"}
}))]
pub struct AuditEventDto {
    #[schema(example = "evt_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub id: String,
    pub occurred_at: String,
    pub actor: ActorDto,
    pub org_id: Option<String>,
    /// What happened, e.g. `client.created`, `token.issued`, `tokens.revoked`.
    #[schema(example = "client.created")]
    pub action: String,
    /// The object acted on.
    pub target_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventDto {
    fn from(e: &AuditEvent) -> Self {
        let (kind, id) = e.actor.parts();
        Self {
            id: e.id.to_string(),
            occurred_at: rfc3339(e.occurred_at),
            actor: ActorDto { kind: kind.into(), id },
            org_id: e.org_id.as_ref().map(ToString::to_string),
            action: e.action.clone(),
            target_id: e.target_id.clone(),
            outcome: match e.outcome {
                writ_core::Outcome::Success => "success",
            }
            .into(),
            ip: e.ip.clone(),
            request_id: e.request_id.clone(),
            details: e.details.clone(),
        }
    }
}

impl AuditQuery {
    pub(crate) fn filter(&self) -> Result<writ_store::AuditFilter, AppError> {
        let id = |field: &'static str, v: &Option<String>, also: &[&str]| match v.as_deref() {
            Some(s) if !writ_core::id::is_prefixed_id(s) && !also.contains(&s) => {
                Err(AppError::validation(field, "must be an id like cli_01jd8x4c2v9q0m7k3n5p6r8s0t"))
            }
            _ => Ok(v.clone()),
        };
        // `client.created`, `client.*`: lower-case words and dots, at most 64 characters.
        let action_ok = |a: &str| {
            (1..=64).contains(&a.len())
                && a.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._*".contains(&b))
        };
        if self.action.as_deref().is_some_and(|a| !action_ok(a)) {
            return Err(AppError::validation("action", "must be an action like client.created, or client.*"));
        }
        Ok(writ_store::AuditFilter {
            org: org_filter(self.org_id.as_deref())?,
            client: id("client_id", &self.client_id, &[])?,
            actor: id("actor", &self.actor, &["operator", "system"])?,
            action: self.action.clone(),
            since: instant("since", self.since.as_deref())?,
            until: instant("until", self.until.as_deref())?,
        })
    }
}
