//! `/admin/v1/clients`

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::Context;
use writ_app::changes::Change;
use writ_core::{
    AuditEvent, Client, ClientId, ClientKind, Name, OrgId, RateLimits, Status, TokenTtl, UserId,
};
use writ_http::auth::{ClientsRead, ClientsWrite};
use writ_http::{ApiError, Authorized};
use writ_store::{Audit, Clients, Orgs, StoreError, Tenant, Users};

use super::{check_entitled, check_within_user, path_id, revoke_before, stamp};
use crate::dto::{
    ClientDto, CreateClient, CreatedClient, ListQuery, ListResponse, Problem, UpdateClient, grants_from_dto,
    metadata_from,
};
use crate::etag::{if_match, tagged};
use writ_app::secrets::new_secret;

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
    req: HttpRequest,
    body: writ_http::Body<CreateClient>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let name = Name::parse(&body.name).map_err(|e| ApiError::validation("name", e.to_string()))?;
    let grants = grants_from_dto("grants", &body.grants)?;
    let token_ttl = body
        .token_ttl_seconds
        .map(TokenTtl::new)
        .transpose()
        .map_err(|e| ApiError::validation("token_ttl_seconds", e.to_string()))?
        .unwrap_or_default();
    let metadata = metadata_from("metadata", body.metadata)?;
    let rate_limits = match &body.rate_limits {
        Some(limits) => {
            auth.require_operator()?;
            limits.parse()?
        }
        None => RateLimits::default(),
    };

    let txn = ctx.store.begin().await?;
    // An org the caller cannot see is reported exactly like one that does not exist.
    let unknown_org = || ApiError::validation("org_id", "no such org");
    let org_id = match (&body.org_id, &auth.tenant) {
        (Some(id), _) => Some(OrgId::parse(id).map_err(|_| unknown_org())?),
        (None, Tenant::Org(own)) if body.kind != "service" => Some(own.clone()),
        (None, _) => None,
    };
    let org = match &org_id {
        Some(id) => Some(Orgs::new(&txn, &auth.tenant).get(id).await.map_err(|e| match e {
            StoreError::NotFound => unknown_org(),
            e => e.into(),
        })?),
        None => None,
    };
    let kind = match (body.kind.as_str(), &org, &body.user_id) {
        ("service", None, None) => {
            auth.require_operator()?;
            ClientKind::Service
        }
        ("service", _, _) => {
            return Err(ApiError::validation("kind", "service clients belong to no org or user"));
        }
        ("org", Some(org), None) => ClientKind::Org { org_id: org.id.clone() },
        ("user", Some(org), Some(user_id)) => {
            let unknown_user = || ApiError::validation("user_id", "no such user in this org");
            let user_id = UserId::parse(user_id).map_err(|_| unknown_user())?;
            let user = Users::new(&txn, &auth.tenant).get(&user_id).await.map_err(|e| match e {
                StoreError::NotFound => unknown_user(),
                e => e.into(),
            })?;
            if user.org_id != org.id {
                return Err(unknown_user());
            }
            check_within_user(&user, &grants)?;
            ClientKind::User { org_id: org.id.clone(), user_id }
        }
        ("org", None, _) | ("user", None, _) => {
            return Err(ApiError::validation("org_id", "required for this kind"));
        }
        ("org", Some(_), Some(_)) => {
            return Err(ApiError::validation("user_id", "only user clients have a user"));
        }
        ("user", Some(_), None) => return Err(ApiError::validation("user_id", "required for user clients")),
        _ => return Err(ApiError::validation("kind", "must be org, user or service")),
    };
    if let Some(org) = &org {
        check_entitled(org, &grants)?;
    }
    let now = writ_core::now();
    let client = Client {
        id: ClientId::generate(),
        kind,
        name,
        status: Status::Active,
        token_ttl,
        grants,
        metadata,
        rate_limits,
        created_at: now,
        updated_at: now,
    };
    let (plain, secret) = new_secret(&client.id, &ctx.pepper, now).map_err(|e| ApiError::internal(&e))?;
    Clients::new(&txn, &auth.tenant).create(&client, &secret).await?;
    let event = AuditEvent::new(
        auth.actor(),
        client.kind.org_id().cloned(),
        "client.created",
        Some(client.id.to_string()),
    )
    .with_details(serde_json::json!({
        "kind": client.kind.name(),
        "name": client.name.as_str(),
        "secret_id": secret.id.as_str(),
        "rate_limits": client.rate_limits,
    }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    // Clears a cached "no such client" for this id on every instance.
    ctx.publish(Change::Client(client.id.clone())).await;
    let dto = ClientDto::from(&client);
    Ok(tagged(HttpResponse::Created(), &dto)
        .insert_header(("Location", format!("/admin/v1/clients/{}", client.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedClient {
            client: dto,
            client_secret: plain.expose().to_owned(),
            secret_id: secret.id.to_string(),
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
    let org = query.org()?;
    let page = Clients::new(ctx.store.conn(), &auth.tenant).list(&query.page()?, org.as_ref()).await?;
    Ok(web::Json(ListResponse {
        data: page.items.iter().map(ClientDto::from).collect(),
        next_cursor: page.next,
    }))
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
    let id = path_id(ClientId::parse, &path)?;
    let dto = ClientDto::from(&Clients::new(ctx.store.conn(), &auth.tenant).get(&id).await?);
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
    let body = body.into_inner();
    if body.rate_limits.is_some() {
        auth.require_operator()?;
    }
    let txn = ctx.store.begin().await?;
    let clients = Clients::new(&txn, &auth.tenant).for_update();
    let mut client = clients.get(&id).await?;
    if_match(&req, &ClientDto::from(&client))?;
    let mut changed = Vec::new();
    if let Some(name) = &body.name {
        client.name = Name::parse(name).map_err(|e| ApiError::validation("name", e.to_string()))?;
        changed.push("name");
    }
    if let Some(status) = &body.status {
        client.status = match status.as_str() {
            "active" => Status::Active,
            "disabled" => Status::Disabled,
            _ => return Err(ApiError::validation("status", "must be active or disabled")),
        };
        changed.push("status");
    }
    if let Some(ttl) = body.token_ttl_seconds {
        client.token_ttl =
            TokenTtl::new(ttl).map_err(|e| ApiError::validation("token_ttl_seconds", e.to_string()))?;
        changed.push("token_ttl_seconds");
    }
    if body.metadata.is_some() {
        client.metadata = metadata_from("metadata", body.metadata)?;
        changed.push("metadata");
    }
    if let Some(limits) = &body.rate_limits {
        client.rate_limits = limits.parse()?;
        changed.push("rate_limits");
    }
    if let Some(grants) = &body.grants {
        client.grants = grants_from_dto("grants", grants)?;
        if let Some(org_id) = client.kind.org_id() {
            check_entitled(&Orgs::new(&txn, &auth.tenant).get(org_id).await?, &client.grants)?;
        }
        if let Some(user_id) = client.kind.user_id() {
            check_within_user(&Users::new(&txn, &auth.tenant).get(user_id).await?, &client.grants)?;
        }
        changed.push("grants");
    }
    client.updated_at = writ_core::now();
    clients.update(&client).await?;
    let event =
        AuditEvent::new(auth.actor(), client.kind.org_id().cloned(), "client.updated", Some(id.to_string()))
            .with_details(serde_json::json!({
                "changed": changed,
                "status": ClientDto::from(&client).status,
                "rate_limits": client.rate_limits,
            }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Client(id)).await;
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
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(ClientId::parse, &path)?;
    let txn = ctx.store.begin().await?;
    let clients = Clients::new(&txn, &auth.tenant).for_update();
    let client = clients.get(&id).await?;
    if writ_app::operator::is_operator(&txn, &id).await? {
        return Err(ApiError::conflict("the operator's client cannot be deleted; rotate its secret instead"));
    }
    revoke_before(&ctx, writ_guard_store::Watermark::Client(id.as_str())).await?;
    clients.delete(&id).await?;
    let event =
        AuditEvent::new(auth.actor(), client.kind.org_id().cloned(), "client.deleted", Some(id.to_string()))
            .with_details(serde_json::json!({ "kind": client.kind.name(), "name": client.name.as_str() }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Client(id)).await;
    Ok(HttpResponse::NoContent().finish())
}
