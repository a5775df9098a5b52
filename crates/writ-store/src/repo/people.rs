//! What lets a person in: one-time invitations to set a password, and login sessions. Both are
//! found by the keyed hash of what the person holds (a link's token, a cookie), never by an org:
//! the person names no tenant, so the use case loads the user they lead to through a repository
//! built for the tenant it then acts in. Rows go with their user.

use writ_core::{InvitationId, SessionId};

use super::*;

/// A stored invitation: whose, and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: InvitationId,
    pub user_id: UserId,
    pub expires_at: OffsetDateTime,
}

/// A stored login session.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub struct Invitations<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> Invitations<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    /// Stores `inv` as the user's only invitation: an earlier link stops working.
    pub async fn replace(&self, inv: &Invitation, hash: &SecretHash, now: OffsetDateTime) -> Result<()> {
        invitations::Entity::delete_many()
            .filter(invitations::Column::UserId.eq(inv.user_id.as_str()))
            .exec(self.c)
            .await?;
        invitations::Entity::insert(invitations::ActiveModel {
            id: Set(inv.id.to_string()),
            user_id: Set(inv.user_id.to_string()),
            token_hash: Set(hash.0.to_vec()),
            created_at: Set(now),
            expires_at: Set(inv.expires_at),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }

    /// The unexpired invitation with this token hash.
    pub async fn find(&self, hash: &SecretHash, now: OffsetDateTime) -> Result<Invitation> {
        let row = invitations::Entity::find()
            .filter(invitations::Column::TokenHash.eq(hash.0.to_vec()))
            .filter(invitations::Column::ExpiresAt.gt(now))
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Invitation {
            id: parse(InvitationId::parse, &row.id)?,
            user_id: parse(UserId::parse, &row.user_id)?,
            expires_at: row.expires_at,
        })
    }

    /// Uses up an invitation: `NotFound` when another request took it first, so a link sets a
    /// password once even when submitted twice at the same moment.
    pub async fn take(&self, id: &InvitationId) -> Result<()> {
        let res = invitations::Entity::delete_by_id(id.as_str()).exec(self.c).await?;
        found(res.rows_affected)
    }

    /// Deletes the invitations that ended before `now`; how many went.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let res = invitations::Entity::delete_many()
            .filter(invitations::Column::ExpiresAt.lte(now))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected)
    }

    /// Drops every invitation of `user` (its password was set another way).
    pub async fn delete_of_user(&self, user: &UserId) -> Result<()> {
        invitations::Entity::delete_many()
            .filter(invitations::Column::UserId.eq(user.as_str()))
            .exec(self.c)
            .await?;
        Ok(())
    }
}

pub struct LoginSessions<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> LoginSessions<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn create(&self, s: &LoginSession, hash: &SecretHash) -> Result<()> {
        login_sessions::Entity::insert(login_sessions::ActiveModel {
            id: Set(s.id.to_string()),
            user_id: Set(s.user_id.to_string()),
            token_hash: Set(hash.0.to_vec()),
            created_at: Set(s.created_at),
            expires_at: Set(s.expires_at),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }

    /// The unexpired session with this cookie hash.
    pub async fn find(&self, hash: &SecretHash, now: OffsetDateTime) -> Result<LoginSession> {
        let row = login_sessions::Entity::find()
            .filter(login_sessions::Column::TokenHash.eq(hash.0.to_vec()))
            .filter(login_sessions::Column::ExpiresAt.gt(now))
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(LoginSession {
            id: parse(SessionId::parse, &row.id)?,
            user_id: parse(UserId::parse, &row.user_id)?,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }

    pub async fn delete(&self, id: &SessionId) -> Result<()> {
        login_sessions::Entity::delete_by_id(id.as_str()).exec(self.c).await?;
        Ok(())
    }

    /// Ends every session of `user` but `keep` (the one that changed the password, say).
    pub async fn delete_of_user(&self, user: &UserId, keep: Option<&SessionId>) -> Result<u64> {
        let mut q =
            login_sessions::Entity::delete_many().filter(login_sessions::Column::UserId.eq(user.as_str()));
        if let Some(keep) = keep {
            q = q.filter(login_sessions::Column::Id.ne(keep.as_str()));
        }
        Ok(q.exec(self.c).await?.rows_affected)
    }

    /// Deletes the sessions that ended before `now`; how many went.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let res = login_sessions::Entity::delete_many()
            .filter(login_sessions::Column::ExpiresAt.lte(now))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected)
    }
}
