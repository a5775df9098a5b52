//! `/admin/v1/keys`: the deployment's signing keys (operator only).

use actix_web::{HttpResponse, get, post, web};
use writ_app::{Context, keys};
use writ_core::KeyId;
use writ_http::auth::{KeysRead, KeysWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;

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
    let key = keys::rotate_for(&ctx, &auth, body.alg, body.immediate).await?;
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

// Request and answer bodies.

/// A signing key: its public half and where it is in its life.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "kid": "01jd8x4c2v9q0m7k3n5p6r8s0t", "alg": "ES256", "state": "active",
    "public_jwk": {"kty": "EC", "crv": "P-256", "x": "…", "y": "…", "kid": "01jd8x4c2v9q0m7k3n5p6r8s0t", "alg": "ES256", "use": "sig"},
    "created_at": "2026-11-23T10:00:00Z", "activated_at": "2026-11-23T10:00:00Z", "retired_at": null, "revoked_at": null
}))]
pub struct KeyDto {
    pub kid: String,
    /// `ES256`, `RS256` or `EdDSA`.
    pub alg: String,
    /// `pending` (published, not yet signing), `active`, `retired` (published until its tokens
    /// expire), `removed` or `revoked`.
    pub state: String,
    /// The public key as published in the JWKS.
    #[schema(value_type = Object)]
    pub public_jwk: serde_json::Value,
    pub created_at: String,
    pub activated_at: Option<String>,
    pub retired_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&writ_core::SigningKey> for KeyDto {
    fn from(k: &writ_core::SigningKey) -> Self {
        Self {
            kid: k.kid.to_string(),
            alg: k.alg.as_str().into(),
            state: k.state.as_str().into(),
            public_jwk: k.public_jwk.clone(),
            created_at: rfc3339(k.created_at),
            activated_at: k.activated_at.map(rfc3339),
            retired_at: k.retired_at.map(rfc3339),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The algorithm of the new key; default: the deployment's.
    #[schema(value_type = Option<String>)]
    pub alg: Option<writ_core::SigningAlg>,
    /// Sign with the new key at once instead of after the publish delay. Verifiers holding a
    /// cached JWKS will need to refetch it; use for emergencies.
    #[serde(default)]
    pub immediate: bool,
}
