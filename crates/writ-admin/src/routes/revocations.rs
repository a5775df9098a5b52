//! Admin revocation (docs/tokens.md, "Revocation and introspection"): one token, every token of a
//! client, of a secret, or of an org. Revocations live in the guard store until the tokens they
//! concern have expired; every one is audited.

use actix_web::{HttpResponse, post, web};
use writ_app::{Context, revocations};
use writ_core::{ClientId, SecretId};
use writ_http::auth::RevocationsWrite;
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;

/// Revoke tokens
///
/// Revokes one token (`jti`), every token a client has been issued until now (`client_id`), or
/// every token of an org (`org_id`; suspending an org does this too). Resource servers that follow
/// the revocation feed, and introspection, reject them from then on. Tenant admins may revoke only
/// their own org's tokens: a jti they name is revoked for their org's token with it, whichever
/// exists (the answer does not say whether one does). Requires `admin:revocations:write`.
#[utoipa::path(
    tag = "revocations",
    request_body = CreateRevocation,
    responses(
        (status = 201, description = "The revocation took effect", body = RevocationDto),
        (status = 404, description = "No such client or org visible to the caller, or a `jti` no token can have", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not exactly one of jti, client_id, org_id", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "More revocations from this caller than `revocations_per_minute` allows (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:revocations:write"]))
)]
#[post("/revocations")]
pub async fn create_revocation(
    auth: Authorized<RevocationsWrite>,
    ctx: web::Data<Context>,
    body: writ_http::Body<CreateRevocation>,
) -> Result<HttpResponse, ApiError> {
    let revocation = revocations::revoke(&ctx, &auth, body.into_inner().parse()?).await?;
    Ok(HttpResponse::Created().json(RevocationDto::from(&revocation)))
}

/// Revoke a client's tokens
///
/// Revokes every token the client has been issued until now or, with `secret_id`, only the tokens
/// that secret authenticated (for a leaked secret: delete it and revoke what it minted). Requires
/// `admin:revocations:write`.
#[utoipa::path(
    tag = "revocations",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    request_body(content = RevokeClientTokens, description = "Optional secret; the body may be omitted"),
    responses(
        (status = 201, description = "The revocation took effect", body = RevocationDto),
        (status = 404, description = "No such client or secret visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "More revocations from this caller than `revocations_per_minute` allows (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:revocations:write"]))
)]
#[post("/clients/{client_id}/revoke-tokens")]
pub async fn revoke_client_tokens(
    auth: Authorized<RevocationsWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
    body: writ_http::OptionalBody<RevokeClientTokens>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(ClientId::parse, &path)?;
    let secret =
        body.into_inner().and_then(|b| b.secret_id).map(|s| path_id(SecretId::parse, &s)).transpose()?;
    let revocation = revocations::revoke_client_tokens(&ctx, &auth, &id, secret).await?;
    Ok(HttpResponse::Created().json(RevocationDto::from(&revocation)))
}

// Request and answer bodies.

/// What to revoke: exactly one of the fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRevocation {
    /// One token, by its `jti`.
    pub jti: Option<String>,
    /// Every token of this client issued until now.
    pub client_id: Option<String>,
    /// Every token of every client of this org issued until now.
    pub org_id: Option<String>,
}

/// Options of `POST /clients/{client_id}/revoke-tokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeClientTokens {
    /// Only the tokens this secret authenticated until now (each token names its secret, so the
    /// secret may already be deleted). Default: every token of the client.
    pub secret_id: Option<String>,
}

/// A revocation that took effect.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "client", "id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "revoked_at": "2026-11-23T10:00:00Z"}))]
pub struct RevocationDto {
    /// `token`, `client`, `org` or `secret`.
    pub kind: String,
    pub id: String,
    pub revoked_at: String,
}

impl From<&writ_app::revocations::Revocation> for RevocationDto {
    fn from(r: &writ_app::revocations::Revocation) -> Self {
        Self { kind: r.kind.into(), id: r.id.clone(), revoked_at: rfc3339(r.revoked_at) }
    }
}

impl CreateRevocation {
    pub(crate) fn parse(self) -> Result<writ_app::revocations::Target, AppError> {
        use writ_app::revocations::Target;
        // An id that cannot exist names nothing.
        match (self.jti, self.client_id, self.org_id) {
            (Some(jti), None, None) if writ_core::id::is_token_id(&jti) => Ok(Target::Token(jti)),
            (Some(_), None, None) => Err(AppError::not_found()),
            (None, Some(id), None) => {
                writ_core::ClientId::parse(&id).map(Target::Client).map_err(|_| AppError::not_found())
            }
            (None, None, Some(id)) => {
                writ_core::OrgId::parse(&id).map(Target::Org).map_err(|_| AppError::not_found())
            }
            _ => Err(AppError::validation("body", "name exactly one of jti, client_id, org_id")),
        }
    }
}
