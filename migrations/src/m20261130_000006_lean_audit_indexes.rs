//! The audit log's target index leaves out issuance records, and an index by action (which leaves
//! them out too) joins it. Issuance records are nearly every row; their target is a jti that
//! nothing looks up since revocation needs no record of a token (crates/writ-app/src/revocations.rs),
//! and indexing each random jti cost the audit writer more than the insert itself. What is looked up
//! by target or action — a client's or an org's history, the changes of one kind — stays indexed
//! at no cost per token (crates/writ-store/src/repo/audit_log.rs says so in its filters).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    TargetId,
    Action,
}

/// The full index of migration 000005, and the partial one that replaces it. A new name: SQLite
/// may check a `CREATE INDEX` against a schema another pooled connection read before the `DROP`.
const FULL: &str = "audit_events_target";
const PARTIAL: &str = "audit_events_target_admin";
const ACTION: &str = "audit_events_action";

/// What is not an issuance record. A literal, not a bound value: an index's condition takes no
/// parameters.
fn not_issued() -> SimpleExpr {
    Expr::col(AuditEvents::Action).ne(Expr::cust("'token.issued'"))
}

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
                    .and_where(not_issued())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ACTION)
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Action)
                    .col(AuditEvents::Id)
                    .and_where(not_issued())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(drop(ACTION)).await?;
        manager.drop_index(drop(PARTIAL)).await?;
        manager
            .create_index(
                Index::create().name(FULL).table(AuditEvents::Table).col(AuditEvents::TargetId).to_owned(),
            )
            .await
    }
}
