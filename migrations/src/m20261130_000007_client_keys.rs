//! Client authentication without secrets (docs/clients.md): the methods a client may use at the
//! token endpoint (`auth_methods`, space-separated; every existing client keeps its secrets) and
//! its public keys, inline (`jwks`, a JWKS document) or by URL (`jwks_uri`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    AuthMethods,
    Jwks,
    JwksUri,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters one column at a time.
        let add = |column: &mut ColumnDef| Table::alter().table(Clients::Table).add_column(column).to_owned();
        manager
            .alter_table(add(text(Clients::AuthMethods).default("client_secret_basic client_secret_post")))
            .await?;
        manager.alter_table(add(&mut text_null(Clients::Jwks))).await?;
        manager.alter_table(add(&mut text_null(Clients::JwksUri))).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Clients::JwksUri, Clients::Jwks, Clients::AuthMethods] {
            manager.alter_table(Table::alter().table(Clients::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
