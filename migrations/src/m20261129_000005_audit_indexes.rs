//! Indexes for the audit queries the admin API runs: events by target (`target_id`; narrowed to
//! what is not an issuance record by migration 000006) and a client's events since a time
//! (`actor_id`, `occurred_at`), so filtering the log by client is an index lookup, never a scan.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    TargetId,
    ActorId,
    OccurredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("audit_events_target")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::TargetId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_actor")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::ActorId)
                    .col(AuditEvents::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("audit_events_actor").table(AuditEvents::Table).to_owned())
            .await?;
        manager
            .drop_index(Index::drop().name("audit_events_target").table(AuditEvents::Table).to_owned())
            .await
    }
}
