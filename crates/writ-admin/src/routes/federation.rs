//! `/admin/v1/trusted-issuers` (the operator's identity providers) and
//! `/admin/v1/clients/{client_id}/federated-credentials` (which of their identities stand for a
//! client): workload identity federation, docs/clients.md.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use writ_app::{Context, federation};
use writ_core::federation::{ClaimMatch, FederatedCredential, SubjectPattern, TrustedIssuer};
use writ_core::{ClientId, FederatedCredentialId, ResourceUri, TrustedIssuerId};
use writ_http::auth::{ClientsRead, ClientsWrite, KeysRead, KeysWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;

/// Register a trusted issuer
///
/// An identity provider whose tokens may authenticate clients through federated credentials: a
/// Kubernetes cluster, GitHub Actions, a SPIFFE trust domain, any OIDC issuer. Its keys are given
/// inline (`jwks`: a cluster whose keys are not public), at a `jwks_uri`, or found through its
/// OpenID discovery document. Operator only; requires `admin:keys:write`.
#[utoipa::path(
    tag = "trusted issuers",
    request_body = CreateTrustedIssuer,
    responses(
        (status = 201, description = "The trusted issuer", body = TrustedIssuerDto),
        (status = 403, description = "Not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "That issuer is trusted already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:write"]))
)]
#[post("/trusted-issuers")]
pub async fn create_trusted_issuer(
    auth: Authorized<KeysWrite>,
    ctx: web::Data<Context>,
    body: writ_http::Body<CreateTrustedIssuer>,
) -> Result<HttpResponse, ApiError> {
    let issuer = federation::create_issuer(&ctx, &auth, body.into_inner().parse()?).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/v1/trusted-issuers/{}", issuer.id)))
        .json(TrustedIssuerDto::from(&issuer)))
}

/// List trusted issuers
///
/// Operator only; requires `admin:keys:read`.
#[utoipa::path(
    tag = "trusted issuers",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of trusted issuers", body = ListResponse<TrustedIssuerDto>),
        (status = 403, description = "Not the operator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:read"]))
)]
#[get("/trusted-issuers")]
pub async fn list_trusted_issuers(
    auth: Authorized<KeysRead>,
    ctx: web::Data<Context>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<TrustedIssuerDto>>, ApiError> {
    Ok(web::Json(ListResponse::of(&federation::list_issuers(&ctx, &auth, &query.page()?).await?)))
}

/// Get a trusted issuer
///
/// Operator only; requires `admin:keys:read`.
#[utoipa::path(
    tag = "trusted issuers",
    params(("issuer_id" = String, Path, description = "The trusted issuer's id (`tis_…`)")),
    responses(
        (status = 200, description = "The trusted issuer", body = TrustedIssuerDto),
        (status = 403, description = "Not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such trusted issuer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:read"]))
)]
#[get("/trusted-issuers/{issuer_id}")]
pub async fn get_trusted_issuer(
    auth: Authorized<KeysRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<web::Json<TrustedIssuerDto>, ApiError> {
    let issuer = federation::get_issuer(&ctx, &auth, &path_id(TrustedIssuerId::parse, &path)?).await?;
    Ok(web::Json(TrustedIssuerDto::from(&issuer)))
}

/// Update a trusted issuer
///
/// Changes its name, keys (`jwks`, `jwks_uri`, or both `null` for discovery), maximum token
/// lifetime or replay rule; its `issuer` never changes. Operator only; requires `admin:keys:write`.
#[utoipa::path(
    tag = "trusted issuers",
    params(("issuer_id" = String, Path, description = "The trusted issuer's id (`tis_…`)")),
    request_body = UpdateTrustedIssuer,
    responses(
        (status = 200, description = "The updated trusted issuer", body = TrustedIssuerDto),
        (status = 403, description = "Not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such trusted issuer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:write"]))
)]
#[patch("/trusted-issuers/{issuer_id}")]
pub async fn update_trusted_issuer(
    auth: Authorized<KeysWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
    body: writ_http::Body<UpdateTrustedIssuer>,
) -> Result<web::Json<TrustedIssuerDto>, ApiError> {
    let id = path_id(TrustedIssuerId::parse, &path)?;
    let issuer = federation::update_issuer(&ctx, &auth, &id, body.into_inner().parse()?).await?;
    Ok(web::Json(TrustedIssuerDto::from(&issuer)))
}

