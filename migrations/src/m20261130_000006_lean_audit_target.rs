//! The audit log's target index leaves out issuance records. They are nearly every row, and their
//! target is a jti that nothing looks up since revocation needs no record of a token
//! (crates/writ-app/src/revocations.rs); indexing each random jti cost the audit writer more than
//! the insert itself. What is still looked up by target — a client's or an org's history — stays
//! indexed (crates/writ-store/src/repo/audit_log.rs says so in its filter).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    TargetId,
    Action,
}

/// The full index of migration 000005, and the partial one that replaces it. A new name: SQLite
/// may check a `CREATE INDEX` against a schema another pooled connection read before the `DROP`.
const FULL: &str = "audit_events_target";
const PARTIAL: &str = "audit_events_target_admin";

fn drop(name: &str) -> IndexDropStatement {
    Index::drop().name(name).table(AuditEvents::Table).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(drop(FULL)).await?;
        manager
            .create_index(
                Index::create()
                    .name(PARTIAL)
                    .table(AuditEvents::Table)
                    .col(AuditEvents::TargetId)
                    // A literal, not a bound value: an index's condition takes no parameters.
                    .and_where(Expr::col(AuditEvents::Action).ne(Expr::cust("'token.issued'")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(drop(PARTIAL)).await?;
        manager
            .create_index(
                Index::create().name(FULL).table(AuditEvents::Table).col(AuditEvents::TargetId).to_owned(),
            )
            .await
    }
}
