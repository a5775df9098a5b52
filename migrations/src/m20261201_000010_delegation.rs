//! Agents acting for people (docs/delegation.md). Clients gain what delegated flows need: a type
//! (`confidential` or `public`), redirect URIs, the grant types they may use (every existing
//! client keeps client credentials and the jwt-bearer grant), whether they must push their
//! authorization requests (PAR), and refresh-token lifetimes. Then:
//!
//! - `authorization_requests`: an authorization request from the moment it is received (or
//!   pushed) until its code is exchanged: its parameters, the person who approved it, the code's
//!   keyed hash, and the authorization the exchange created (a reused code revokes it).
//! - `consents`: what a person allowed a client, per resource and scopes; one per person and
//!   client.
//! - `authorizations`: one per code exchange (later, per device approval): the family of refresh
//!   tokens and the `cred` of every access token it mints, so revoking it reaches them all.
//! - `refresh_tokens`: the keyed hash of each refresh token of a family, rotated on use.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    ClientType,
    RedirectUris,
    GrantTypes,
    RequirePar,
    RefreshIdleSeconds,
    RefreshAbsoluteSeconds,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuthorizationRequests {
    Table,
    Id,
    ClientId,
    Params,
    Pushed,
    UserId,
    CodeHash,
    CodeExpiresAt,
    AuthorizationId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    UserId,
    ClientId,
    OrgId,
    Grants,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Authorizations {
    Table,
    Id,
    ConsentId,
    UserId,
    ClientId,
    OrgId,
    Scope,
    Resources,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    AuthorizationId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

fn cascade<T: IntoIden + 'static, C: IntoIden + 'static>(
    from: (impl IntoIden, impl IntoIden),
    to: (T, C),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add = |column: &mut ColumnDef| Table::alter().table(Clients::Table).add_column(column).to_owned();
        m.alter_table(add(text(Clients::ClientType).default("confidential"))).await?;
        m.alter_table(add(text(Clients::RedirectUris).default("[]"))).await?;
        m.alter_table(add(text(Clients::GrantTypes)
            .default("client_credentials urn:ietf:params:oauth:grant-type:jwt-bearer")))
            .await?;
        m.alter_table(add(boolean(Clients::RequirePar).default(false))).await?;
        m.alter_table(add(&mut integer_null(Clients::RefreshIdleSeconds))).await?;
        m.alter_table(add(&mut integer_null(Clients::RefreshAbsoluteSeconds))).await?;

        m.create_table(
            Table::create()
                .table(Consents::Table)
                .col(string(Consents::Id).primary_key())
                .col(string(Consents::UserId))
                .col(string(Consents::ClientId))
                .col(string(Consents::OrgId))
                .col(text(Consents::Grants))
                .col(timestamp_with_time_zone(Consents::CreatedAt))
                .col(timestamp_with_time_zone(Consents::UpdatedAt))
                .foreign_key(&mut cascade((Consents::Table, Consents::UserId), (Users::Table, Users::Id)))
                .foreign_key(&mut cascade(
                    (Consents::Table, Consents::ClientId),
                    (Clients::Table, Clients::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("consents_user_client")
                .table(Consents::Table)
                .col(Consents::UserId)
                .col(Consents::ClientId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("consents_client").table(Consents::Table).col(Consents::ClientId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Authorizations::Table)
                .col(string(Authorizations::Id).primary_key())
                .col(string(Authorizations::ConsentId))
                .col(string(Authorizations::UserId))
                .col(string(Authorizations::ClientId))
                .col(string(Authorizations::OrgId))
                .col(text(Authorizations::Scope))
                .col(text(Authorizations::Resources))
                .col(timestamp_with_time_zone(Authorizations::CreatedAt))
                .col(timestamp_with_time_zone(Authorizations::ExpiresAt))
                .foreign_key(&mut cascade(
                    (Authorizations::Table, Authorizations::ConsentId),
                    (Consents::Table, Consents::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, column) in [
            ("authorizations_consent", Authorizations::ConsentId),
            ("authorizations_user", Authorizations::UserId),
        ] {
            m.create_index(Index::create().name(name).table(Authorizations::Table).col(column).to_owned())
                .await?;
        }

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(binary(RefreshTokens::TokenHash).primary_key())
                .col(string(RefreshTokens::AuthorizationId))
                .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                .foreign_key(&mut cascade(
                    (RefreshTokens::Table, RefreshTokens::AuthorizationId),
                    (Authorizations::Table, Authorizations::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("refresh_tokens_authorization")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::AuthorizationId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuthorizationRequests::Table)
                .col(string(AuthorizationRequests::Id).primary_key())
                .col(string(AuthorizationRequests::ClientId))
                .col(text(AuthorizationRequests::Params))
                .col(boolean(AuthorizationRequests::Pushed))
                .col(string_null(AuthorizationRequests::UserId))
                .col(binary_null(AuthorizationRequests::CodeHash).unique_key())
                .col(timestamp_with_time_zone_null(AuthorizationRequests::CodeExpiresAt))
                .col(string_null(AuthorizationRequests::AuthorizationId))
                .col(timestamp_with_time_zone(AuthorizationRequests::CreatedAt))
                .col(timestamp_with_time_zone(AuthorizationRequests::ExpiresAt))
                .foreign_key(&mut cascade(
                    (AuthorizationRequests::Table, AuthorizationRequests::ClientId),
                    (Clients::Table, Clients::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("authorization_requests_client")
                .table(AuthorizationRequests::Table)
                .col(AuthorizationRequests::ClientId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["authorization_requests", "refresh_tokens", "authorizations", "consents"] {
            m.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        for column in [
            Clients::RefreshAbsoluteSeconds,
            Clients::RefreshIdleSeconds,
            Clients::RequirePar,
            Clients::GrantTypes,
            Clients::RedirectUris,
            Clients::ClientType,
        ] {
            m.alter_table(Table::alter().table(Clients::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
