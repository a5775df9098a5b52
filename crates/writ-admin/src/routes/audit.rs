//! `/admin/v1/audit-events`: who did what, when, from where.

use actix_web::{get, web};
use writ_app::{Context, events};
use writ_http::auth::AuditRead;
use writ_http::{ApiError, Authorized};

use crate::dto::{AuditEventDto, AuditQuery, ListResponse, Problem};

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
