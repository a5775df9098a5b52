//! `/admin/v1/clients`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::{Context, clients};
use writ_core::ClientId;
use writ_http::auth::{ClientsRead, ClientsWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::{ClientDto, CreateClient, CreatedClient, ListQuery, ListResponse, Problem, UpdateClient};
use crate::etag::{if_match, tagged};

/// Create a client
///
/// Creates a machine client and its first secret. The answer carries `client_secret` — the only
/// time it is ever shown. Grants must stay within the org's entitlements (deny by default).
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
            client_secret: created.plaintext.expose().to_owned(),
            secret_id: created.secret.id.to_string(),
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
/// Changes the name, status, grants, token TTL or metadata; absent fields stay. Disabling a client
/// refuses its next token request on every instance. Grants must stay within the org's
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
        (status = 409, description = "The operator's own client cannot be deleted", body = Problem, content_type = "application/problem+json"),
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
