//! `/admin/v1/clients`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::{Context, clients};
use writ_core::{AuthMethod, AuthMethods, ClientId};
use writ_http::auth::{ClientsRead, ClientsWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;
use crate::etag::{if_match, tagged};

/// Create a client
///
/// Creates a machine client and its first secret. The answer carries `client_secret` — the only
/// time it is ever shown. A client registered with keys (`jwks` or `jwks_uri`) authenticates with
/// `private_key_jwt` and gets no secret, unless `token_endpoint_auth_methods` says otherwise.
/// Grants must stay within the org's entitlements (deny by default).
/// Requires `admin:clients:write`. Tenant admins create `org` and `user` clients of their own org
/// only; `service` clients are the operator's.
#[utoipa::path(
    tag = "clients",
    request_body = CreateClient,
    responses(
        (status = 201, description = "The new client and its secret (shown once)", body = CreatedClient),
        (status = 403, description = "Missing scope, or a service client asked for by a tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown org or user, or grants beyond entitlements", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[post("/clients")]
pub async fn create_client(
    auth: Authorized<ClientsWrite>,
    ctx: web::Data<Context>,
    body: writ_http::Body<CreateClient>,
) -> Result<HttpResponse, ApiError> {
    let created = clients::create(&ctx, &auth, body.into_inner().parse()?).await?;
    let dto = ClientDto::from(&created.client);
    Ok(tagged(HttpResponse::Created(), &dto)
        .insert_header(("Location", format!("/admin/v1/clients/{}", created.client.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedClient {
            client: dto,
            client_secret: created.secret.as_ref().map(|(_, plain)| plain.expose().to_owned()),
            secret_id: created.secret.as_ref().map(|(s, _)| s.id.to_string()),
        }))
}

/// List clients
///
/// In creation order; `org_id` narrows the list to one org. A tenant admin sees only its own
/// org's clients. Secrets are never listed here. Requires `admin:clients:read`.
#[utoipa::path(
    tag = "clients",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of clients", body = ListResponse<ClientDto>),
    ),
    security(("bearer" = ["admin:clients:read"]))
)]
#[get("/clients")]
pub async fn list_clients(
    auth: Authorized<ClientsRead>,
    ctx: web::Data<Context>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<ListResponse<ClientDto>>, ApiError> {
    let page = clients::list(&ctx, &auth, &query.page()?, query.org()?.as_ref()).await?;
    Ok(web::Json(ListResponse::of(&page)))
}

/// Get a client
///
/// Requires `admin:clients:read`. Another tenant's client is `404`. The `ETag` goes into
/// `If-Match` of an update.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    responses(
        (status = 200, description = "The client", body = ClientDto, headers(("ETag" = String, description = "The version of the client"))),
        (status = 404, description = "No such client, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:read"]))
)]
#[get("/clients/{client_id}")]
pub async fn get_client(
    auth: Authorized<ClientsRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let dto = ClientDto::from(&clients::get(&ctx, &auth, &path_id(ClientId::parse, &path)?).await?);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Update a client
///
/// Changes the name, status, grants, token TTL, metadata, authentication methods or keys; absent
/// fields stay (`jwks` or `jwks_uri` set to `null` removes the keys). Leaving the secret methods
/// deletes the client's secrets. Disabling a client refuses its next token request on every
/// instance. Grants must stay within the org's
/// entitlements (and, for a user client, its user's grants). With `If-Match`, the update applies
/// only to that version (`412` otherwise). Requires `admin:clients:write`.
#[utoipa::path(
    tag = "clients",
    params(
        ("client_id" = String, Path, description = "The client id (`cli_…`)"),
        ("If-Match" = Option<String>, Header, description = "Apply only to this version (an `ETag`)"),
    ),
    request_body = UpdateClient,
    responses(
        (status = 200, description = "The updated client", body = ClientDto, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such client, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The operator's grants, status or limits (`operator_protected`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The client changed since the `If-Match` version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, or grants beyond entitlements", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[patch("/clients/{client_id}")]
pub async fn update_client(
    auth: Authorized<ClientsWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<String>,
    body: writ_http::Body<UpdateClient>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(ClientId::parse, &path)?;
    let changes = body.into_inner().parse()?;
    let client = clients::update(&ctx, &auth, &id, changes, |c| if_match(&req, &ClientDto::from(c))).await?;
    let dto = ClientDto::from(&client);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Delete a client
///
/// Deletes the client with its secrets and revokes every token it holds. Requires
/// `admin:clients:write`.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The operator's own client cannot be deleted (`operator_protected`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable; nothing was deleted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[delete("/clients/{client_id}")]
pub async fn delete_client(
    auth: Authorized<ClientsWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    clients::delete(&ctx, &auth, &path_id(ClientId::parse, &path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Request and answer bodies.

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    #[schema(value_type = String, example = "acme-sync")]
    pub name: Name,
    /// `org` (acts for an org), `user` (acts for one user of an org) or `service` (operator only).
    #[schema(value_type = String, example = "org")]
    pub kind: writ_app::clients::KindName,
    /// Required for `org` and `user` clients; a tenant admin may leave it out (its own org).
    pub org_id: Option<String>,
    /// Required for `user` clients.
    pub user_id: Option<String>,
    /// Must stay within the org's entitlements.
    #[serde(default)]
    pub grants: Vec<GrantDto>,
    /// 300 to 86400 (default 3600).
    #[schema(value_type = Option<u32>)]
    pub token_ttl_seconds: Option<TokenTtl>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    /// The client's own token-endpoint limits (operator only).
    pub rate_limits: Option<RateLimitsDto>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`, `none` (public clients only). Default: `none` for a public client, `private_key_jwt`
    /// when keys are given, else both secret methods. A client without secret methods has no
    /// secret.
    #[schema(example = json!(["private_key_jwt"]))]
    pub token_endpoint_auth_methods: Option<Vec<String>>,
    /// The client's public keys (a JWKS, at most 10 keys: P-256, RSA of 2048 bits or more, or
    /// Ed25519), for `private_key_jwt`.
    #[schema(value_type = Option<Object>, example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "agent-1"}]}))]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its public keys instead (`https://`), for `private_key_jwt`.
    #[schema(example = "https://agent.example.com/.well-known/jwks.json")]
    pub jwks_uri: Option<String>,
    /// `confidential` (default) or `public`: an agent that cannot keep a secret (a CLI, a desktop
    /// or browser app) authenticates with `none` and may use only authorization_code, device_code and
    /// refresh_token.
    #[schema(example = "confidential")]
    pub client_type: Option<String>,
    /// Where the person's browser returns with a code: `https://…`, `http://127.0.0.1…` (any
    /// port), or a private-use scheme (`com.example.app:/callback`); at most 20.
    #[schema(example = json!(["https://agent.example.com/callback"]))]
    pub redirect_uris: Option<Vec<String>>,
    /// The grants it may use: `client_credentials` and
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (the default), `authorization_code`,
    /// `urn:ietf:params:oauth:grant-type:device_code`, `refresh_token`.
    #[schema(example = json!(["authorization_code", "refresh_token"]))]
    pub grant_types: Option<Vec<String>>,
    /// Its authorization requests must be pushed to `/oauth/par` first (RFC 9126).
    pub require_pushed_authorization_requests: Option<bool>,
    /// How long an unused refresh token works (300 to 31536000; default 1296000, 15 days).
    #[schema(example = 1296000)]
    pub refresh_token_idle_seconds: Option<u32>,
    /// How long a person's authorization lasts, refreshed or not (default 2592000, 30 days).
    #[schema(example = 2592000)]
    pub refresh_token_absolute_seconds: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "client_id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "kind": "org", "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "user_id": null, "name": "acme-sync",
    "status": "active", "grants": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}],
    "token_ttl_seconds": 3600, "metadata": {}, "rate_limits": {}, "token_endpoint_auth_methods": ["client_secret_basic", "client_secret_post"],
    "jwks": null, "jwks_uri": null, "client_type": "confidential", "redirect_uris": [],
    "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
    "require_pushed_authorization_requests": false, "refresh_token_idle_seconds": 1296000,
    "refresh_token_absolute_seconds": 2592000, "metadata_url": null,
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct ClientDto {
    #[schema(example = "cli_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub client_id: String,
    pub kind: String,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    pub name: String,
    /// `active` or `disabled`.
    pub status: String,
    pub grants: Vec<GrantDto>,
    pub token_ttl_seconds: u32,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The client's own limits (empty: its org's, then the deployment's).
    pub rate_limits: RateLimitsDto,
    /// How it may authenticate at the token endpoint.
    pub token_endpoint_auth_methods: Vec<String>,
    /// Its registered public keys, if any.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where it publishes its public keys, if it does.
    pub jwks_uri: Option<String>,
    /// `confidential` or `public`.
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub require_pushed_authorization_requests: bool,
    pub refresh_token_idle_seconds: u32,
    pub refresh_token_absolute_seconds: u32,
    /// For a client known by its metadata document (docs/mcp.md): the document's URL, which is
    /// its `client_id` to the outside. Writ keeps its name, redirect URIs, keys and grant types as
    /// the document says; an operator may disable or delete it.
    pub metadata_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Client> for ClientDto {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            kind: c.kind.name().into(),
            org_id: c.kind.org_id().map(ToString::to_string),
            user_id: c.kind.user_id().map(ToString::to_string),
            name: c.name.to_string(),
            status: c.status.as_str().into(),
            grants: grants_to_dto(&c.grants),
            token_ttl_seconds: c.token_ttl.seconds(),
            metadata: serde_json::Value::Object(c.metadata.as_map().clone()),
            rate_limits: (&c.rate_limits).into(),
            token_endpoint_auth_methods: c.auth_methods.iter().map(|m| m.as_str().to_owned()).collect(),
            jwks: key_fields(c.keys.as_ref()).0,
            jwks_uri: key_fields(c.keys.as_ref()).1,
            client_type: c.delegation.client_type.as_str().into(),
            redirect_uris: c.delegation.redirect_uris.iter().map(ToString::to_string).collect(),
            grant_types: c.delegation.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            require_pushed_authorization_requests: c.delegation.require_par,
            refresh_token_idle_seconds: c.delegation.refresh.idle,
            refresh_token_absolute_seconds: c.delegation.refresh.absolute,
            metadata_url: c.delegation.metadata_url.as_ref().map(ToString::to_string),
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
}

/// The answer to creating a client: the client, and its first secret — shown this once only.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "client_id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "kind": "org", "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "user_id": null, "name": "acme-sync",
    "status": "active", "grants": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}],
    "token_ttl_seconds": 3600, "metadata": {}, "rate_limits": {}, "token_endpoint_auth_methods": ["client_secret_basic", "client_secret_post"],
    "jwks": null, "jwks_uri": null, "client_type": "confidential", "redirect_uris": [],
    "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
    "require_pushed_authorization_requests": false, "refresh_token_idle_seconds": 1296000,
    "refresh_token_absolute_seconds": 2592000, "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z",
    "client_secret": "writ_cs_…", "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n"
}))]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientDto,
    /// The plaintext secret. Writ keeps only a keyed hash: store it now, it cannot be shown again.
    /// Absent for a client that does not use secrets.
    #[schema(example = "writ_cs_…")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
}

