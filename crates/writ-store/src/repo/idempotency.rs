//! Idempotency keys: the first answer to a keyed request, for its retries.

use super::*;

/// A key someone already used.
#[derive(Debug, Clone)]
pub struct UsedKey {
    pub request_hash: String,
    /// `None` while the first request is still running.
    pub status: Option<u16>,
    /// The stored answer (sealed by the caller).
    pub response: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
}

pub struct IdempotencyKeys<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> IdempotencyKeys<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    /// Claims `key` of `owner` for a request; `Some` (and nothing claimed) if it is taken. Keys
    /// created before `expired_before` are forgotten first.
    pub async fn claim(
        &self,
        owner: &str,
        key: &str,
        request_hash: &str,
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
    ) -> Result<Option<UsedKey>> {
        idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::CreatedAt.lt(expired_before))
            .exec(self.c)
            .await?;
        // A key another request holds may be released (its request failed) between our insert
        // and our read: then it is free again, and claiming it once more is right.
        for _ in 0..3 {
            let row = idempotency_keys::ActiveModel {
                owner: Set(owner.to_owned()),
                key: Set(key.to_owned()),
                request_hash: Set(request_hash.to_owned()),
                status: Set(None),
                response: Set(None),
                created_at: Set(now),
            };
            match idempotency_keys::Entity::insert(row).exec(self.c).await.map_err(StoreError::from) {
                Ok(_) => return Ok(None),
                Err(StoreError::Conflict(_)) => {
                    let found = idempotency_keys::Entity::find_by_id((owner.to_owned(), key.to_owned()))
                        .one(self.c)
                        .await?;
                    if let Some(row) = found {
                        return Ok(Some(UsedKey {
                            request_hash: row.request_hash,
                            status: row.status.and_then(|s| u16::try_from(s).ok()),
                            response: row.response,
                            created_at: row.created_at,
                        }));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("an Idempotency-Key kept changing hands".into()))
    }

    /// Takes over a key whose first request started before `stale_before` and never finished (its
    /// process died); `false` if it finished or is still fresh.
    pub async fn take_over(
        &self,
        owner: &str,
        key: &str,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<bool> {
        let res = idempotency_keys::Entity::update_many()
            .col_expr(idempotency_keys::Column::CreatedAt, Expr::value(now))
            .filter(idempotency_keys::Column::Owner.eq(owner))
            .filter(idempotency_keys::Column::Key.eq(key))
            .filter(idempotency_keys::Column::Status.is_null())
            .filter(idempotency_keys::Column::CreatedAt.lt(stale_before))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Stores the answer to a claimed key.
    pub async fn complete(&self, owner: &str, key: &str, status: u16, response: Vec<u8>) -> Result<()> {
        let res = idempotency_keys::Entity::update_many()
            .col_expr(idempotency_keys::Column::Status, Expr::value(i32::from(status)))
            .col_expr(idempotency_keys::Column::Response, Expr::value(response))
            .filter(idempotency_keys::Column::Owner.eq(owner))
            .filter(idempotency_keys::Column::Key.eq(key))
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// Forgets a claimed key (its request failed on our side: a retry may run it again).
    pub async fn release(&self, owner: &str, key: &str) -> Result<()> {
        idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::Owner.eq(owner))
            .filter(idempotency_keys::Column::Key.eq(key))
            .exec(self.c)
            .await?;
        Ok(())
    }
}
