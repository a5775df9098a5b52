//! `/admin/v1/clients/{client_id}/secrets`: rotate client secrets without downtime — add a new one,
//! move the client over, delete the old one.

use actix_web::{HttpResponse, delete, get, post, web};
use writ_app::{Context, clients};
use writ_core::{ClientId, SecretId};
use writ_http::auth::{ClientsRead, ClientsWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;

/// Create a client secret
///
/// Adds a secret to the client; the answer carries its value, shown this once only. A client holds
/// at most 5 usable (unexpired) secrets. Requires `admin:clients:write`.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    request_body(content = CreateSecret, description = "Optional expiry; the body may be omitted"),
    responses(
        (status = 201, description = "The new secret (value shown once)", body = CreatedSecret),
        (status = 404, description = "No such client, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client already has 5 usable secrets (`too_many_secrets`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid expiry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[post("/clients/{client_id}/secrets")]
pub async fn create_secret(
    auth: Authorized<ClientsWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
    body: writ_http::OptionalBody<CreateSecret>,
) -> Result<HttpResponse, ApiError> {
    let client_id = path_id(ClientId::parse, &path)?;
    let body = body.into_inner().unwrap_or_default();
    let expires_at =
        body.expires_at.as_deref().map(|s| future_time("expires_at", s, &*ctx.clock)).transpose()?;
    let (secret, plain) = clients::add_secret(&ctx, &auth, &client_id, expires_at).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedSecret { secret: SecretDto::from(&secret), client_secret: plain.expose().to_owned() }))
}

/// List a client's secrets
///
/// Metadata only (prefix, creation, expiry, last use), never values. Requires `admin:clients:read`.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    responses(
        (status = 200, description = "The client's secrets, oldest first (one page: at most 5)", body = ListResponse<SecretDto>),
        (status = 404, description = "No such client, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:read"]))
)]
#[get("/clients/{client_id}/secrets")]
pub async fn list_secrets(
    auth: Authorized<ClientsRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<web::Json<ListResponse<SecretDto>>, ApiError> {
    let secrets = clients::secrets(&ctx, &auth, &path_id(ClientId::parse, &path)?).await?;
    Ok(web::Json(ListResponse { data: secrets.iter().map(SecretDto::from).collect(), next_cursor: None }))
}

/// Delete a client secret
///
/// The secret stops working at once on every instance. Requires `admin:clients:write`.
#[utoipa::path(
    tag = "clients",
    params(
        ("client_id" = String, Path, description = "The client id (`cli_…`)"),
        ("secret_id" = String, Path, description = "The secret id (`sec_…`)"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client or secret", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The operator's last usable secret (`operator_protected`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[delete("/clients/{client_id}/secrets/{secret_id}")]
pub async fn delete_secret(
    auth: Authorized<ClientsWrite>,
    ctx: web::Data<Context>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, secret_id) = path.into_inner();
    let (client_id, secret_id) =
        (path_id(ClientId::parse, &client_id)?, path_id(SecretId::parse, &secret_id)?);
    clients::delete_secret(&ctx, &auth, &client_id, &secret_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Request and answer bodies.

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecret {
    /// When the secret stops working (RFC 3339, in the future). Default: never.
    #[schema(example = "2027-01-01T00:00:00Z")]
    pub expires_at: Option<String>,
}

/// A secret's metadata; its value is never shown again after creation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n", "display_prefix": "writ_cs_k3m9", "created_at": "2026-11-23T10:00:00Z",
    "expires_at": null, "last_used_at": "2026-11-23T11:30:00Z"
}))]
pub struct SecretDto {
    pub secret_id: String,
    /// The first characters of the secret, to tell secrets apart.
    #[schema(example = "writ_cs_k3m9")]
    pub display_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// When a token was last issued with it: written at its first use, then at most once a minute,
    /// so it lags by up to a minute.
    pub last_used_at: Option<String>,
}

impl From<&writ_core::ClientSecret> for SecretDto {
    fn from(s: &writ_core::ClientSecret) -> Self {
        Self {
            secret_id: s.id.to_string(),
            display_prefix: s.display_prefix.clone(),
            created_at: rfc3339(s.created_at),
            expires_at: s.expires_at.map(rfc3339),
            last_used_at: s.last_used_at.map(rfc3339),
        }
    }
}

/// A new secret: its metadata and its value, shown this once only.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n", "display_prefix": "writ_cs_k3m9", "created_at": "2026-11-23T10:00:00Z",
    "expires_at": "2027-01-01T00:00:00Z", "last_used_at": null, "client_secret": "writ_cs_…"
}))]
pub struct CreatedSecret {
    #[serde(flatten)]
    pub secret: SecretDto,
    pub client_secret: String,
}

impl std::fmt::Debug for CreatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedSecret").field("secret", &self.secret).finish_non_exhaustive()
    }
}

/// Parses an RFC 3339 time in the future.
pub(crate) fn future_time(
    field: &'static str,
    s: &str,
    clock: &dyn Clock,
) -> Result<OffsetDateTime, AppError> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| AppError::validation(field, format!("not an RFC 3339 time: {e}")))?;
    if t <= clock.now() {
        return Err(AppError::validation(field, "must be in the future"));
    }
    Ok(t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_must_be_after_now_on_the_deployment_clock() {
        let now = OffsetDateTime::parse("2026-11-29T12:00:00Z", &Rfc3339).unwrap();
        let clock = writ_app::FixedClock::at(now);
        let refused = future_time("expires_at", "2026-11-29T12:00:00Z", &clock).unwrap_err();
        assert_eq!(
            (refused.field.as_deref(), refused.detail.as_str()),
            (Some("expires_at"), "must be in the future")
        );
        let later = future_time("expires_at", "2026-11-29T12:00:01.1234567Z", &clock).unwrap();
        assert_eq!(later.nanosecond(), 123_456_000, "kept at the microseconds every backend stores");
        clock.advance(time::Duration::seconds(2));
        assert!(
            future_time("expires_at", "2026-11-29T12:00:01Z", &clock).is_err(),
            "the clock moved past it"
        );
        assert!(future_time("expires_at", "tomorrow", &clock).is_err());
    }
}
