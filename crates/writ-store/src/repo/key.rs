//! Signing keys: their states, moved on by conditional updates so two instances never apply the
//! same step twice.

use super::*;

pub struct Keys<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> Keys<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn insert(&self, k: &SigningKey) -> Result<()> {
        signing_keys::Entity::insert(signing_keys::ActiveModel {
            kid: Set(k.kid.to_string()),
            alg: Set(k.alg.as_str().to_owned()),
            state: Set(k.state.as_str().to_owned()),
            private_key_encrypted: Set(k.private_key_encrypted.clone()),
            public_jwk: Set(k.public_jwk.to_string()),
            created_at: Set(k.created_at),
            activated_at: Set(k.activated_at),
            retired_at: Set(k.retired_at),
            revoked_at: Set(k.revoked_at),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }

    /// Moves a key from state `from` to `to` at `at`, recording the time of the state it enters.
    /// `false` if the key was not in `from` (another instance got there first).
    pub async fn transition(
        &self,
        kid: &KeyId,
        from: KeyState,
        to: KeyState,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let mut update = signing_keys::Entity::update_many()
            .col_expr(signing_keys::Column::State, Expr::value(to.as_str()))
            .filter(signing_keys::Column::Kid.eq(kid.as_str()))
            .filter(signing_keys::Column::State.eq(from.as_str()));
        update = match to {
            KeyState::Active => update.col_expr(signing_keys::Column::ActivatedAt, Expr::value(at)),
            KeyState::Retired => update.col_expr(signing_keys::Column::RetiredAt, Expr::value(at)),
            KeyState::Revoked => update.col_expr(signing_keys::Column::RevokedAt, Expr::value(at)),
            KeyState::Pending | KeyState::Removed => update,
        };
        Ok(update.exec(self.c).await?.rows_affected == 1)
    }

    /// Every key, oldest first.
    pub async fn list(&self) -> Result<Vec<SigningKey>> {
        let rows = signing_keys::Entity::find().order_by_asc(signing_keys::Column::Kid).all(self.c).await?;
        rows.into_iter()
            .map(|r| {
                Ok(SigningKey {
                    kid: parse(KeyId::parse, &r.kid)?,
                    alg: parse(SigningAlg::parse, &r.alg)?,
                    state: parse(KeyState::parse, &r.state)?,
                    private_key_encrypted: r.private_key_encrypted,
                    public_jwk: serde_json::from_str(&r.public_jwk)
                        .map_err(|e| StoreError::Corrupt(format!("public jwk: {e}")))?,
                    created_at: r.created_at,
                    activated_at: r.activated_at,
                    retired_at: r.retired_at,
                    revoked_at: r.revoked_at,
                })
            })
            .collect()
    }
}
