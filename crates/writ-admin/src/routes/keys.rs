//! `/admin/v1/keys`: the deployment's signing keys (operator only).

use actix_web::{HttpResponse, get, post, web};
use writ_app::{AppError, Context, keys};
use writ_core::{KeyId, SigningAlg};
use writ_http::auth::{KeysRead, KeysWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::{KeyDto, ListResponse, Problem, RotateKey};

/// List signing keys
///
/// Every key, oldest first, with its state. Requires `admin:keys:read`; operator only.
#[utoipa::path(
    tag = "keys",
    responses(
        (status = 200, description = "Every key, oldest first (one page: there are few)", body = ListResponse<KeyDto>),
        (status = 403, description = "Missing scope, or not the operator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:read"]))
)]
#[get("/keys")]
pub async fn list_keys(
    auth: Authorized<KeysRead>,
    ctx: web::Data<Context>,
) -> Result<web::Json<ListResponse<KeyDto>>, ApiError> {
    let keys = keys::list(&ctx, &auth).await?;
    Ok(web::Json(ListResponse { data: keys.iter().map(KeyDto::from).collect(), next_cursor: None }))
}

/// Rotate the signing key
///
/// Publishes a new key now; it signs once it has been published for `key_publish_delay_seconds`,
/// and the key it replaces stays published until its tokens have expired. With `immediate`, it signs
/// at once. Requires `admin:keys:write`; operator only.
#[utoipa::path(
    tag = "keys",
    request_body(content = RotateKey, description = "Optional algorithm and urgency; the body may be omitted"),
    responses(
        (status = 201, description = "The new key", body = KeyDto),
        (status = 403, description = "Missing scope, or not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown algorithm", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:write"]))
)]
#[post("/keys/rotate")]
pub async fn rotate_key(
    auth: Authorized<KeysWrite>,
    ctx: web::Data<Context>,
    body: writ_http::OptionalBody<RotateKey>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner().unwrap_or_default();
    let alg = body
        .alg
        .as_deref()
        .map(SigningAlg::parse)
        .transpose()
        .map_err(|e| AppError::validation("alg", e.to_string()))?;
    let key = keys::rotate_for(&ctx, &auth, alg, body.immediate).await?;
    Ok(HttpResponse::Created().json(KeyDto::from(&key)))
}

/// Revoke a signing key
///
/// Withdraws the key from the JWKS at once (for a compromised key). If it was signing, the next
/// key takes over immediately. Tokens it signed stop verifying as verifiers refetch the JWKS.
/// Requires `admin:keys:write`; operator only.
#[utoipa::path(
    tag = "keys",
    params(("kid" = String, Path, description = "The key id (`key_…`)")),
    responses(
        (status = 200, description = "The revoked key", body = KeyDto),
        (status = 403, description = "Missing scope, or not the operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:write"]))
)]
#[post("/keys/{kid}/revoke")]
pub async fn revoke_key(
    auth: Authorized<KeysWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<web::Json<KeyDto>, ApiError> {
    let key = keys::revoke_for(&ctx, &auth, &path_id(KeyId::parse, &path)?).await?;
    Ok(web::Json(KeyDto::from(&key)))
}
