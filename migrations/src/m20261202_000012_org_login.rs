//! How an org's people log in, where it differs from the deployment (docs/delegation.md): the
//! login mode, the vendor's login URL and the grants of people created on their first login, as
//! one JSON object (`{}`: the deployment's settings, nobody created).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Login,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(Orgs::Table).add_column(text(Orgs::Login).default("{}")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Orgs::Table).drop_column(Orgs::Login).to_owned()).await
    }
}
