//! `/admin/v1/orgs`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::{Context, orgs};
use writ_core::OrgId;
use writ_http::auth::{OrgsRead, OrgsWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::{CreateOrg, ListResponse, OrgDto, PageQuery, Problem, UpdateOrg};
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
    body: writ_http::Body<CreateOrg>,
) -> Result<HttpResponse, ApiError> {
    let org = orgs::create(&ctx, &auth, body.into_inner().parse()?).await?;
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
    let page = orgs::list(&ctx, &auth, &query.page()?).await?;
    Ok(web::Json(ListResponse::of(&page)))
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
    let dto = OrgDto::from(&orgs::get(&ctx, &auth, &path_id(OrgId::parse, &path)?).await?);
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
    let changes = body.into_inner().parse()?;
    let org = orgs::update(&ctx, &auth, &id, changes, |o| if_match(&req, &OrgDto::from(o))).await?;
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
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    orgs::delete(&ctx, &auth, &path_id(OrgId::parse, &path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
