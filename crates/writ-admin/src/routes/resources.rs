//! `/admin/v1/resources`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::{Context, resources};
use writ_core::ResourceId;
use writ_http::auth::{ResourcesRead, ResourcesWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::{CreateResource, ListResponse, PageQuery, Problem, ResourceDto, UpdateResource};
use crate::etag::{if_match, tagged};

/// Create a resource
///
/// Registers an API whose tokens carry its identifier as audience, with the scopes it understands.
/// Requires `admin:resources:write`; operator only. The identifier must be unique.
#[utoipa::path(
    tag = "resources",
    request_body = CreateResource,
    responses(
        (status = 201, description = "The new resource", body = ResourceDto),
        (status = 403, description = "Missing scope, or not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The identifier is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:resources:write"]))
)]
#[post("/resources")]
pub async fn create_resource(
    auth: Authorized<ResourcesWrite>,
    ctx: web::Data<Context>,
    body: writ_http::Body<CreateResource>,
) -> Result<HttpResponse, ApiError> {
    let resource = resources::create(&ctx, &auth, body.into_inner().parse()?).await?;
    let dto = ResourceDto::from(&resource);
    Ok(tagged(HttpResponse::Created(), &dto)
        .insert_header(("Location", format!("/admin/v1/resources/{}", resource.id)))
        .json(dto))
}

/// List resources
///
/// Every resource with its scopes, built-in ones included. Requires `admin:resources:read`.
#[utoipa::path(
    tag = "resources",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of resources", body = ListResponse<ResourceDto>),
    ),
    security(("bearer" = ["admin:resources:read"]))
)]
#[get("/resources")]
pub async fn list_resources(
    _auth: Authorized<ResourcesRead>,
    ctx: web::Data<Context>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<ResourceDto>>, ApiError> {
    let page = resources::list(&ctx, &query.page()?).await?;
    Ok(web::Json(ListResponse::of(&page)))
}

/// Get a resource
///
/// Requires `admin:resources:read`. The `ETag` goes into `If-Match` of an update.
#[utoipa::path(
    tag = "resources",
    params(("resource_id" = String, Path, description = "The resource id (`res_…`)")),
    responses(
        (status = 200, description = "The resource", body = ResourceDto, headers(("ETag" = String, description = "The version of the resource"))),
        (status = 404, description = "No such resource", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:resources:read"]))
)]
#[get("/resources/{resource_id}")]
pub async fn get_resource(
    _auth: Authorized<ResourcesRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let dto = ResourceDto::from(&resources::get(&ctx, &path_id(ResourceId::parse, &path)?).await?);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Update a resource
///
/// Renames it, replaces its scopes, or changes the algorithm of its tokens (`default`: the
/// deployment's). A scope still held by an org, user or client cannot be removed (`409`, naming
/// them). Built-in resources cannot be changed. With `If-Match`, the update applies only to that
/// version (`412` otherwise). Requires `admin:resources:write`; operator only.
#[utoipa::path(
    tag = "resources",
    params(
        ("resource_id" = String, Path, description = "The resource id (`res_…`)"),
        ("If-Match" = Option<String>, Header, description = "Apply only to this version (an `ETag`)"),
    ),
    request_body = UpdateResource,
    responses(
        (status = 200, description = "The updated resource", body = ResourceDto, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Missing scope, not the operator, or a built-in resource", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A removed scope is still granted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The resource changed since the `If-Match` version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:resources:write"]))
)]
#[patch("/resources/{resource_id}")]
pub async fn update_resource(
    auth: Authorized<ResourcesWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<String>,
    body: writ_http::Body<UpdateResource>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(ResourceId::parse, &path)?;
    let changes = body.into_inner().parse()?;
    let resource =
        resources::update(&ctx, &auth, &id, changes, |r| if_match(&req, &ResourceDto::from(r))).await?;
    let dto = ResourceDto::from(&resource);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Delete a resource
///
/// Only a resource nobody holds a grant on can be deleted (`409` names the holders otherwise);
/// built-in resources never. Requires `admin:resources:write`; operator only.
#[utoipa::path(
    tag = "resources",
    params(("resource_id" = String, Path, description = "The resource id (`res_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Missing scope, not the operator, or a built-in resource", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still granted to an org, user or client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:resources:write"]))
)]
#[delete("/resources/{resource_id}")]
pub async fn delete_resource(
    auth: Authorized<ResourcesWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    resources::delete(&ctx, &auth, &path_id(ResourceId::parse, &path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
