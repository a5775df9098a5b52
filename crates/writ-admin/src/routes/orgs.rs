//! `/admin/v1/orgs`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::{Context, orgs};
use writ_core::OrgId;
use writ_http::auth::{OrgsRead, OrgsWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;
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

// Request and answer bodies.

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    #[schema(value_type = String, example = "Acme")]
    pub name: Name,
    /// Unique; 2–63 characters of a-z, 0-9 and `-`, starting with a letter.
    #[schema(value_type = String, example = "acme")]
    pub slug: writ_core::Slug,
    /// What clients of this org may ever be granted (deny by default).
    #[serde(default)]
    pub entitlements: Vec<GrantDto>,
    /// Up to 50 string values.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    /// Token-endpoint limits for each client of the org, unless the client sets its own.
    pub rate_limits: Option<RateLimitsDto>,
    /// How the org's people log in, where it differs from the deployment.
    pub login: Option<OrgLoginDto>,
    /// Whether its people may use clients known by their metadata documents (default: allowed,
    /// from any host).
    pub url_clients: Option<UrlClientsDto>,
}

/// Whether an org's people may use clients known by their metadata documents (a `client_id` that
/// is an HTTPS URL, docs/mcp.md), and from which hosts. Each person still consents, and sees the
/// host.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(example = json!({"allowed": true, "hosts": ["claude.ai", "*.example.com"]}))]
pub struct UrlClientsDto {
    /// Whether they may at all.
    pub allowed: bool,
    /// Hosts the documents may be served from (`app.example.com`), or host suffixes
    /// (`*.example.com`: its subdomains); empty: any host.
    pub hosts: Vec<String>,
}

impl Default for UrlClientsDto {
    fn default() -> Self {
        (&writ_core::cimd::UrlClients::default()).into()
    }
}

impl From<&writ_core::cimd::UrlClients> for UrlClientsDto {
    fn from(u: &writ_core::cimd::UrlClients) -> Self {
        Self { allowed: u.allowed, hosts: u.hosts.clone() }
    }
}

impl UrlClientsDto {
    fn parse(&self) -> Result<writ_core::cimd::UrlClients, AppError> {
        let policy = writ_core::cimd::UrlClients { allowed: self.allowed, hosts: self.hosts.clone() };
        policy.validate().map_err(|e| AppError::validation(e.what, e.reason))
    }
}

/// How an org's people log in to Writ's pages, where it differs from the deployment
/// (docs/delegation.md).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mode": "redirect", "url": "https://app.example.com/writ/login",
    "new_users": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}]
}))]
pub struct OrgLoginDto {
    /// `password` (Writ's own pages) or `redirect` (the vendor's login page); null: the
    /// deployment's `login_mode`. Operator only.
    #[schema(value_type = Option<String>, example = "redirect")]
    pub mode: Option<writ_core::LoginMode>,
    /// The vendor's login page for this org (`https`, or `http` on a loopback host); null: the
    /// deployment's `login_url`. Operator only.
    #[schema(example = "https://app.example.com/writ/login")]
    pub url: Option<String>,
    /// People the vendor's login names by an `external_id` nobody has yet become users of the
    /// org, with these grants (within its entitlements); null: nobody is created.
    pub new_users: Option<Vec<GrantDto>>,
}

impl From<&writ_core::OrgLogin> for OrgLoginDto {
    fn from(l: &writ_core::OrgLogin) -> Self {
        Self {
            mode: l.mode,
            url: l.url.as_ref().map(|u| u.as_str().to_owned()),
            new_users: l.new_users.as_ref().map(grants_to_dto),
        }
    }
}

impl OrgLoginDto {
    fn parse(&self) -> Result<writ_core::OrgLogin, AppError> {
        let url = self.url.as_deref().map(writ_core::delegation::LoginUrl::parse).transpose();
        Ok(writ_core::OrgLogin {
            mode: self.mode,
            url: url.map_err(|e| AppError::validation("login.url", e.reason))?,
            new_users: self.new_users.as_deref().map(|g| grants("login.new_users", g)).transpose()?,
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "name": "Acme", "slug": "acme", "status": "active",
    "entitlements": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read", "invoices:write"]}],
    "metadata": {"plan": "enterprise"}, "rate_limits": {},
    "login": {"mode": null, "url": null, "new_users": null},
    "url_clients": {"allowed": true, "hosts": []},
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct OrgDto {
    #[schema(example = "org_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub id: String,
    pub name: String,
    pub slug: String,
    /// `active` or `suspended`.
    pub status: String,
    pub entitlements: Vec<GrantDto>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The org's own limits for its clients (empty: the deployment's).
    pub rate_limits: RateLimitsDto,
    /// How its people log in (nulls: the deployment's settings, nobody created).
    pub login: OrgLoginDto,
    /// Whether its people may use clients known by their metadata documents, and from where.
    pub url_clients: UrlClientsDto,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Org> for OrgDto {
    fn from(o: &Org) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name.to_string(),
            slug: o.slug.to_string(),
            status: o.status.as_str().into(),
            entitlements: grants_to_dto(&o.entitlements),
            metadata: serde_json::Value::Object(o.metadata.as_map().clone()),
            rate_limits: (&o.rate_limits).into(),
            login: (&o.login).into(),
            url_clients: (&o.url_clients).into(),
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
        }
    }
}

/// Changes to an org; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    #[schema(value_type = Option<String>)]
    pub name: Option<Name>,
    /// `active` or `suspended` (operator only). Suspending stops every client of the org at once.
    #[schema(value_type = Option<String>)]
    pub status: Option<writ_core::OrgStatus>,
    /// Replaces the entitlements (operator only). Clients' tokens shrink with them at once.
    pub entitlements: Option<Vec<GrantDto>>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    /// Replaces the org's limits for its clients; `{}` inherits the deployment's (operator only).
    pub rate_limits: Option<RateLimitsDto>,
    /// Replaces how the org's people log in; `{}` takes the deployment's settings and creates
    /// nobody. The mode and URL are the operator's to change.
    pub login: Option<OrgLoginDto>,
    /// Replaces whether its people may use clients known by their metadata documents.
    pub url_clients: Option<UrlClientsDto>,
}

impl CreateOrg {
    pub(crate) fn parse(self) -> Result<writ_app::orgs::NewOrg, AppError> {
        Ok(writ_app::orgs::NewOrg {
            name: self.name,
            slug: self.slug,
            metadata: self.metadata.unwrap_or_default(),
            entitlements: grants("entitlements", &self.entitlements)?,
            rate_limits: limits(self.rate_limits.as_ref())?.unwrap_or_default(),
            login: self.login.as_ref().map(OrgLoginDto::parse).transpose()?.unwrap_or_default(),
            url_clients: self.url_clients.as_ref().map(UrlClientsDto::parse).transpose()?.unwrap_or_default(),
        })
    }
}

impl UpdateOrg {
    pub(crate) fn parse(self) -> Result<writ_app::orgs::OrgChanges, AppError> {
        Ok(writ_app::orgs::OrgChanges {
            name: self.name,
            status: self.status,
            entitlements: self.entitlements.as_deref().map(|g| grants("entitlements", g)).transpose()?,
            metadata: self.metadata,
            rate_limits: limits(self.rate_limits.as_ref())?,
            login: self.login.as_ref().map(OrgLoginDto::parse).transpose()?,
            url_clients: self.url_clients.as_ref().map(UrlClientsDto::parse).transpose()?,
        })
    }
}