impl std::fmt::Debug for CreatedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedClient")
            .field("client", &self.client)
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// Changes to a client; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    #[schema(value_type = Option<String>)]
    pub name: Option<Name>,
    /// `active` or `disabled`. A disabled client gets `invalid_client` at once on every instance.
    #[schema(value_type = Option<String>)]
    pub status: Option<writ_core::Status>,
    /// Replaces the grants; must stay within the org's entitlements.
    pub grants: Option<Vec<GrantDto>>,
    #[schema(value_type = Option<u32>)]
    pub token_ttl_seconds: Option<TokenTtl>,
    /// Replaces the metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    /// Replaces the client's own limits; `{}` inherits everything again (operator only).
    pub rate_limits: Option<RateLimitsDto>,
    /// Replaces the methods; leaving the secret methods deletes the client's secrets.
    #[schema(example = json!(["private_key_jwt"]))]
    pub token_endpoint_auth_methods: Option<Vec<String>>,
    /// Replaces the keys with this JWKS; `null` removes them.
    #[schema(value_type = Option<Object>, example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "agent-2"}]}))]
    #[serde(default, deserialize_with = "present")]
    pub jwks: Option<Option<serde_json::Value>>,
    /// Replaces the keys with this URL; `null` removes them.
    #[schema(value_type = Option<String>, example = "https://agent.example.com/.well-known/jwks.json")]
    #[serde(default, deserialize_with = "present")]
    pub jwks_uri: Option<Option<String>>,
    /// `confidential` (default) or `public`: an agent that cannot keep a secret (a CLI, a desktop
    /// or browser app) authenticates with `none` and may use only authorization_code, device_code and
    /// refresh_token.
    #[schema(example = "confidential")]
    pub client_type: Option<String>,
    /// Where the person's browser returns with a code: `https://…`, `http://127.0.0.1…` (any
    /// port), or a private-use scheme (`com.example.app:/callback`); at most 20.
    #[schema(example = json!(["https://agent.example.com/callback"]))]
    pub redirect_uris: Option<Vec<String>>,
    /// The grants it may use: `client_credentials` and
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (the default), `authorization_code`,
    /// `urn:ietf:params:oauth:grant-type:device_code`, `refresh_token`.
    #[schema(example = json!(["authorization_code", "refresh_token"]))]
    pub grant_types: Option<Vec<String>>,
    /// Its authorization requests must be pushed to `/oauth/par` first (RFC 9126).
    pub require_pushed_authorization_requests: Option<bool>,
    /// How long an unused refresh token works (300 to 31536000; default 1296000, 15 days).
    #[schema(example = 1296000)]
    pub refresh_token_idle_seconds: Option<u32>,
    /// How long a person's authorization lasts, refreshed or not (default 2592000, 30 days).
    #[schema(example = 2592000)]
    pub refresh_token_absolute_seconds: Option<u32>,
}

