//! `/admin/v1/resources`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::{Context, resources};
use writ_core::ResourceId;
use writ_http::auth::{ResourcesRead, ResourcesWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;
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
/// Every resource with its scopes, built-in ones included; a tenant admin sees the resources its
/// org is entitled to. Requires `admin:resources:read`.
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
    auth: Authorized<ResourcesRead>,
    ctx: web::Data<Context>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<ResourceDto>>, ApiError> {
    let page = resources::list(&ctx, &auth, &query.page()?).await?;
    Ok(web::Json(ListResponse::of(&page)))
}

/// Get a resource
///
/// Requires `admin:resources:read`. A resource a tenant admin's org is not entitled to is `404`.
/// The `ETag` goes into `If-Match` of an update.
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
    auth: Authorized<ResourcesRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let dto = ResourceDto::from(&resources::get(&ctx, &auth, &path_id(ResourceId::parse, &path)?).await?);
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

// Request and answer bodies.

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDto {
    #[schema(value_type = String, example = "invoices:read")]
    pub name: ScopeName,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResource {
    /// The audience of its tokens: an absolute URI without fragment.
    #[schema(value_type = String, example = "https://api.example.com/billing")]
    pub identifier: ResourceUri,
    #[schema(value_type = String, example = "Billing")]
    pub name: Name,
    #[serde(default)]
    pub scopes: Vec<ScopeDto>,
    /// Sign this resource's tokens with `ES256`, `RS256` or `EdDSA` instead of the deployment's
    /// algorithm (for verifiers that support only one).
    #[schema(value_type = Option<String>)]
    pub signing_alg: Option<writ_core::SigningAlg>,
}

/// Changes to a resource; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResource {
    #[schema(value_type = Option<String>)]
    pub name: Option<Name>,
    /// Replaces the scopes (descriptions included). Removing a scope someone holds is refused.
    pub scopes: Option<Vec<ScopeDto>>,
    /// `ES256`, `RS256`, `EdDSA`, or `default` for the deployment's algorithm.
    #[schema(value_type = Option<String>)]
    pub signing_alg: Option<AlgChoice>,
}

/// A resource's algorithm as an update names it: its own, or `default` (the deployment's).
#[derive(Debug, Clone, Copy)]
pub struct AlgChoice(Option<writ_core::SigningAlg>);

impl<'de> Deserialize<'de> for AlgChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "default" => Ok(Self(None)),
            alg => writ_core::SigningAlg::parse(alg).map(|a| Self(Some(a))).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "res_01jd8x4bz9y8x7w6v5t4s3r2q1", "identifier": "https://api.example.com/billing", "name": "Billing",
    "scopes": [{"name": "invoices:read", "description": "Read invoices"}, {"name": "invoices:write", "description": "Create and change invoices"}],
    "builtin": false, "signing_alg": null, "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct ResourceDto {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<ScopeDto>,
    /// Writ's own APIs, which cannot be changed.
    pub builtin: bool,
    /// The algorithm of its tokens, when not the deployment's.
    pub signing_alg: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Resource> for ResourceDto {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id.to_string(),
            identifier: r.identifier.to_string(),
            name: r.name.to_string(),
            scopes: r
                .scopes
                .iter()
                .map(|s| ScopeDto { name: s.name.clone(), description: s.description.clone() })
                .collect(),
            builtin: r.builtin,
            signing_alg: r.signing_alg.map(|a| a.as_str().to_owned()),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

fn scopes(list: Vec<ScopeDto>) -> Result<Vec<writ_core::ScopeDef>, AppError> {
    writ_app::resources::scope_defs(list.into_iter().map(|s| (s.name, s.description)))
}

impl CreateResource {
    pub(crate) fn parse(self) -> Result<writ_app::resources::NewResource, AppError> {
        Ok(writ_app::resources::NewResource {
            scopes: scopes(self.scopes)?,
            identifier: self.identifier,
            name: self.name,
            signing_alg: self.signing_alg,
        })
    }
}

impl UpdateResource {
    pub(crate) fn parse(self) -> Result<writ_app::resources::ResourceChanges, AppError> {
        Ok(writ_app::resources::ResourceChanges {
            name: self.name,
            scopes: self.scopes.map(scopes).transpose()?,
            signing_alg: self.signing_alg.map(|AlgChoice(alg)| alg),
        })
    }
}
