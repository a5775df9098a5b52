//! People who log in (docs/delegation.md): a user's `external_id` (the vendor's own id for the
//! person, unique in the org) and when its password last changed; one-time invitations to set a
//! password (`invitations`, the token stored as a keyed hash); and browser sessions
//! (`login_sessions`, the cookie stored as a keyed hash). Both go with their user.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    OrgId,
    ExternalId,
    PasswordChangedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginSessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add = |column: &mut ColumnDef| Table::alter().table(Users::Table).add_column(column).to_owned();
        m.alter_table(add(&mut string_null(Users::ExternalId))).await?;
        m.alter_table(add(&mut timestamp_with_time_zone_null(Users::PasswordChangedAt))).await?;
        m.create_index(
            Index::create()
                .name("users_external_id")
                .table(Users::Table)
                .col(Users::OrgId)
                .col(Users::ExternalId)
                .unique()
                .to_owned(),
        )
        .await?;
        let of_user = |table: &str| {
            ForeignKey::create()
                .name(format!("{table}_user"))
                .from_tbl(Alias::new(table))
                .from_col(Alias::new("user_id"))
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(string(Invitations::Id).primary_key())
                .col(string(Invitations::UserId))
                .col(binary(Invitations::TokenHash).unique_key())
                .col(timestamp_with_time_zone(Invitations::CreatedAt))
                .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                .foreign_key(&mut of_user("invitations"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginSessions::Table)
                .col(string(LoginSessions::Id).primary_key())
                .col(string(LoginSessions::UserId))
                .col(binary(LoginSessions::TokenHash).unique_key())
                .col(timestamp_with_time_zone(LoginSessions::CreatedAt))
                .col(timestamp_with_time_zone(LoginSessions::ExpiresAt))
                .foreign_key(&mut of_user("login_sessions"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("invitations_user")
                .table(Invitations::Table)
                .col(Invitations::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("login_sessions_user")
                .table(LoginSessions::Table)
                .col(LoginSessions::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LoginSessions::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Invitations::Table).to_owned()).await?;
        m.drop_index(Index::drop().name("users_external_id").table(Users::Table).to_owned()).await?;
        for column in [Users::PasswordChangedAt, Users::ExternalId] {
            m.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