/// Delete a trusted issuer
///
/// Deletes it with every federated credential naming it, and revokes every token those minted.
/// Operator only; requires `admin:keys:write`.
#[utoipa::path(
    tag = "trusted issuers",
    params(("issuer_id" = String, Path, description = "The trusted issuer's id (`tis_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such trusted issuer", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable; nothing was deleted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:write"]))
)]
#[delete("/trusted-issuers/{issuer_id}")]
pub async fn delete_trusted_issuer(
    auth: Authorized<KeysWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    federation::delete_issuer(&ctx, &auth, &path_id(TrustedIssuerId::parse, &path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Attach a federated credential
///
/// Says which identities of a trusted issuer stand for the client: its `subject` (exact, or a
/// pattern with `*`), optionally an `audience` the token may name instead of Writ, and claims the
/// token must carry with exactly these values (a dotted name reaches into objects:
/// `kubernetes.io.namespace`). The client must allow `federated` in its
/// `token_endpoint_auth_methods`. Requires `admin:clients:write`.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    request_body = CreateFederatedCredential,
    responses(
        (status = 201, description = "The federated credential", body = FederatedCredentialDto),
        (status = 404, description = "No such client, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client holds 20 federated credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, or an issuer that is not trusted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[post("/clients/{client_id}/federated-credentials")]
pub async fn create_federated_credential(
    auth: Authorized<ClientsWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
    body: writ_http::Body<CreateFederatedCredential>,
) -> Result<HttpResponse, ApiError> {
    let client_id = path_id(ClientId::parse, &path)?;
    let new = body.into_inner().parse()?;
    let issuer = new.issuer.clone();
    let credential = federation::add_credential(&ctx, &auth, &client_id, new).await?;
    Ok(HttpResponse::Created().json(FederatedCredentialDto::from((&credential, issuer.as_str()))))
}

/// List a client's federated credentials
///
/// Requires `admin:clients:read`.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    responses(
        (status = 200, description = "The client's federated credentials, oldest first (one page: at most 20)", body = ListResponse<FederatedCredentialDto>),
        (status = 404, description = "No such client, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:read"]))
)]
#[get("/clients/{client_id}/federated-credentials")]
pub async fn list_federated_credentials(
    auth: Authorized<ClientsRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<web::Json<ListResponse<FederatedCredentialDto>>, ApiError> {
    let list = federation::credentials(&ctx, &auth, &path_id(ClientId::parse, &path)?).await?;
    let data = list.iter().map(|(c, issuer)| FederatedCredentialDto::from((c, issuer.as_str()))).collect();
    Ok(web::Json(ListResponse { data, next_cursor: None }))
}

/// Remove a federated credential
///
/// Its identities no longer stand for the client, and every token it minted is revoked.
/// Requires `admin:clients:write`.
#[utoipa::path(
    tag = "clients",
    params(
        ("client_id" = String, Path, description = "The client id (`cli_…`)"),
        ("credential_id" = String, Path, description = "The federated credential's id (`fcr_…`)"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such client or credential", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable; nothing was removed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[delete("/clients/{client_id}/federated-credentials/{credential_id}")]
pub async fn delete_federated_credential(
    auth: Authorized<ClientsWrite>,
    ctx: web::Data<Context>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, id) = path.into_inner();
    let (client_id, id) =
        (path_id(ClientId::parse, &client_id)?, path_id(FederatedCredentialId::parse, &id)?);
    federation::delete_credential(&ctx, &auth, &client_id, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Request and answer bodies.

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrustedIssuer {
    /// The exact `iss` of its tokens.
    #[schema(example = "https://token.actions.githubusercontent.com")]
    pub issuer: String,
    #[schema(value_type = String, example = "GitHub Actions")]
    pub name: Name,
    /// Its public keys, when they are not published (a Kubernetes cluster's `/openid/v1/jwks`).
    #[schema(value_type = Option<Object>, example = json!(null))]
    pub jwks: Option<serde_json::Value>,
    /// Where its keys are, when discovery does not say.
    #[schema(example = json!(null))]
    pub jwks_uri: Option<String>,
    /// The longest a token of it may live (`exp - iat`): 60 to 86400 seconds (default 3600).
    #[schema(example = 3600)]
    pub max_token_lifetime_seconds: Option<u32>,
    /// Accept each token (`jti`) once (default `true`); `false` for Kubernetes projected tokens,
    /// which a pod reuses until they rotate.
    #[schema(example = true)]
    pub single_use: Option<bool>,
    /// Take its ID-JAGs (enterprise-managed authorization, docs/mcp.md) for one org's people.
    pub id_jag: Option<IdJagDto>,
}

/// Which org's people a trusted issuer's ID-JAGs act for, and which claim names the person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "user_claim": "email"}))]
pub struct IdJagDto {
    pub org_id: String,
    /// `sub` (the person's `external_id`) or `email`.
    pub user_claim: String,
}

impl IdJagDto {
    fn parse(&self) -> Result<writ_core::federation::IdJagBinding, AppError> {
        Ok(writ_core::federation::IdJagBinding {
            org_id: writ_core::OrgId::parse(&self.org_id)
                .map_err(|e| AppError::validation("id_jag.org_id", e.reason))?,
            user_claim: writ_core::federation::UserClaim::parse(&self.user_claim)
                .map_err(|e| AppError::validation("id_jag.user_claim", e.reason))?,
        })
    }
}

impl From<&writ_core::federation::IdJagBinding> for IdJagDto {
    fn from(b: &writ_core::federation::IdJagBinding) -> Self {
        Self { org_id: b.org_id.to_string(), user_claim: b.user_claim.as_str().to_owned() }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTrustedIssuer {
    #[schema(value_type = Option<String>, example = "GitHub Actions")]
    pub name: Option<Name>,
    /// Replaces the keys with this JWKS; `null` (with `jwks_uri` absent or `null`) means discovery.
    #[schema(value_type = Option<Object>, example = json!(null))]
    #[serde(default, deserialize_with = "present")]
    pub jwks: Option<Option<serde_json::Value>>,
    #[schema(value_type = Option<String>, example = json!(null))]
    #[serde(default, deserialize_with = "present")]
    pub jwks_uri: Option<Option<String>>,
    #[schema(example = 600)]
    pub max_token_lifetime_seconds: Option<u32>,
    #[schema(example = false)]
    pub single_use: Option<bool>,
    /// Replaces its ID-JAG binding; `null` stops taking its ID-JAGs.
    #[serde(default, deserialize_with = "present")]
    pub id_jag: Option<Option<IdJagDto>>,
}

fn lifetime(seconds: Option<u32>) -> Result<Option<u32>, AppError> {
    seconds
        .map(TrustedIssuer::check_lifetime)
        .transpose()
        .map_err(|e| AppError::validation("max_token_lifetime_seconds", e.to_string()))
}

impl CreateTrustedIssuer {
    fn parse(self) -> Result<federation::NewTrustedIssuer, AppError> {
        let issuer =
            ResourceUri::parse(&self.issuer).map_err(|e| AppError::validation("issuer", e.to_string()))?;
        if !issuer.as_str().starts_with("https://") && !issuer.as_str().starts_with("http://") {
            return Err(AppError::validation("issuer", "must be an https URL"));
        }
        Ok(federation::NewTrustedIssuer {
            issuer,
            name: self.name,
            keys: key_source(self.jwks, self.jwks_uri.as_deref())?,
            max_token_lifetime: lifetime(self.max_token_lifetime_seconds)?
                .unwrap_or(TrustedIssuer::DEFAULT_LIFETIME),
            single_use: self.single_use.unwrap_or(true),
            id_jag: self.id_jag.as_ref().map(IdJagDto::parse).transpose()?,
        })
    }
}

impl UpdateTrustedIssuer {
    fn parse(self) -> Result<federation::TrustedIssuerChanges, AppError> {
        Ok(federation::TrustedIssuerChanges {
            name: self.name,
            keys: match (self.jwks, self.jwks_uri) {
                (None, None) => None,
                (jwks, uri) => Some(key_source(jwks.flatten(), uri.flatten().as_deref())?),
            },
            max_token_lifetime: lifetime(self.max_token_lifetime_seconds)?,
            single_use: self.single_use,
            id_jag: self.id_jag.map(|b| b.as_ref().map(IdJagDto::parse).transpose()).transpose()?,
        })
    }
}

/// A trusted issuer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "tis_01jd8x4c5d0a1b2c3d4e5f6g7h", "issuer": "https://token.actions.githubusercontent.com", "name": "GitHub Actions",
    "jwks": null, "jwks_uri": null, "max_token_lifetime_seconds": 3600, "single_use": true, "id_jag": null,
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct TrustedIssuerDto {
    pub id: String,
    pub issuer: String,
    pub name: String,
    /// Its registered keys, if any.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where its keys are, if not found through discovery.
    pub jwks_uri: Option<String>,
    pub max_token_lifetime_seconds: u32,
    pub single_use: bool,
    /// Whose people its ID-JAGs act for, if it is taken for them.
    pub id_jag: Option<IdJagDto>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&TrustedIssuer> for TrustedIssuerDto {
    fn from(t: &TrustedIssuer) -> Self {
        Self {
            id: t.id.to_string(),
            issuer: t.issuer.to_string(),
            name: t.name.to_string(),
            jwks: key_fields(t.keys.as_ref()).0,
            jwks_uri: key_fields(t.keys.as_ref()).1,
            max_token_lifetime_seconds: t.max_token_lifetime,
            single_use: t.single_use,
            id_jag: t.id_jag.as_ref().map(Into::into),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFederatedCredential {
    /// The trusted issuer's URL (its `issuer`).
    #[schema(example = "https://token.actions.githubusercontent.com")]
    pub issuer: String,
    #[schema(value_type = String, example = "deploy from main")]
    pub name: Name,
    /// The token's `sub`, exact or with `*` for any run of characters. Only `*` needs a claim.
    #[schema(example = "repo:acme/app:ref:refs/heads/main")]
    pub subject: String,
    /// An audience the token may name instead of Writ's issuer or token endpoint.
    #[schema(example = json!(null))]
    pub audience: Option<String>,
    /// Claims the token must carry with exactly these string values (at most 10).
    #[serde(default)]
    #[schema(example = json!({"repository_owner": "acme"}))]
    pub claims: BTreeMap<String, String>,
}

impl CreateFederatedCredential {
    fn parse(self) -> Result<federation::NewFederatedCredential, AppError> {
        Ok(federation::NewFederatedCredential {
            issuer: self.issuer,
            name: self.name,
            subject: SubjectPattern::parse(&self.subject)
                .map_err(|e| AppError::validation("subject", e.to_string()))?,
            audience: self
                .audience
                .as_deref()
                .map(ResourceUri::parse)
                .transpose()
                .map_err(|e| AppError::validation("audience", e.to_string()))?,
            claims: ClaimMatch::new(self.claims)
                .map_err(|e| AppError::validation("claims", e.to_string()))?,
        })
    }
}

/// A federated credential.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "fcr_01jd8x4c5d0a1b2c3d4e5f6g7h", "client_id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t",
    "issuer": "https://token.actions.githubusercontent.com", "name": "deploy from main",
    "subject": "repo:acme/app:ref:refs/heads/main", "audience": null, "claims": {"repository_owner": "acme"},
    "created_at": "2026-11-23T10:00:00Z"
}))]
pub struct FederatedCredentialDto {
    pub id: String,
    pub client_id: String,
    pub issuer: String,
    pub name: String,
    pub subject: String,
    pub audience: Option<String>,
    pub claims: BTreeMap<String, String>,
    pub created_at: String,
}

impl From<(&FederatedCredential, &str)> for FederatedCredentialDto {
    fn from((c, issuer): (&FederatedCredential, &str)) -> Self {
        Self {
            id: c.id.to_string(),
            client_id: c.client_id.to_string(),
            issuer: issuer.to_owned(),
            name: c.name.to_string(),
            subject: c.subject.as_str().to_owned(),
            audience: c.audience.as_ref().map(ToString::to_string),
            claims: c.claims.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            created_at: rfc3339(c.created_at),
        }
    }
}
