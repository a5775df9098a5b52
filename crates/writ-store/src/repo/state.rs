//! System state: a few named values (the operator's client id, …).

use super::*;

pub struct SystemState<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> SystemState<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(system_state::Entity::find_by_id(key).one(self.c).await?.map(|r| r.value))
    }

    /// Sets `key` to `value`, whatever it was.
    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        system_state::Entity::insert(system_state::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(value.to_owned()),
        })
        .on_conflict(
            OnConflict::column(system_state::Column::Key)
                .update_column(system_state::Column::Value)
                .to_owned(),
        )
        .exec(self.c)
        .await?;
        Ok(())
    }

    /// Sets `key` only if it has no value yet; `Conflict` if it has one.
    pub async fn insert(&self, key: &str, value: &str) -> Result<()> {
        system_state::Entity::insert(system_state::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(value.to_owned()),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }
}
