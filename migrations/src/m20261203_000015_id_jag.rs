//! Enterprise-managed authorization (docs/mcp.md): a trusted issuer whose ID-JAGs act for one
//! org's people, and the claim that names the person (`sub`: the `external_id`, or `email`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TrustedIssuers {
    Table,
    IdJagOrgId,
    IdJagUserClaim,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add =
            |column: ColumnDef| Table::alter().table(TrustedIssuers::Table).add_column(column).to_owned();
        m.alter_table(add(string_null(TrustedIssuers::IdJagOrgId))).await?;
        m.alter_table(add(string_null(TrustedIssuers::IdJagUserClaim))).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let drop = |c: TrustedIssuers| Table::alter().table(TrustedIssuers::Table).drop_column(c).to_owned();
        m.alter_table(drop(TrustedIssuers::IdJagOrgId)).await?;
        m.alter_table(drop(TrustedIssuers::IdJagUserClaim)).await
    }
}
