//! `/admin/v1/users`: the people of an org on whose behalf `user` clients act.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::Context;
use writ_app::changes::Change;
use writ_core::{AuditEvent, Email, OrgId, Status, User, UserId};
use writ_guard_store::Watermark;
use writ_http::auth::{UsersRead, UsersWrite};
use writ_http::{ApiError, Authorized};
use writ_store::{Audit, Clients, Orgs, StoreError, Tenant, Users};

use super::{check_entitled, path_id, revoke_before, stamp};
use crate::dto::{CreateUser, ListQuery, ListResponse, Problem, UpdateUser, UserDto, grants_from_dto};
use crate::etag::{if_match, tagged};

fn email(s: &str) -> Result<Email, ApiError> {
    Email::parse(s).map_err(|e| ApiError::validation("email", e.to_string()))
}

fn taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::conflict("this org already has a user with that email"),
        e => e.into(),
    }
}

/// Create a user
///
/// Adds a user to an org. Its grants bound what its `user` clients may ever be granted, and must
/// stay within the org's entitlements. Requires `admin:users:write`; a tenant admin creates users in
/// its own org only.
#[utoipa::path(
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "The new user", body = UserDto),
        (status = 409, description = "The org already has a user with this email", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown org, or grants beyond entitlements", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[post("/users")]
pub async fn create_user(
    auth: Authorized<UsersWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    body: writ_http::Body<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let email = email(&body.email)?;
    let grants = grants_from_dto("grants", &body.grants)?;
    let unknown_org = || ApiError::validation("org_id", "no such org");
    let org_id = match (&body.org_id, &auth.tenant) {
        (Some(id), _) => OrgId::parse(id).map_err(|_| unknown_org())?,
        (None, Tenant::Org(own)) => own.clone(),
        (None, Tenant::Operator) => return Err(ApiError::validation("org_id", "required")),
    };
    let txn = ctx.store.begin().await?;
    let org = Orgs::new(&txn, &auth.tenant).get(&org_id).await.map_err(|e| match e {
        StoreError::NotFound => unknown_org(),
        e => e.into(),
    })?;
    check_entitled(&org, &grants)?;
    let now = writ_core::now();
    let user = User {
        id: UserId::generate(),
        org_id,
        email,
        password_hash: None,
        status: Status::Active,
        grants,
        created_at: now,
        updated_at: now,
    };
    Users::new(&txn, &auth.tenant).create(&user).await.map_err(taken)?;
    let event =
        AuditEvent::new(auth.actor(), Some(user.org_id.clone()), "user.created", Some(user.id.to_string()));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    let dto = UserDto::from(&user);
    Ok(tagged(HttpResponse::Created(), &dto)
        .insert_header(("Location", format!("/admin/v1/users/{}", user.id)))
        .json(dto))
}

/// List users
///
/// In creation order; `org_id` narrows the list to one org. A tenant admin sees only its own org's
/// users. Requires `admin:users:read`.
#[utoipa::path(
    tag = "users",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of users", body = ListResponse<UserDto>),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/users")]
pub async fn list_users(
    auth: Authorized<UsersRead>,
    ctx: web::Data<Context>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<ListResponse<UserDto>>, ApiError> {
    let page = Users::new(ctx.store.conn(), &auth.tenant).list(&query.page()?, query.org()?.as_ref()).await?;
    Ok(web::Json(ListResponse {
        data: page.items.iter().map(UserDto::from).collect(),
        next_cursor: page.next,
    }))
}

/// Get a user
///
/// Requires `admin:users:read`. Another tenant's user is `404`. The `ETag` goes into `If-Match`
/// of an update.
#[utoipa::path(
    tag = "users",
    params(("user_id" = String, Path, description = "The user id (`usr_…`)")),
    responses(
        (status = 200, description = "The user", body = UserDto, headers(("ETag" = String, description = "The version of the user"))),
        (status = 404, description = "No such user, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/users/{user_id}")]
pub async fn get_user(
    auth: Authorized<UsersRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(UserId::parse, &path)?;
    let dto = UserDto::from(&Users::new(ctx.store.conn(), &auth.tenant).get(&id).await?);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Update a user
///
/// Changes the email, status or grants; absent fields stay. Disabling a user, or shrinking its
/// grants, applies to its clients' next token request on every instance. Grants must stay within
/// the org's entitlements. With `If-Match`, the update applies only to that version (`412`
/// otherwise). Requires `admin:users:write`.
#[utoipa::path(
    tag = "users",
    params(
        ("user_id" = String, Path, description = "The user id (`usr_…`)"),
        ("If-Match" = Option<String>, Header, description = "Apply only to this version (an `ETag`)"),
    ),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The updated user", body = UserDto, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such user, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The org already has a user with this email", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The user changed since the `If-Match` version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, or grants beyond entitlements", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[patch("/users/{user_id}")]
pub async fn update_user(
    auth: Authorized<UsersWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<String>,
    body: writ_http::Body<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(UserId::parse, &path)?;
    let body = body.into_inner();
    let txn = ctx.store.begin().await?;
    let users = Users::new(&txn, &auth.tenant).for_update();
    let mut user = users.get(&id).await?;
    if_match(&req, &UserDto::from(&user))?;
    let mut changed = Vec::new();
    if let Some(e) = &body.email {
        user.email = email(e)?;
        changed.push("email");
    }
    if let Some(status) = &body.status {
        user.status = match status.as_str() {
            "active" => Status::Active,
            "disabled" => Status::Disabled,
            _ => return Err(ApiError::validation("status", "must be active or disabled")),
        };
        changed.push("status");
    }
    if let Some(grants) = &body.grants {
        user.grants = grants_from_dto("grants", grants)?;
        check_entitled(&Orgs::new(&txn, &auth.tenant).get(&user.org_id).await?, &user.grants)?;
        changed.push("grants");
    }
    user.updated_at = writ_core::now();
    users.update(&user).await.map_err(taken)?;
    let event =
        AuditEvent::new(auth.actor(), Some(user.org_id.clone()), "user.updated", Some(id.to_string()))
            .with_details(serde_json::json!({ "changed": changed }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::User(id)).await;
    let dto = UserDto::from(&user);
    Ok(tagged(HttpResponse::Ok(), &dto).json(dto))
}

/// Delete a user
///
/// Deletes the user with its `user` clients and their secrets, and revokes every token those
/// clients hold. Requires `admin:users:write`.
#[utoipa::path(
    tag = "users",
    params(("user_id" = String, Path, description = "The user id (`usr_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable; nothing was deleted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[delete("/users/{user_id}")]
pub async fn delete_user(
    auth: Authorized<UsersWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(UserId::parse, &path)?;
    let txn = ctx.store.begin().await?;
    let user = Users::new(&txn, &auth.tenant).for_update().get(&id).await?;
    let clients = Clients::new(&txn, &auth.tenant).of_user(&id).await?;
    // Tokens first: if the guard cannot take the revocation, nothing is deleted and a retry works.
    for client in &clients {
        revoke_before(&ctx, Watermark::Client(client.as_str())).await?;
    }
    Users::new(&txn, &auth.tenant).delete(&id).await?;
    let event = AuditEvent::new(auth.actor(), Some(user.org_id), "user.deleted", Some(id.to_string()))
        .with_details(serde_json::json!({ "clients": clients }));
    Audit::new(&txn).record(&stamp(event, &req)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::User(id)).await;
    Ok(HttpResponse::NoContent().finish())
}
