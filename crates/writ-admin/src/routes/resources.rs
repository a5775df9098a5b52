//! `/admin/v1/resources`

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::Context;
use writ_app::changes::Change;
use writ_core::{AuditEvent, Name, Resource, ResourceId, ResourceUri, ScopeDef, ScopeName, SigningAlg};
use writ_http::auth::{ResourcesRead, ResourcesWrite};
use writ_http::{ApiError, Authorized};
use writ_store::{Audit, Resources, StoreError};

use super::{path_id, stamp};
use crate::dto::{CreateResource, ListResponse, PageQuery, Problem, ResourceDto, ScopeDto, UpdateResource};
use crate::etag::{if_match, tagged};

/// Scope definitions, checked: valid names, none twice, short descriptions.
fn scopes_from(list: &[ScopeDto]) -> Result<Vec<ScopeDef>, ApiError> {
    let mut seen = HashSet::new();
    list.iter()
        .map(|s| {
            let name =
                ScopeName::parse(&s.name).map_err(|e| ApiError::validation("scopes", e.to_string()))?;
            if !seen.insert(name.clone()) {
                return Err(ApiError::validation("scopes", format!("scope `{name}` is listed twice")));
            }
            if s.description.chars().count() > 500 {
                return Err(ApiError::validation("scopes", "descriptions are at most 500 characters"));
            }
            Ok(ScopeDef { name, description: s.description.clone() })
        })
        .collect()
}

fn signing_alg(alg: &str) -> Result<SigningAlg, ApiError> {
    SigningAlg::parse(alg).map_err(|e| ApiError::validation("signing_alg", e.to_string()))
}

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
    req: HttpRequest,
    body: writ_http::Body<CreateResource>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let body = body.into_inner();
    let scopes = scopes_from(&body.scopes)?;
    let identifier = ResourceUri::parse(&body.identifier)
        .map_err(|e| ApiError::validation("identifier", e.to_string()))?;
    if identifier.as_str().starts_with("urn:writ:") {
        return Err(ApiError::validation(
            "identifier",
            "urn:writ: identifiers are reserved for Writ's own APIs",
        ));
    }
    let signing_alg = body.signing_alg.as_deref().map(signing_alg).transpose()?;
    let now = writ_core::now();
    let resource = Resource {
        id: ResourceId::generate(),
        identifier,
        name: Name::parse(&body.name).map_err(|e| ApiError::validation("name", e.to_string()))?,
        scopes,
        builtin: false,
        signing_alg,
        created_at: now,
        updated_at: now,
    };
    let txn = ctx.store.begin().await?;
    Resources::new(&txn).create(&resource).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::conflict(format!("resource {} already exists", resource.identifier))
        }
        e => e.into(),
    })?;
    let event = AuditEvent::new(auth.actor(), None, "resource.created", Some(resource.id.to_string()))
        .with_details(serde_json::json!({ "identifier": resource.identifier.as_str() }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    if let Some(alg) = signing_alg {
        writ_app::keys::ensure_active(&ctx.store, &ctx.kek, alg).await.map_err(|e| ApiError::internal(&e))?;
    }
    ctx.publish(Change::Resource(resource.id.clone())).await;
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
    let page = Resources::new(ctx.store.conn()).list(&query.page()?).await?;
    Ok(web::Json(ListResponse {
        data: page.items.iter().map(ResourceDto::from).collect(),
        next_cursor: page.next,
    }))
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
    let id = path_id(ResourceId::parse, &path)?;
    let dto = ResourceDto::from(&Resources::new(ctx.store.conn()).get(&id).await?);
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
    auth.require_operator()?;
    let id = path_id(ResourceId::parse, &path)?;
    let body = body.into_inner();
    let txn = ctx.store.begin().await?;
    let resources = Resources::new(&txn).for_update();
    let mut resource = resources.get(&id).await?;
    if_match(&req, &ResourceDto::from(&resource))?;
    if resource.builtin {
        return Err(ApiError::forbidden("Writ's own APIs cannot be changed"));
    }
    let mut changed = Vec::new();
    if let Some(name) = &body.name {
        resource.name = Name::parse(name).map_err(|e| ApiError::validation("name", e.to_string()))?;
        changed.push("name");
    }
    if let Some(scopes) = &body.scopes {
        resource.scopes = scopes_from(scopes)?;
        changed.push("scopes");
    }
    if let Some(alg) = &body.signing_alg {
        resource.signing_alg = if alg == "default" { None } else { Some(signing_alg(alg)?) };
        changed.push("signing_alg");
    }
    resource.updated_at = writ_core::now();
    resources.update(&resource).await.map_err(|e| match e {
        StoreError::Conflict(detail) => ApiError::conflict(detail),
        e => e.into(),
    })?;
    let resource = resources.get(&id).await?;
    let event = AuditEvent::new(auth.actor(), None, "resource.updated", Some(id.to_string()))
        .with_details(serde_json::json!({ "changed": changed }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    if let Some(alg) = resource.signing_alg {
        writ_app::keys::ensure_active(&ctx.store, &ctx.kek, alg).await.map_err(|e| ApiError::internal(&e))?;
    }
    ctx.publish(Change::Resource(id)).await;
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
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let id = path_id(ResourceId::parse, &path)?;
    let txn = ctx.store.begin().await?;
    let resources = Resources::new(&txn).for_update();
    let resource = resources.get(&id).await?;
    if resource.builtin {
        return Err(ApiError::forbidden("Writ's own APIs cannot be deleted"));
    }
    resources.delete(&id).await.map_err(|e| match e {
        StoreError::Conflict(detail) => ApiError::conflict(detail),
        e => e.into(),
    })?;
    let event = AuditEvent::new(auth.actor(), None, "resource.deleted", Some(id.to_string()))
        .with_details(serde_json::json!({ "identifier": resource.identifier.as_str() }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Resource(id)).await;
    Ok(HttpResponse::NoContent().finish())
}
