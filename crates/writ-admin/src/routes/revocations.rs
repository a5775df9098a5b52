//! Admin revocation (docs/tokens.md, "Revocation and introspection"): one token, every token of a
//! client, of a secret, or of an org. Revocations live in the guard store until the tokens they
//! concern have expired; every one is audited.

use actix_web::{HttpResponse, post, web};
use writ_app::{Context, revocations};
use writ_core::{ClientId, SecretId};
use writ_http::auth::RevocationsWrite;
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::{CreateRevocation, Problem, RevocationDto, RevokeClientTokens};

/// Revoke tokens
///
/// Revokes one token (`jti`), every token a client has been issued until now (`client_id`), or
/// every token of an org (`org_id`; suspending an org does this too). Resource servers that follow
/// the revocation feed, and introspection, reject them from then on. Tenant admins may revoke only
/// their own org's tokens. Requires `admin:revocations:write`.
#[utoipa::path(
    tag = "revocations",
    request_body = CreateRevocation,
    responses(
        (status = 201, description = "The revocation took effect", body = RevocationDto),
        (status = 404, description = "No such token, client or org visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not exactly one of jti, client_id, org_id", body = Problem, content_type = "application/problem+json"),
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
