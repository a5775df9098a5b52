//! The initial schema: orgs, resources and scopes, entitlements, users, clients and their grants and
//! secrets, signing keys, the audit log, and a small key/value table for system state.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
    Name,
    Slug,
    Status,
    Metadata,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Resources {
    Table,
    Id,
    Identifier,
    Name,
    Builtin,
    SigningAlg,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ResourceScopes {
    Table,
    ResourceId,
    Name,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrgEntitlements {
    Table,
    OrgId,
    ResourceId,
    Scope,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    OrgId,
    Email,
    PasswordHash,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserGrants {
    Table,
    UserId,
    ResourceId,
    Scope,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    Kind,
    OrgId,
    UserId,
    Name,
    Status,
    TokenTtlSeconds,
    Metadata,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ClientGrants {
    Table,
    ClientId,
    ResourceId,
    Scope,
}

#[derive(DeriveIden)]
enum ClientSecrets {
    Table,
    Id,
    ClientId,
    DisplayPrefix,
    Hash,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    State,
    PrivateKeyEncrypted,
    PublicJwk,
    CreatedAt,
    ActivatedAt,
    RetiredAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    ActorKind,
    ActorId,
    OrgId,
    Action,
    TargetId,
    Outcome,
    Ip,
    RequestId,
    Details,
}

#[derive(DeriveIden)]
enum SystemState {
    Table,
    Key,
    Value,
}

/// A foreign key that removes the child rows with the parent.
fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

/// A grant table (`owner`, resource, scope), keyed by all three.
fn grant_table(
    table: impl IntoIden + Copy + 'static,
    owner: impl IntoIden + Copy + 'static,
    owner_table: impl IntoIden + 'static,
    owner_id: impl IntoIden + 'static,
    resource: impl IntoIden + Copy + 'static,
    scope: impl IntoIden + Copy + 'static,
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(string(owner))
        .col(string(resource))
        .col(string(scope))
        .primary_key(Index::create().col(owner).col(resource).col(scope))
        .foreign_key(&mut cascade((table, owner), (owner_table, owner_id)))
        .foreign_key(&mut cascade((table, resource), (Resources::Table, Resources::Id)))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Orgs::Table)
                .col(string(Orgs::Id).primary_key())
                .col(string(Orgs::Name))
                .col(string_uniq(Orgs::Slug))
                .col(string(Orgs::Status))
                .col(text(Orgs::Metadata))
                .col(timestamp_with_time_zone(Orgs::CreatedAt))
                .col(timestamp_with_time_zone(Orgs::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Resources::Table)
                .col(string(Resources::Id).primary_key())
                .col(text_uniq(Resources::Identifier))
                .col(string(Resources::Name))
                .col(boolean(Resources::Builtin))
                .col(string_null(Resources::SigningAlg))
                .col(timestamp_with_time_zone(Resources::CreatedAt))
                .col(timestamp_with_time_zone(Resources::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ResourceScopes::Table)
                .col(string(ResourceScopes::ResourceId))
                .col(string(ResourceScopes::Name))
                .col(text(ResourceScopes::Description))
                .primary_key(Index::create().col(ResourceScopes::ResourceId).col(ResourceScopes::Name))
                .foreign_key(&mut cascade(
                    (ResourceScopes::Table, ResourceScopes::ResourceId),
                    (Resources::Table, Resources::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(grant_table(
            OrgEntitlements::Table,
            OrgEntitlements::OrgId,
            Orgs::Table,
            Orgs::Id,
            OrgEntitlements::ResourceId,
            OrgEntitlements::Scope,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(string(Users::Id).primary_key())
                .col(string(Users::OrgId))
                .col(string(Users::Email))
                .col(text_null(Users::PasswordHash))
                .col(string(Users::Status))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .foreign_key(&mut cascade((Users::Table, Users::OrgId), (Orgs::Table, Orgs::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("users_org_email")
                .table(Users::Table)
                .col(Users::OrgId)
                .col(Users::Email)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(grant_table(
            UserGrants::Table,
            UserGrants::UserId,
            Users::Table,
            Users::Id,
            UserGrants::ResourceId,
            UserGrants::Scope,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Clients::Table)
                .col(string(Clients::Id).primary_key())
                .col(string(Clients::Kind))
                .col(string_null(Clients::OrgId))
                .col(string_null(Clients::UserId))
                .col(string(Clients::Name))
                .col(string(Clients::Status))
                .col(integer(Clients::TokenTtlSeconds))
                .col(text(Clients::Metadata))
                .col(timestamp_with_time_zone(Clients::CreatedAt))
                .col(timestamp_with_time_zone(Clients::UpdatedAt))
                .foreign_key(&mut cascade((Clients::Table, Clients::OrgId), (Orgs::Table, Orgs::Id)))
                .foreign_key(&mut cascade((Clients::Table, Clients::UserId), (Users::Table, Users::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("clients_org")
                .table(Clients::Table)
                .col(Clients::OrgId)
                .col(Clients::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(grant_table(
            ClientGrants::Table,
            ClientGrants::ClientId,
            Clients::Table,
            Clients::Id,
            ClientGrants::ResourceId,
            ClientGrants::Scope,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(ClientSecrets::Table)
                .col(string(ClientSecrets::Id).primary_key())
                .col(string(ClientSecrets::ClientId))
                .col(string(ClientSecrets::DisplayPrefix))
                .col(binary(ClientSecrets::Hash))
                .col(timestamp_with_time_zone(ClientSecrets::CreatedAt))
                .col(timestamp_with_time_zone_null(ClientSecrets::ExpiresAt))
                .col(timestamp_with_time_zone_null(ClientSecrets::LastUsedAt))
                .foreign_key(&mut cascade(
                    (ClientSecrets::Table, ClientSecrets::ClientId),
                    (Clients::Table, Clients::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("client_secrets_client")
                .table(ClientSecrets::Table)
                .col(ClientSecrets::ClientId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SigningKeys::Table)
                .col(string(SigningKeys::Kid).primary_key())
                .col(string(SigningKeys::Alg))
                .col(string(SigningKeys::State))
                .col(binary(SigningKeys::PrivateKeyEncrypted))
                .col(text(SigningKeys::PublicJwk))
                .col(timestamp_with_time_zone(SigningKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(SigningKeys::ActivatedAt))
                .col(timestamp_with_time_zone_null(SigningKeys::RetiredAt))
                .col(timestamp_with_time_zone_null(SigningKeys::RevokedAt))
                .to_owned(),
        )
        .await?;
        // The audit log has no foreign keys on purpose: it outlives what it speaks of.
        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(string(AuditEvents::Id).primary_key())
                .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                .col(string(AuditEvents::ActorKind))
                .col(string_null(AuditEvents::ActorId))
                .col(string_null(AuditEvents::OrgId))
                .col(string(AuditEvents::Action))
                .col(text_null(AuditEvents::TargetId))
                .col(string(AuditEvents::Outcome))
                .col(string_null(AuditEvents::Ip))
                .col(string_null(AuditEvents::RequestId))
                .col(text(AuditEvents::Details))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_events_org")
                .table(AuditEvents::Table)
                .col(AuditEvents::OrgId)
                .col(AuditEvents::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SystemState::Table)
                .col(string(SystemState::Key).primary_key())
                .col(text(SystemState::Value))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents; indexes go with their tables.
        let tables: [DynIden; 12] = [
            SystemState::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            ClientSecrets::Table.into_iden(),
            ClientGrants::Table.into_iden(),
            Clients::Table.into_iden(),
            UserGrants::Table.into_iden(),
            Users::Table.into_iden(),
            OrgEntitlements::Table.into_iden(),
            ResourceScopes::Table.into_iden(),
            Resources::Table.into_iden(),
            Orgs::Table.into_iden(),
        ];
        for table in tables {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
