//! `/admin/v1/audit-events`: who did what, when, from where.

use actix_web::{get, web};
use writ_app::Context;
use writ_http::auth::AuditRead;
use writ_http::{ApiError, Authorized};
use writ_store::{Audit, AuditFilter};

use crate::dto::{AuditEventDto, AuditQuery, ListResponse, Problem, instant, org_filter};

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
    let filter = AuditFilter {
        org: org_filter(query.org_id.as_deref())?,
        client: query.client_id.clone(),
        actor: query.actor.clone(),
        action: query.action.clone(),
        since: instant("since", query.since.as_deref())?,
        until: instant("until", query.until.as_deref())?,
    };
    let page = Audit::new(ctx.store.conn()).list(&auth.tenant, &query.page()?, &filter).await?;
    Ok(web::Json(ListResponse {
        data: page.items.iter().map(AuditEventDto::from).collect(),
        next_cursor: page.next,
    }))
}
