//! `/admin/v1/orgs`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::Context;
use writ_app::changes::Change;
use writ_core::{AuditEvent, Name, Org, OrgId, OrgStatus, Slug};
use writ_http::auth::{OrgsRead, OrgsWrite};
use writ_http::{ApiError, Authorized};
use writ_store::{Audit, Orgs, StoreError};

use super::{path_id, revoke_before, stamp};
use crate::dto::{
    CreateOrg, ListResponse, OrgDto, PageQuery, Problem, RateLimitsDto, UpdateOrg, grants_from_dto,
    metadata_from,
};
use crate::etag::{if_match, tagged};

/// Create an organization
///
/// Creates a tenant with its entitlements: the resource scopes its clients may ever be granted.
/// Requires `admin:orgs:write`; operator only. The slug must be unique (`409 conflict` otherwise).
#[utoipa::path(
    tag = "orgs",
    request_body = CreateOrg,
    responses(
        (status = 201, description = "The new org", body = OrgDto),
        (status = 403, description = "Missing scope, or not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown resource or scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:orgs:write"]))
)]
#[post("/orgs")]
pub async fn create_org(
    auth: Authorized<OrgsWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    body: writ_http::Body<CreateOrg>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let body = body.into_inner();
    let now = writ_core::now();
    let org = Org {
        id: OrgId::generate(),
        name: Name::parse(&body.name).map_err(|e| ApiError::validation("name", e.to_string()))?,
        slug: Slug::parse(&body.slug).map_err(|e| ApiError::validation("slug", e.to_string()))?,
        status: OrgStatus::Active,
        metadata: metadata_from("metadata", body.metadata)?,
        entitlements: grants_from_dto("entitlements", &body.entitlements)?,
        rate_limits: body.rate_limits.as_ref().map(RateLimitsDto::parse).transpose()?.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    let txn = ctx.store.begin().await?;
    Orgs::new(&txn, &auth.tenant).create(&org).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::conflict(format!("an org with slug `{}` already exists", org.slug))
        }
        e => e.into(),
    })?;
    let event = AuditEvent::new(auth.actor(), Some(org.id.clone()), "org.created", Some(org.id.to_string()))
        .with_details(serde_json::json!({ "slug": org.slug.as_str(), "rate_limits": org.rate_limits }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    let dto = OrgDto::from(&org);
    Ok(tagged(HttpResponse::Created(), &dto)
        .insert_header(("Location", format!("/admin/v1/orgs/{}", org.id)))
        .json(dto))
}

/// List organizations
///
/// In creation order. The operator sees every org; a tenant admin sees only its own.
/// Requires `admin:orgs:read`.
#[utoipa::path(
    tag = "orgs",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of orgs", body = ListResponse<OrgDto>),
    ),
    security(("bearer" = ["admin:orgs:read"]))
)]
#[get("/orgs")]
pub async fn list_orgs(
    auth: Authorized<OrgsRead>,
    ctx: web::Data<Context>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<OrgDto>>, ApiError> {
    let page = Orgs::new(ctx.store.conn(), &auth.tenant).list(&query.page()?).await?;
    Ok(web::Json(ListResponse {
        data: page.items.iter().map(OrgDto::from).collect(),
        next_cursor: page.next,
    }))
}

/// Get an organization
///
/// Requires `admin:orgs:read`. A tenant admin asking for another org gets `404`. The `ETag` goes
/// into `If-Match` of an update.
#[utoipa::path(
    tag = "orgs",
    params(("org_id" = String, Path, description = "The org id (`org_…`)")),
    responses(
        (status = 200, description = "The org", body = OrgDto, headers(("ETag" = String, description = "The version of the org"))),
        (status = 404, description = "No such org, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:orgs:read"]))
)]
#[get("/orgs/{org_id}")]
pub async fn get_org(
    auth: Authorized<OrgsRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(OrgId::parse, &path)?;
    auth.ensure_org(&id)?;
    let dto = OrgDto::from(&Orgs::new(ctx.store.conn(), &auth.tenant).get(&id).await?);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Update an organization
///
/// Changes the name or metadata (tenant admins may, for their own org), or the status and
/// entitlements (operator only). Suspending an org refuses every client's next token request;
/// shrinking entitlements shrinks its clients' tokens at once. With `If-Match`, the update applies
/// only to that version (`412` otherwise). Requires `admin:orgs:write`.
#[utoipa::path(
    tag = "orgs",
    params(
        ("org_id" = String, Path, description = "The org id (`org_…`)"),
        ("If-Match" = Option<String>, Header, description = "Apply only to this version (an `ETag`)"),
    ),
    request_body = UpdateOrg,
    responses(
        (status = 200, description = "The updated org", body = OrgDto, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Missing scope, or an operator-only field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such org, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The org changed since the `If-Match` version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown resource or scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:orgs:write"]))
)]
#[patch("/orgs/{org_id}")]
pub async fn update_org(
    auth: Authorized<OrgsWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<String>,
    body: writ_http::Body<UpdateOrg>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(OrgId::parse, &path)?;
    auth.ensure_org(&id)?;
    let body = body.into_inner();
    if body.status.is_some() || body.entitlements.is_some() || body.rate_limits.is_some() {
        auth.require_operator()?;
    }
    let txn = ctx.store.begin().await?;
    let orgs = Orgs::new(&txn, &auth.tenant).for_update();
    let mut org = orgs.get(&id).await?;
    if_match(&req, &OrgDto::from(&org))?;
    let mut changed = Vec::new();
    if let Some(name) = &body.name {
        org.name = Name::parse(name).map_err(|e| ApiError::validation("name", e.to_string()))?;
        changed.push("name");
    }
    if let Some(status) = &body.status {
        org.status = match status.as_str() {
            "active" => OrgStatus::Active,
            "suspended" => OrgStatus::Suspended,
            _ => return Err(ApiError::validation("status", "must be active or suspended")),
        };
        changed.push("status");
    }
    if let Some(entitlements) = &body.entitlements {
        org.entitlements = grants_from_dto("entitlements", entitlements)?;
        changed.push("entitlements");
    }
    if body.metadata.is_some() {
        org.metadata = metadata_from("metadata", body.metadata)?;
        changed.push("metadata");
    }
    if let Some(limits) = &body.rate_limits {
        org.rate_limits = limits.parse()?;
        changed.push("rate_limits");
    }
    org.updated_at = writ_core::now();
    orgs.update(&org).await?;
    let event = AuditEvent::new(auth.actor(), Some(id.clone()), "org.updated", Some(id.to_string()))
        .with_details(serde_json::json!({
            "changed": changed,
            "status": OrgDto::from(&org).status,
            "rate_limits": org.rate_limits,
        }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    if body.status.as_deref() == Some("suspended") {
        // Suspension stops new tokens (change event) and the ones already out (watermark).
        revoke_before(&ctx, writ_guard_store::Watermark::Org(id.as_str())).await.map_err(|_| {
            ApiError::unavailable("org suspended, but revoking its tokens failed: retry the suspension")
        })?;
    }
    ctx.publish(Change::Org(id)).await;
    let dto = OrgDto::from(&org);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Delete an organization
///
/// Deletes the org with its users, clients and their secrets, and revokes every token its clients
/// hold. Its audit events stay. Cannot be undone; suspending is the reversible way to stop an org.
/// Requires `admin:orgs:write`; operator only.
#[utoipa::path(
    tag = "orgs",
    params(("org_id" = String, Path, description = "The org id (`org_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Missing scope, or not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such org, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable; nothing was deleted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:orgs:write"]))
)]
#[delete("/orgs/{org_id}")]
pub async fn delete_org(
    auth: Authorized<OrgsWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(OrgId::parse, &path)?;
    auth.ensure_org(&id)?;
    auth.require_operator()?;
    let txn = ctx.store.begin().await?;
    let orgs = Orgs::new(&txn, &auth.tenant).for_update();
    let org = orgs.get(&id).await?;
    revoke_before(&ctx, writ_guard_store::Watermark::Org(id.as_str())).await?;
    orgs.delete(&id).await?;
    let event = AuditEvent::new(auth.actor(), Some(id.clone()), "org.deleted", Some(id.to_string()))
        .with_details(serde_json::json!({ "slug": org.slug.as_str() }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Org(id)).await;
    Ok(HttpResponse::NoContent().finish())
}
