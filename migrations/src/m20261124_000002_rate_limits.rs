//! Rate-limit overrides: a JSON `rate_limits` column on orgs and on clients (`{}` inherits
//! everything).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    RateLimits,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    RateLimits,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter().table(Orgs::Table).add_column(text(Orgs::RateLimits).default("{}")).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(text(Clients::RateLimits).default("{}"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Clients::Table).drop_column(Clients::RateLimits).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(Orgs::Table).drop_column(Orgs::RateLimits).to_owned()).await
    }
}
