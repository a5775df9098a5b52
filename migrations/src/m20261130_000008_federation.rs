//! Workload identity federation (docs/clients.md): the identity providers the operator trusts
//! (`trusted_issuers`: the exact `iss`, keys inline, by URL or by discovery, a maximum token
//! lifetime, whether each token is accepted once) and the federated credentials that say which of
//! their identities stand for a client. A credential goes with its client and with its issuer.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TrustedIssuers {
    Table,
    Id,
    Issuer,
    Name,
    Jwks,
    JwksUri,
    MaxTokenLifetimeSeconds,
    SingleUse,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FederatedCredentials {
    Table,
    Id,
    ClientId,
    IssuerId,
    Name,
    Subject,
    Audience,
    Claims,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TrustedIssuers::Table)
                .col(string(TrustedIssuers::Id).primary_key())
                .col(string(TrustedIssuers::Issuer).unique_key())
                .col(string(TrustedIssuers::Name))
                .col(text_null(TrustedIssuers::Jwks))
                .col(string_null(TrustedIssuers::JwksUri))
                .col(integer(TrustedIssuers::MaxTokenLifetimeSeconds))
                .col(boolean(TrustedIssuers::SingleUse))
                .col(timestamp_with_time_zone(TrustedIssuers::CreatedAt))
                .col(timestamp_with_time_zone(TrustedIssuers::UpdatedAt))
                .to_owned(),
        )
        .await?;
        let cascade = |from, to: (TrustedIssuers, TrustedIssuers)| {
            ForeignKey::create()
                .from(FederatedCredentials::Table, from)
                .to(to.0, to.1)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(FederatedCredentials::Table)
                .col(string(FederatedCredentials::Id).primary_key())
                .col(string(FederatedCredentials::ClientId))
                .col(string(FederatedCredentials::IssuerId))
                .col(string(FederatedCredentials::Name))
                .col(string(FederatedCredentials::Subject))
                .col(string_null(FederatedCredentials::Audience))
                .col(text(FederatedCredentials::Claims))
                .col(timestamp_with_time_zone(FederatedCredentials::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(FederatedCredentials::Table, FederatedCredentials::ClientId)
                        .to(Clients::Table, Clients::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut cascade(
                    FederatedCredentials::IssuerId,
                    (TrustedIssuers::Table, TrustedIssuers::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, column) in [
            ("federated_credentials_client", FederatedCredentials::ClientId),
            ("federated_credentials_issuer", FederatedCredentials::IssuerId),
        ] {
            m.create_index(
                Index::create().name(name).table(FederatedCredentials::Table).col(column).to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(FederatedCredentials::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(TrustedIssuers::Table).to_owned()).await
    }
}
