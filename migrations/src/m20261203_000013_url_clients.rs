//! Clients known by their metadata documents (docs/mcp.md): a client row stands for each document
//! URL Writ has met, so consents, authorizations and audit events name it like any client, and
//! `metadata_url` finds it again; each org says whether its people may use such clients, and from
//! which hosts (`{}`: allowed from any host).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    MetadataUrl,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    UrlClients,
}

const INDEX: &str = "clients_metadata_url";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(Clients::Table).add_column(text_null(Clients::MetadataUrl)).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name(INDEX).table(Clients::Table).col(Clients::MetadataUrl).unique().to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(Orgs::Table).add_column(text(Orgs::UrlClients).default("{}")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(INDEX).table(Clients::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::MetadataUrl).to_owned())
            .await?;
        m.alter_table(Table::alter().table(Orgs::Table).drop_column(Orgs::UrlClients).to_owned()).await
    }
}
