//! Clients that register themselves (RFC 7591, docs/mcp.md): the keyed hash of a client's
//! registration access token (RFC 7592), which reads, changes and deletes its registration, and
//! when the registration ends.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    RegistrationTokenHash,
    RegistrationExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add = |column: ColumnDef| Table::alter().table(Clients::Table).add_column(column).to_owned();
        m.alter_table(add(binary_null(Clients::RegistrationTokenHash))).await?;
        m.alter_table(add(timestamp_with_time_zone_null(Clients::RegistrationExpiresAt))).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let drop = |column: Clients| Table::alter().table(Clients::Table).drop_column(column).to_owned();
        m.alter_table(drop(Clients::RegistrationTokenHash)).await?;
        m.alter_table(drop(Clients::RegistrationExpiresAt)).await
    }
}
