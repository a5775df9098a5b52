//! The audit log's secondary indexes leave out issuance records. They are nearly every row (one per
//! token), and each index entry cost the token path more than the row itself: the embedded
//! default's audit writer runs in the server, where migration 000005's two indexes took 11–20 µs of
//! CPU per token (docs/performance.md). Nothing looks an issuance record up by its target (a jti)
//! since revocation needs no record of a token (crates/writ-app/src/revocations.rs). What people
//! look up — the changes a client made or underwent, the changes of one kind — stays indexed at no
//! cost per token; issuance records are found by org and time, which need no index of their own
//! (crates/writ-store/src/repo/audit_log.rs).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    ActorId,
    OccurredAt,
    TargetId,
    Action,
}

/// Migration 000005's full indexes, and the partial ones that replace them. New names: SQLite may
/// check a `CREATE INDEX` against a schema another pooled connection read before the `DROP`.
const TARGET: &str = "audit_events_target";
const ACTOR: &str = "audit_events_actor";
const TARGET_ADMIN: &str = "audit_events_target_admin";
const ACTOR_ADMIN: &str = "audit_events_actor_admin";
const ACTION: &str = "audit_events_action";

/// What is not an issuance record. A literal, not a bound value: an index's condition takes no
/// parameters.
fn not_issued() -> SimpleExpr {
    Expr::col(AuditEvents::Action).ne(Expr::cust("'token.issued'"))
}

/// An index on `columns`: of what is not an issuance record when `partial`.
fn index<const N: usize>(name: &str, columns: [AuditEvents; N], partial: bool) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(AuditEvents::Table).to_owned();
    for column in columns {
        index.col(column);
    }
    if partial {
        index.and_where(not_issued());
    }
    index
}

fn drop(name: &str) -> IndexDropStatement {
    Index::drop().name(name).table(AuditEvents::Table).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(drop(TARGET)).await?;
        manager.drop_index(drop(ACTOR)).await?;
        manager.create_index(index(TARGET_ADMIN, [AuditEvents::TargetId, AuditEvents::Id], true)).await?;
        manager.create_index(index(ACTOR_ADMIN, [AuditEvents::ActorId, AuditEvents::Id], true)).await?;
        manager.create_index(index(ACTION, [AuditEvents::Action, AuditEvents::Id], true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [ACTION, ACTOR_ADMIN, TARGET_ADMIN] {
            manager.drop_index(drop(name)).await?;
        }
        manager.create_index(index(TARGET, [AuditEvents::TargetId], false)).await?;
        manager.create_index(index(ACTOR, [AuditEvents::ActorId, AuditEvents::OccurredAt], false)).await
    }
}
