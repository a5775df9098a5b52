//! Repositories, one module per aggregate. Org data is reached only through a repository built for
//! a [`Tenant`]: every query of a tenant-built repository is filtered to its org through one
//! helper (`Tenant::scope`), so a use case cannot forget the check.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use time::OffsetDateTime;
use writ_core::secret::SecretHash;
use writ_core::{
    Actor, AuditEvent, AuthMethods, Client, ClientId, ClientKind, ClientSecret, Email, ExternalId, FetchUrl,
    Grants, KeyId, KeySource, KeyState, Name, Org, OrgId, Outcome, Resource, ResourceId, ResourceUri,
    ScopeDef, ScopeName, SecretId, SigningAlg, SigningKey, Slug, TokenTtl, User, UserId,
};

use crate::convert::{
    enum_name, limits_text, login_text, metadata_text, parse, parse_enum, parse_limits, parse_login,
    parse_metadata, parse_url_clients, url_clients_text,
};
use crate::entity::*;
use crate::grants::{self, GrantTable};
use crate::{Page, Paged, Result, StoreError, Tenant};

/// The one place a tenant's view of the data is decided.
impl Tenant {
    /// The rows whose org `column` is this tenant's: all of them for the operator.
    fn scope(&self, column: impl ColumnTrait) -> Condition {
        match self {
            Tenant::Operator => Condition::all(),
            Tenant::Org(id) => Condition::all().add(column.eq(id.as_str())),
        }
    }

    /// Whether an object of `org` (none: the operator's own) is this tenant's to see.
    fn owns(&self, org: Option<&OrgId>) -> bool {
        match self {
            Tenant::Operator => true,
            Tenant::Org(id) => org == Some(id),
        }
    }

    /// Collections only the operator has (creating and deleting orgs): a tenant-built repository
    /// answers `NotFound`, as if they did not exist for it.
    fn operator_only(&self) -> Result<()> {
        match self {
            Tenant::Operator => Ok(()),
            Tenant::Org(_) => Err(StoreError::NotFound),
        }
    }
}

/// `NotFound` when an update or delete touched no row (missing, or not visible to the tenant).
fn found(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// `SELECT … FOR UPDATE` when `lock` is set.
fn locked<E: EntityTrait>(q: sea_orm::Select<E>, lock: bool) -> sea_orm::Select<E> {
    if lock { q.lock_exclusive() } else { q }
}

/// Applies a page to a query ordered by id, and splits off the cursor of the next page.
async fn paged<E, M>(
    c: &impl ConnectionTrait,
    q: sea_orm::Select<E>,
    id_col: E::Column,
    page: &Page,
    id_of: impl Fn(&M) -> String,
) -> Result<(Vec<M>, Option<String>)>
where
    E: EntityTrait<Model = M>,
    M: sea_orm::FromQueryResult + Send + Sync,
{
    let limit = page.limit.clamp(1, Page::MAX_LIMIT);
    let mut q = q.order_by_asc(id_col).limit(limit + 1);
    if let Some(after) = &page.after {
        q = q.filter(id_col.gt(after.as_str()));
    }
    let mut rows = q.all(c).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(&id_of)
    } else {
        None
    };
    Ok((rows, next))
}

/// A batch of rows as the one JSON parameter of a Postgres `json_to_recordset` statement.
fn json_rows(rows: Vec<serde_json::Value>) -> sea_orm::Value {
    serde_json::Value::Array(rows).to_string().into()
}

/// Inserts `rows` (JSON objects keyed by column) into `table` on Postgres in one statement whose
/// text never changes, however many rows there are: they travel as one JSON parameter. `columns`
/// lists each column with its SQL type (`id text, at timestamptz`). A multi-row `VALUES` list
/// would be parsed and planned anew for every batch size, and caps a statement at 65,535
/// parameters.
pub(crate) async fn insert_json(
    c: &impl ConnectionTrait,
    table: &str,
    columns: &str,
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    let names: Vec<&str> = columns.split(',').filter_map(|c| c.split_whitespace().next()).collect();
    let names = names.join(", ");
    let sql = format!(
        "INSERT INTO {table} ({names}) SELECT {names} FROM json_to_recordset($1::json) AS r({columns})"
    );
    c.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [json_rows(rows)])).await?;
    Ok(())
}

/// A time for `json_to_recordset`: RFC 3339 at microseconds, which Postgres keeps (it would round
/// finer digits; sqlx, binding a time directly, truncates them).
fn json_time(at: OffsetDateTime) -> Option<String> {
    let at = at.replace_microsecond(at.microsecond()).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339).ok()
}

mod audit_log;
mod client;
mod delegation;
mod federation;
mod idempotency;
mod key;
mod org;
mod people;
mod resource;
mod state;
mod user;

pub use audit_log::*;
pub use client::*;
pub use delegation::*;
pub use federation::*;
pub use idempotency::*;
pub use key::*;
pub use org::*;
pub use people::*;
pub use resource::*;
pub use state::*;
pub use user::*;
