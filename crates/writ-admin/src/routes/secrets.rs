//! `/admin/v1/clients/{client_id}/secrets`: rotate client secrets without downtime — add a new one,
//! move the client over, delete the old one.

use actix_web::{HttpResponse, delete, get, post, web};
use writ_app::{Context, clients};
use writ_core::{ClientId, SecretId};
use writ_http::auth::{ClientsRead, ClientsWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::{CreateSecret, CreatedSecret, ListResponse, Problem, SecretDto, future_time};

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
