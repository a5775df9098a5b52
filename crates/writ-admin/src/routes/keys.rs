//! `/admin/v1/keys`: the deployment's signing keys (operator only).

use actix_web::{HttpResponse, get, post, web};
use writ_app::Context;
use writ_app::context::InitError;
use writ_core::{KeyId, SigningAlg};
use writ_http::auth::{KeysRead, KeysWrite};
use writ_http::{ApiError, Authorized};
use writ_store::StoreError;

use super::path_id;
use crate::dto::{KeyDto, ListResponse, Problem, RotateKey};

fn key_error(e: InitError) -> ApiError {
    match e {
        InitError::Store(StoreError::NotFound) => ApiError::not_found(),
        e => ApiError::internal(&e),
    }
}

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
    auth.require_operator()?;
    let keys = writ_store::Keys::new(ctx.store.conn()).list().await?;
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
    auth.require_operator()?;
    let body = body.into_inner().unwrap_or_default();
    let alg = match body.alg.as_deref() {
        Some(a) => SigningAlg::parse(a).map_err(|e| ApiError::validation("alg", e.to_string()))?,
        None => ctx.settings.signing_alg,
    };
    let key = writ_app::keys::rotate(&ctx, ctx.get_ref(), alg, body.immediate, auth.actor())
        .await
        .map_err(key_error)?;
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
    auth.require_operator()?;
    let kid = path_id(KeyId::parse, &path)?;
    let key = writ_app::keys::revoke(&ctx, ctx.get_ref(), &kid, auth.actor()).await.map_err(key_error)?;
    Ok(web::Json(KeyDto::from(&key)))
}
