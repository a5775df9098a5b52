//! Writ's schema, as sea-orm migrations that run on Postgres and on SQLite.
//!
//! Invariant: every migration has a `down` that undoes it exactly (tested up → down → up on both
//! backends), and migrations use only the portable schema builder, never backend-specific SQL.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261124_000002_rate_limits;
mod m20261125_000003_idempotency;
mod m20261129_000004_operator_lock;
mod m20261129_000005_audit_indexes;
mod m20261130_000006_lean_audit_indexes;
mod m20261130_000007_client_keys;
mod m20261130_000008_federation;
mod m20261201_000009_people;
mod m20261201_000010_delegation;
mod m20261201_000011_device_flow;
mod m20261202_000012_org_login;
mod m20261203_000013_url_clients;
mod m20261203_000014_client_registration;
mod m20261203_000015_id_jag;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261124_000002_rate_limits::Migration),
            Box::new(m20261125_000003_idempotency::Migration),
            Box::new(m20261129_000004_operator_lock::Migration),
            Box::new(m20261129_000005_audit_indexes::Migration),
            Box::new(m20261130_000006_lean_audit_indexes::Migration),
            Box::new(m20261130_000007_client_keys::Migration),
            Box::new(m20261130_000008_federation::Migration),
            Box::new(m20261201_000009_people::Migration),
            Box::new(m20261201_000010_delegation::Migration),
            Box::new(m20261201_000011_device_flow::Migration),
            Box::new(m20261202_000012_org_login::Migration),
            Box::new(m20261203_000013_url_clients::Migration),
            Box::new(m20261203_000014_client_registration::Migration),
            Box::new(m20261203_000015_id_jag::Migration),
        ]
    }
}