fn auth_methods(list: Option<&[String]>) -> Result<Option<AuthMethods>, AppError> {
    let field = "token_endpoint_auth_methods";
    list.map(|names| {
        let methods = names
            .iter()
            .map(|n| AuthMethod::parse(n).map_err(|e| AppError::validation(field, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        AuthMethods::new(methods).map_err(|e| AppError::validation(field, e.to_string()))
    })
    .transpose()
}

/// The delegation fields of a request, parsed.
fn delegation(
    client_type: Option<&str>,
    redirect_uris: Option<&[String]>,
    grant_types: Option<&[String]>,
    require_par: Option<bool>,
    (refresh_idle, refresh_absolute): (Option<u32>, Option<u32>),
) -> Result<writ_app::clients::DelegationChanges, AppError> {
    let client_type = client_type
        .map(|t| match t {
            "confidential" => Ok(writ_core::ClientType::Confidential),
            "public" => Ok(writ_core::ClientType::Public),
            _ => Err(AppError::validation("client_type", "must be confidential or public")),
        })
        .transpose()?;
    let redirect_uris = redirect_uris
        .map(|uris| {
            uris.iter()
                .enumerate()
                .map(|(i, u)| {
                    writ_core::delegation::RedirectUri::parse(u)
                        .map_err(|e| AppError::validation(format!("redirect_uris[{i}]"), e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let grant_types = grant_types
        .map(|names| {
            let kinds = names
                .iter()
                .map(|n| {
                    writ_core::GrantKind::parse(n)
                        .map_err(|e| AppError::validation("grant_types", e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            writ_core::GrantKinds::new(kinds).map_err(|e| AppError::validation("grant_types", e.to_string()))
        })
        .transpose()?;
    Ok(writ_app::clients::DelegationChanges {
        client_type,
        redirect_uris,
        grant_types,
        require_par,
        refresh_idle,
        refresh_absolute,
    })
}

/// The keys a request names: a JWKS or a URL, not both.
impl CreateClient {
    pub(crate) fn parse(self) -> Result<writ_app::clients::NewClient, AppError> {
        // An id that cannot exist names nothing, like one that does not exist.
        let org_id = self
            .org_id
            .as_deref()
            .map(|id| writ_core::OrgId::parse(id).map_err(|_| AppError::validation("org_id", "no such org")))
            .transpose()?;
        let user_id = self
            .user_id
            .as_deref()
            .map(|id| {
                writ_core::UserId::parse(id)
                    .map_err(|_| AppError::validation("user_id", "no such user in this org"))
            })
            .transpose()?;
        Ok(writ_app::clients::NewClient {
            name: self.name,
            kind: self.kind,
            org_id,
            user_id,
            grants: grants("grants", &self.grants)?,
            token_ttl: self.token_ttl_seconds.unwrap_or_default(),
            metadata: self.metadata.unwrap_or_default(),
            rate_limits: limits(self.rate_limits.as_ref())?,
            auth_methods: auth_methods(self.token_endpoint_auth_methods.as_deref())?,
            keys: key_source(self.jwks, self.jwks_uri.as_deref())?,
            delegation: delegation(
                self.client_type.as_deref(),
                self.redirect_uris.as_deref(),
                self.grant_types.as_deref(),
                self.require_pushed_authorization_requests,
                (self.refresh_token_idle_seconds, self.refresh_token_absolute_seconds),
            )?,
            registration: None,
        })
    }
}

impl UpdateClient {
    pub(crate) fn parse(self) -> Result<writ_app::clients::ClientChanges, AppError> {
        Ok(writ_app::clients::ClientChanges {
            name: self.name,
            status: self.status,
            token_ttl: self.token_ttl_seconds,
            metadata: self.metadata,
            rate_limits: limits(self.rate_limits.as_ref())?,
            grants: self.grants.as_deref().map(|g| grants("grants", g)).transpose()?,
            auth_methods: auth_methods(self.token_endpoint_auth_methods.as_deref())?,
            keys: match (self.jwks, self.jwks_uri) {
                (None, None) => None,
                (jwks, uri) => Some(key_source(jwks.flatten(), uri.flatten().as_deref())?),
            },
            delegation: delegation(
                self.client_type.as_deref(),
                self.redirect_uris.as_deref(),
                self.grant_types.as_deref(),
                self.require_pushed_authorization_requests,
                (self.refresh_token_idle_seconds, self.refresh_token_absolute_seconds),
            )?,
        })
    }
}
