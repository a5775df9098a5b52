//! `/admin/v1/users`: the people of an org on whose behalf `user` clients act.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use writ_app::delegation::consents;
use writ_app::{Context, people, users};
use writ_core::UserId;
use writ_http::auth::{UsersRead, UsersWrite};
use writ_http::{ApiError, Authorized};

use super::path_id;
use crate::dto::*;
use crate::etag::{if_match, tagged};

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
    body: writ_http::Body<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let user = users::create(&ctx, &auth, body.into_inner().parse()?).await?;
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
    let page = users::list(&ctx, &auth, &query.page()?, query.org()?.as_ref()).await?;
    Ok(web::Json(ListResponse::of(&page)))
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
    let dto = UserDto::from(&users::get(&ctx, &auth, &path_id(UserId::parse, &path)?).await?);
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
    let changes = body.into_inner().parse()?;
    let user = users::update(&ctx, &auth, &id, changes, |u| if_match(&req, &UserDto::from(u))).await?;
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
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    users::delete(&ctx, &auth, &path_id(UserId::parse, &path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Invite a user to set a password
///
/// Makes a one-time link (`url`) with which the person sets their password on Writ's page and is
/// logged in; send it to them. It works once, until `expires_at` (`expires_in` seconds, 1 hour
/// to 30 days, default 7 days); a new invitation replaces the user's earlier one. The link is in
/// this answer only. Requires `admin:users:write`.
#[utoipa::path(
    tag = "users",
    params(("user_id" = String, Path, description = "The user id (`usr_…`)")),
    request_body(content = CreateInvitation, description = "Optional: how long the link works; the body may be omitted"),
    responses(
        (status = 201, description = "The invitation, with its link", body = InvitationDto),
        (status = 404, description = "No such user, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `expires_in`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[post("/users/{user_id}/invitations")]
pub async fn invite_user(
    auth: Authorized<UsersWrite>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
    body: writ_http::OptionalBody<CreateInvitation>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(UserId::parse, &path)?;
    let seconds = body.into_inner().and_then(|b| b.expires_in);
    let ttl = seconds.map_or(people::INVITATION_TTL, |s| time::Duration::seconds(i64::from(s)));
    let invited = people::invite(&ctx, &auth, &id, ttl).await?;
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(InvitationDto {
        id: invited.id.to_string(),
        url: invited.url.clone(),
        expires_at: rfc3339(invited.expires_at),
    }))
}

/// List a user's consents
///
/// The applications the person allowed to act for them, with what each may receive. Requires
/// `admin:users:read`; another tenant's user is `404`.
#[utoipa::path(
    tag = "users",
    params(("user_id" = String, Path, description = "The user id (`usr_…`)")),
    responses(
        (status = 200, description = "The consents", body = ListResponse<ConsentDto>),
        (status = 404, description = "No such user, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/users/{user_id}/consents")]
pub async fn list_consents(
    auth: Authorized<UsersRead>,
    ctx: web::Data<Context>,
    path: web::Path<String>,
) -> Result<web::Json<ListResponse<ConsentDto>>, ApiError> {
    let given = consents::of_user(&ctx, &auth, &path_id(UserId::parse, &path)?).await?;
    Ok(web::Json(ListResponse { data: given.iter().map(ConsentDto::from).collect(), next_cursor: None }))
}

/// Revoke a consent
///
/// Takes the application's access away: its refresh tokens for the person stop working and its
/// access tokens are revoked (verifiers following the revocation feed refuse them within about a
/// second). The person is asked again next time. Requires `admin:users:write`.
#[utoipa::path(
    tag = "users",
    params(
        ("user_id" = String, Path, description = "The user id (`usr_…`)"),
        ("consent_id" = String, Path, description = "The consent id (`cns_…`)"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such consent of this user, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable; nothing was revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[delete("/users/{user_id}/consents/{consent_id}")]
pub async fn revoke_consent(
    auth: Authorized<UsersWrite>,
    ctx: web::Data<Context>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user, consent) = path.into_inner();
    let user = path_id(UserId::parse, &user)?;
    let consent = path_id(writ_core::ConsentId::parse, &consent)?;
    consents::withdraw_for(&ctx, &auth, &user, &consent).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Request and answer bodies.

/// What a person allowed an application.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "cns_01jd8x4c3a2b1c0d9e8f7g6h5j", "client_id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "client_name": "Acme assistant",
    "grants": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}],
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct ConsentDto {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub grants: Vec<GrantDto>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&writ_app::delegation::consents::Given> for ConsentDto {
    fn from(g: &writ_app::delegation::consents::Given) -> Self {
        Self {
            id: g.consent.id.to_string(),
            client_id: g.consent.client_id.to_string(),
            client_name: g.client_name.clone(),
            grants: grants_to_dto(&g.consent.grants),
            created_at: rfc3339(g.consent.created_at),
            updated_at: rfc3339(g.consent.updated_at),
        }
    }
}

/// How long an invitation link works.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    /// Seconds, 3600 to 2592000 (30 days); 604800 (7 days) when left out.
    #[schema(example = 604800, minimum = 3600, maximum = 2592000)]
    pub expires_in: Option<u32>,
}

/// An invitation, with the link that uses it (shown once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "inv_01jd8x4c3a2b1c0d9e8f7g6h5j",
    "url": "https://auth.example.com/oauth/invitation?token=writ_inv_…",
    "expires_at": "2026-11-30T10:00:00Z"
}))]
pub struct InvitationDto {
    pub id: String,
    /// The one-time link to send to the person; a credential until it is used.
    pub url: String,
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Unique within the org.
    #[schema(value_type = String, example = "ada@acme.example")]
    pub email: writ_core::Email,
    /// The vendor's own id for the person (unique in the org): how the vendor's login names them.
    #[schema(value_type = Option<String>, example = "user-4711")]
    pub external_id: Option<writ_core::ExternalId>,
    /// Required for the operator; a tenant admin may leave it out (its own org).
    pub org_id: Option<String>,
    /// What the user's clients may ever be granted; within the org's entitlements.
    #[serde(default)]
    pub grants: Vec<GrantDto>,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(value_type = Option<String>)]
    pub email: Option<writ_core::Email>,
    /// The vendor's own id for the person; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "user-4711")]
    pub external_id: Option<Option<writ_core::ExternalId>>,
    /// `active` or `disabled`. A disabled user's clients get `invalid_client` at once, and the
    /// person's sessions end.
    #[schema(value_type = Option<String>)]
    pub status: Option<writ_core::Status>,
    /// Replaces the grants; the user's clients' tokens shrink with them at once.
    pub grants: Option<Vec<GrantDto>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "usr_01jd8x4c3a2b1c0d9e8f7g6h5j", "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "email": "ada@acme.example",
    "external_id": "user-4711", "has_password": true, "status": "active",
    "grants": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}],
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct UserDto {
    #[schema(example = "usr_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub id: String,
    pub org_id: String,
    pub email: String,
    /// The vendor's own id for the person, if it has one.
    pub external_id: Option<String>,
    /// Whether the person has set a password (through an invitation) and can log in with it.
    pub has_password: bool,
    /// `active` or `disabled`.
    pub status: String,
    pub grants: Vec<GrantDto>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            org_id: u.org_id.to_string(),
            email: u.email.to_string(),
            external_id: u.external_id.as_ref().map(ToString::to_string),
            has_password: u.password_hash.is_some(),
            status: u.status.as_str().into(),
            grants: grants_to_dto(&u.grants),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

impl CreateUser {
    pub(crate) fn parse(self) -> Result<writ_app::users::NewUser, AppError> {
        let org_id = self
            .org_id
            .as_deref()
            .map(|id| writ_core::OrgId::parse(id).map_err(|_| AppError::validation("org_id", "no such org")))
            .transpose()?;
        Ok(writ_app::users::NewUser {
            email: self.email,
            external_id: self.external_id,
            org_id,
            grants: grants("grants", &self.grants)?,
        })
    }
}

impl UpdateUser {
    pub(crate) fn parse(self) -> Result<writ_app::users::UserChanges, AppError> {
        Ok(writ_app::users::UserChanges {
            email: self.email,
            external_id: self.external_id,
            status: self.status,
            grants: self.grants.as_deref().map(|g| grants("grants", g)).transpose()?,
        })
    }
}
