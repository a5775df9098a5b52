//! `/admin/v1/resources`

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use writ_core::{AuditEvent, Name, Resource, ResourceId, ResourceUri, ScopeDef, ScopeName, SigningAlg};
use writ_http::auth::{ResourcesRead, ResourcesWrite};
use writ_http::changes::Change;
use writ_http::{ApiError, Authorized, Context};
use writ_store::{Audit, Resources, StoreError};

use super::{path_id, stamp};
use crate::dto::{CreateResource, ListQuery, ListResponse, Problem, ResourceDto};

/// Create a resource
///
/// Registers an API whose tokens carry its identifier as audience, with the scopes it understands.
/// Requires `admin:resources:write`; operator only. The identifier must be unique.
#[utoipa::path(
    tag = "resources",
    request_body = CreateResource,
    responses(
        (status = 201, description = "The new resource", body = ResourceDto),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
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
    body: web::Json<CreateResource>,
) -> Result<HttpResponse, ApiError> {
    auth.require_operator()?;
    let body = body.into_inner();
    let mut seen = HashSet::new();
    let scopes = body
        .scopes
        .iter()
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
        .collect::<Result<Vec<_>, _>>()?;
    let identifier = ResourceUri::parse(&body.identifier)
        .map_err(|e| ApiError::validation("identifier", e.to_string()))?;
    if identifier.as_str().starts_with("urn:writ:") {
        return Err(ApiError::validation(
            "identifier",
            "urn:writ: identifiers are reserved for Writ's own APIs",
        ));
    }
    let signing_alg = body
        .signing_alg
        .as_deref()
        .map(SigningAlg::parse)
        .transpose()
        .map_err(|e| ApiError::validation("signing_alg", e.to_string()))?;
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
        writ_http::keys::ensure_active(&ctx.store, &ctx.kek, alg)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    ctx.publish(Change::Resource(resource.id.clone())).await;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/v1/resources/{}", resource.id)))
        .json(ResourceDto::from(&resource)))
}

/// List resources
///
/// Every resource with its scopes, built-in ones included. Requires `admin:resources:read`.
#[utoipa::path(
    tag = "resources",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of resources", body = ListResponse<ResourceDto>),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:resources:read"]))
)]
#[get("/resources")]
pub async fn list_resources(
    _auth: Authorized<ResourcesRead>,
    ctx: web::Data<Context>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<ListResponse<ResourceDto>>, ApiError> {
    if query.org_id.is_some() {
        return Err(ApiError::validation("org_id", "resources do not belong to orgs"));
    }
    let page = Resources::new(ctx.store.conn()).list(&query.page()?).await?;
    Ok(web::Json(ListResponse {
        data: page.items.iter().map(ResourceDto::from).collect(),
        next_cursor: page.next,
    }))
}

/// Get a resource
///
/// Requires `admin:resources:read`.
#[utoipa::path(
    tag = "resources",
    params(("resource_id" = String, Path, description = "The resource id (`res_…`)")),
    responses(
        (status = 200, description = "The resource", body = ResourceDto),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:resources:read"]))
)]
#[get("/resources/{resource_id}")]
pub async fn get_resource(
    _auth: Authorized<ResourcesRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<web::Json<ResourceDto>, ApiError> {
    let id = path_id(ResourceId::parse, &path)?;
    Ok(web::Json(ResourceDto::from(&Resources::new(ctx.store.conn()).get(&id).await?)))
}
