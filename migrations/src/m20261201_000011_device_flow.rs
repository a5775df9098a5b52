//! The device flow (RFC 8628, docs/delegation.md): a device authorization is an authorization
//! request that the person finds by a short `user_code` on `/device` and the device polls for by
//! its `device_code` (kept as a keyed hash); it can be denied, and the device's polling pace is
//! remembered for `slow_down`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthorizationRequests {
    Table,
    UserCode,
    DeviceCodeHash,
    Denied,
    LastPolledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add = |column: &mut ColumnDef| {
            Table::alter().table(AuthorizationRequests::Table).add_column(column).to_owned()
        };
        m.alter_table(add(&mut string_null(AuthorizationRequests::UserCode))).await?;
        m.alter_table(add(&mut binary_null(AuthorizationRequests::DeviceCodeHash))).await?;
        m.alter_table(add(boolean(AuthorizationRequests::Denied).default(false))).await?;
        m.alter_table(add(&mut timestamp_with_time_zone_null(AuthorizationRequests::LastPolledAt))).await?;
        for (name, column) in [
            ("authorization_requests_user_code", AuthorizationRequests::UserCode),
            ("authorization_requests_device_code", AuthorizationRequests::DeviceCodeHash),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuthorizationRequests::Table)
                    .col(column)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["authorization_requests_device_code", "authorization_requests_user_code"] {
            m.drop_index(Index::drop().name(name).table(AuthorizationRequests::Table).to_owned()).await?;
        }
        for column in [
            AuthorizationRequests::LastPolledAt,
            AuthorizationRequests::Denied,
            AuthorizationRequests::DeviceCodeHash,
            AuthorizationRequests::UserCode,
        ] {
            m.alter_table(Table::alter().table(AuthorizationRequests::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
