//! What delegation stores (docs/delegation.md): authorization requests until their code is
//! exchanged, people's consents, the authorizations a code exchange creates, and their refresh
//! tokens. Requests, codes and refresh tokens are found by what the browser or the client holds
//! (an id, a keyed hash), never by an org; consents are also read per tenant for the admin API.

use writ_core::{AuthorizationId, ConsentId, RequestId};

use super::*;

/// An authorization request as stored: its parameters are the use case's to read (JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub id: RequestId,
    pub client_id: ClientId,
    pub params: serde_json::Value,
    /// It came through `/oauth/par`.
    pub pushed: bool,
    /// The person who approved it, once a code was issued.
    pub user_id: Option<UserId>,
    pub code_expires_at: Option<OffsetDateTime>,
    /// The authorization its code created, once exchanged.
    pub authorization_id: Option<AuthorizationId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What a device authorization has that other requests do not: whether the person declined,
/// and when the device last polled.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceState {
    pub denied: bool,
    pub last_polled_at: Option<OffsetDateTime>,
}

pub struct AuthorizationRequests<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> AuthorizationRequests<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn create(&self, r: &StoredRequest) -> Result<()> {
        self.insert(r, None).await
    }

    /// Stores a device authorization (RFC 8628) with its user code and device code hash;
    /// `Conflict` when the user code is taken.
    pub async fn create_device(
        &self,
        r: &StoredRequest,
        user_code: &str,
        device_code: &SecretHash,
    ) -> Result<()> {
        self.insert(r, Some((user_code, device_code))).await
    }

    async fn insert(&self, r: &StoredRequest, device: Option<(&str, &SecretHash)>) -> Result<()> {
        authorization_requests::Entity::insert(authorization_requests::ActiveModel {
            id: Set(r.id.to_string()),
            client_id: Set(r.client_id.to_string()),
            params: Set(r.params.to_string()),
            pushed: Set(r.pushed),
            user_id: Set(None),
            code_hash: Set(None),
            code_expires_at: Set(None),
            authorization_id: Set(None),
            created_at: Set(r.created_at),
            expires_at: Set(r.expires_at),
            user_code: Set(device.map(|(code, _)| code.to_owned())),
            device_code_hash: Set(device.map(|(_, hash)| hash.0.to_vec())),
            denied: Set(false),
            last_polled_at: Set(None),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }

    /// The unexpired request `id` that nobody has answered yet.
    pub async fn pending(&self, id: &RequestId, now: OffsetDateTime) -> Result<StoredRequest> {
        let row = authorization_requests::Entity::find_by_id(id.as_str())
            .filter(authorization_requests::Column::ExpiresAt.gt(now))
            .filter(authorization_requests::Column::UserId.is_null())
            .filter(authorization_requests::Column::Denied.eq(false))
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        request_from_row(row)
    }

    /// The unanswered, unexpired device authorization with this user code.
    pub async fn pending_device(&self, user_code: &str, now: OffsetDateTime) -> Result<Option<RequestId>> {
        let row = authorization_requests::Entity::find()
            .filter(authorization_requests::Column::UserCode.eq(user_code))
            .filter(authorization_requests::Column::ExpiresAt.gt(now))
            .filter(authorization_requests::Column::UserId.is_null())
            .filter(authorization_requests::Column::Denied.eq(false))
            .one(self.c)
            .await?;
        row.map(|r| parse(RequestId::parse, &r.id)).transpose()
    }

    /// The device authorization whose device code has this hash, with its state.
    pub async fn by_device_code(&self, hash: &SecretHash) -> Result<(StoredRequest, DeviceState)> {
        let row = authorization_requests::Entity::find()
            .filter(authorization_requests::Column::DeviceCodeHash.eq(hash.0.to_vec()))
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        let state = DeviceState { denied: row.denied, last_polled_at: row.last_polled_at };
        Ok((request_from_row(row)?, state))
    }

    /// The person approves device authorization `id`: once.
    pub async fn approve_device(&self, id: &RequestId, user: &UserId) -> Result<()> {
        let res = authorization_requests::Entity::update_many()
            .col_expr(authorization_requests::Column::UserId, Expr::value(user.as_str()))
            .filter(authorization_requests::Column::Id.eq(id.as_str()))
            .filter(authorization_requests::Column::UserId.is_null())
            .filter(authorization_requests::Column::Denied.eq(false))
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// The person declines device authorization `id` (the device learns it when it polls).
    pub async fn deny_device(&self, id: &RequestId) -> Result<()> {
        let res = authorization_requests::Entity::update_many()
            .col_expr(authorization_requests::Column::Denied, Expr::value(true))
            .filter(authorization_requests::Column::Id.eq(id.as_str()))
            .filter(authorization_requests::Column::UserId.is_null())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// Records a device's poll at `now`.
    pub async fn polled(&self, id: &RequestId, now: OffsetDateTime) -> Result<()> {
        authorization_requests::Entity::update_many()
            .col_expr(authorization_requests::Column::LastPolledAt, Expr::value(Some(now)))
            .filter(authorization_requests::Column::Id.eq(id.as_str()))
            .exec(self.c)
            .await?;
        Ok(())
    }

    /// Issues the request's code for `user`: once (`NotFound` if it already has one).
    pub async fn set_code(
        &self,
        id: &RequestId,
        user: &UserId,
        hash: &SecretHash,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let res = authorization_requests::Entity::update_many()
            .col_expr(authorization_requests::Column::UserId, Expr::value(user.as_str()))
            .col_expr(authorization_requests::Column::CodeHash, Expr::value(hash.0.to_vec()))
            .col_expr(authorization_requests::Column::CodeExpiresAt, Expr::value(Some(expires_at)))
            .filter(authorization_requests::Column::Id.eq(id.as_str()))
            .filter(authorization_requests::Column::CodeHash.is_null())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// The request whose code has this hash, expired or used or not: the caller tells which.
    pub async fn by_code(&self, hash: &SecretHash) -> Result<StoredRequest> {
        let row = authorization_requests::Entity::find()
            .filter(authorization_requests::Column::CodeHash.eq(hash.0.to_vec()))
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        request_from_row(row)
    }

    /// Records that the request's code was exchanged for `authorization`: once (`NotFound` when
    /// another exchange got there first).
    pub async fn redeem(&self, id: &RequestId, authorization: &AuthorizationId) -> Result<()> {
        let res = authorization_requests::Entity::update_many()
            .col_expr(authorization_requests::Column::AuthorizationId, Expr::value(authorization.as_str()))
            .filter(authorization_requests::Column::Id.eq(id.as_str()))
            .filter(authorization_requests::Column::AuthorizationId.is_null())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    pub async fn delete(&self, id: &RequestId) -> Result<()> {
        authorization_requests::Entity::delete_by_id(id.as_str()).exec(self.c).await?;
        Ok(())
    }

    /// Deletes requests that ended before `now`; how many went.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let res = authorization_requests::Entity::delete_many()
            .filter(authorization_requests::Column::ExpiresAt.lte(now))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected)
    }
}

fn request_from_row(r: authorization_requests::Model) -> Result<StoredRequest> {
    Ok(StoredRequest {
        id: parse(RequestId::parse, &r.id)?,
        client_id: parse(ClientId::parse, &r.client_id)?,
        params: serde_json::from_str(&r.params)
            .map_err(|_| StoreError::Corrupt(format!("{} params", r.id)))?,
        pushed: r.pushed,
        user_id: r.user_id.as_deref().map(|u| parse(UserId::parse, u)).transpose()?,
        code_expires_at: r.code_expires_at,
        authorization_id: r
            .authorization_id
            .as_deref()
            .map(|a| parse(AuthorizationId::parse, a))
            .transpose()?,
        created_at: r.created_at,
        expires_at: r.expires_at,
    })
}

/// What a person allowed a client: resources and scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub id: ConsentId,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub org_id: OrgId,
    pub grants: Grants,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

pub struct Consents<'c, C> {
    c: &'c C,
    tenant: &'c Tenant,
}

impl<'c, C: ConnectionTrait> Consents<'c, C> {
    pub fn new(c: &'c C, tenant: &'c Tenant) -> Self {
        Self { c, tenant }
    }

    fn visible(&self) -> Condition {
        self.tenant.scope(consents::Column::OrgId)
    }

    /// The person's consent for the client, if they gave one.
    pub async fn of(&self, user: &UserId, client: &ClientId) -> Result<Option<Consent>> {
        let row = consents::Entity::find()
            .filter(consents::Column::UserId.eq(user.as_str()))
            .filter(consents::Column::ClientId.eq(client.as_str()))
            .filter(self.visible())
            .one(self.c)
            .await?;
        row.map(consent_from_row).transpose()
    }

    /// Stores a new consent, or the new grants of an existing one.
    pub async fn save(&self, consent: &Consent) -> Result<()> {
        if !self.tenant.owns(Some(&consent.org_id)) {
            return Err(StoreError::NotFound);
        }
        let grants =
            serde_json::to_string(&consent.grants).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let res = consents::Entity::update_many()
            .col_expr(consents::Column::Grants, Expr::value(grants.clone()))
            .col_expr(consents::Column::UpdatedAt, Expr::value(consent.updated_at))
            .filter(consents::Column::Id.eq(consent.id.as_str()))
            .exec(self.c)
            .await?;
        if res.rows_affected == 0 {
            consents::Entity::insert(consents::ActiveModel {
                id: Set(consent.id.to_string()),
                user_id: Set(consent.user_id.to_string()),
                client_id: Set(consent.client_id.to_string()),
                org_id: Set(consent.org_id.to_string()),
                grants: Set(grants),
                created_at: Set(consent.created_at),
                updated_at: Set(consent.updated_at),
            })
            .exec(self.c)
            .await?;
        }
        Ok(())
    }

    pub async fn get(&self, id: &ConsentId) -> Result<Consent> {
        let row = consents::Entity::find_by_id(id.as_str())
            .filter(self.visible())
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        consent_from_row(row)
    }

    /// A person's consents, in the order they were first given.
    pub async fn of_user(&self, user: &UserId) -> Result<Vec<Consent>> {
        let rows = consents::Entity::find()
            .filter(consents::Column::UserId.eq(user.as_str()))
            .filter(self.visible())
            .order_by_asc(consents::Column::Id)
            .all(self.c)
            .await?;
        rows.into_iter().map(consent_from_row).collect()
    }

    /// Deletes a consent with its authorizations and their refresh tokens.
    pub async fn delete(&self, id: &ConsentId) -> Result<()> {
        let res = consents::Entity::delete_many()
            .filter(consents::Column::Id.eq(id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }
}

fn consent_from_row(r: consents::Model) -> Result<Consent> {
    Ok(Consent {
        id: parse(ConsentId::parse, &r.id)?,
        user_id: parse(UserId::parse, &r.user_id)?,
        client_id: parse(ClientId::parse, &r.client_id)?,
        org_id: parse(OrgId::parse, &r.org_id)?,
        grants: serde_json::from_str(&r.grants)
            .map_err(|_| StoreError::Corrupt(format!("{} grants", r.id)))?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// One authorization of a client by a person: what its tokens carry, until when.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub id: AuthorizationId,
    pub consent_id: ConsentId,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub org_id: OrgId,
    /// The scope and audiences of the exchange; a refresh may narrow, never widen, them.
    pub scope: String,
    pub resources: Vec<String>,
    pub created_at: OffsetDateTime,
    /// No refresh token of it works after this.
    pub expires_at: OffsetDateTime,
}

pub struct Authorizations<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> Authorizations<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn create(&self, a: &Authorization) -> Result<()> {
        authorizations::Entity::insert(authorizations::ActiveModel {
            id: Set(a.id.to_string()),
            consent_id: Set(a.consent_id.to_string()),
            user_id: Set(a.user_id.to_string()),
            client_id: Set(a.client_id.to_string()),
            org_id: Set(a.org_id.to_string()),
            scope: Set(a.scope.clone()),
            resources: Set(serde_json::Value::from(a.resources.clone()).to_string()),
            created_at: Set(a.created_at),
            expires_at: Set(a.expires_at),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }

    pub async fn get(&self, id: &AuthorizationId) -> Result<Authorization> {
        let row =
            authorizations::Entity::find_by_id(id.as_str()).one(self.c).await?.ok_or(StoreError::NotFound)?;
        authorization_from_row(row)
    }

    /// A consent's authorizations: (client, authorization) pairs, what a revocation names.
    pub async fn of_consent(&self, consent: &ConsentId) -> Result<Vec<(ClientId, AuthorizationId)>> {
        self.ids(authorizations::Column::ConsentId.eq(consent.as_str())).await
    }

    /// A person's authorizations, with every client.
    pub async fn of_user(&self, user: &UserId) -> Result<Vec<(ClientId, AuthorizationId)>> {
        self.ids(authorizations::Column::UserId.eq(user.as_str())).await
    }

    async fn ids(
        &self,
        condition: impl sea_orm::sea_query::IntoCondition,
    ) -> Result<Vec<(ClientId, AuthorizationId)>> {
        let rows = authorizations::Entity::find().filter(condition).all(self.c).await?;
        rows.iter()
            .map(|r| Ok((parse(ClientId::parse, &r.client_id)?, parse(AuthorizationId::parse, &r.id)?)))
            .collect()
    }

    /// Deletes the authorizations that ended before `now` (their refresh tokens go with them);
    /// how many went.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let res = authorizations::Entity::delete_many()
            .filter(authorizations::Column::ExpiresAt.lte(now))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected)
    }

    /// Deletes an authorization with its refresh tokens.
    pub async fn delete(&self, id: &AuthorizationId) -> Result<()> {
        authorizations::Entity::delete_by_id(id.as_str()).exec(self.c).await?;
        Ok(())
    }
}

fn authorization_from_row(r: authorizations::Model) -> Result<Authorization> {
    Ok(Authorization {
        id: parse(AuthorizationId::parse, &r.id)?,
        consent_id: parse(ConsentId::parse, &r.consent_id)?,
        user_id: parse(UserId::parse, &r.user_id)?,
        client_id: parse(ClientId::parse, &r.client_id)?,
        org_id: parse(OrgId::parse, &r.org_id)?,
        scope: r.scope,
        resources: serde_json::from_str(&r.resources)
            .map_err(|_| StoreError::Corrupt(format!("{} resources", r.id)))?,
        created_at: r.created_at,
        expires_at: r.expires_at,
    })
}

/// A stored refresh token: its authorization, when it stops working unused, whether it was used.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRefreshToken {
    pub authorization_id: AuthorizationId,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

pub struct RefreshTokens<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> RefreshTokens<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn create(
        &self,
        hash: &SecretHash,
        authorization: &AuthorizationId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        refresh_tokens::Entity::insert(refresh_tokens::ActiveModel {
            token_hash: Set(hash.0.to_vec()),
            authorization_id: Set(authorization.to_string()),
            created_at: Set(now),
            expires_at: Set(expires_at),
            used_at: Set(None),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }

    pub async fn find(&self, hash: &SecretHash) -> Result<StoredRefreshToken> {
        let row = refresh_tokens::Entity::find_by_id(hash.0.to_vec())
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(StoredRefreshToken {
            authorization_id: parse(AuthorizationId::parse, &row.authorization_id)?,
            expires_at: row.expires_at,
            used_at: row.used_at,
        })
    }

    /// Deletes refresh tokens that can no longer be used, nor tell a reuse (they ended before
    /// `now`); how many went.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let res = refresh_tokens::Entity::delete_many()
            .filter(refresh_tokens::Column::ExpiresAt.lte(now))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected)
    }

    /// Marks a refresh token used: once (`NotFound` when a concurrent request used it first).
    pub async fn use_once(&self, hash: &SecretHash, now: OffsetDateTime) -> Result<()> {
        let res = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::UsedAt, Expr::value(Some(now)))
            .filter(refresh_tokens::Column::TokenHash.eq(hash.0.to_vec()))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }
}
