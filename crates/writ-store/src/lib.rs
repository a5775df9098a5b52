//! Writ's storage: sea-orm entities and repositories over Postgres and SQLite.
//!
//! Invariants: the same code runs on both backends; repositories for org data are built for one
//! [`Tenant`] and cannot read or write another org's rows; every repository is generic over
//! `ConnectionTrait`, so it works inside a transaction; no row type leaves this crate.

mod convert;
mod entity;
mod grants;
pub mod repo;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use std::sync::Arc;

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, SqlErr, SqliteTransactionMode,
    TransactionOptions,
};
use writ_core::OrgId;
use writ_migration::MigratorTrait;

pub use repo::*;
pub use sea_orm::ConnectionTrait;
pub use sea_orm::TransactionTrait;

/// Who a repository works for: the operator sees every org, a tenant exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    Operator,
    Org(OrgId),
}

impl Tenant {
    pub fn org_id(&self) -> Option<&OrgId> {
        match self {
            Self::Operator => None,
            Self::Org(id) => Some(id),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint said no: the thing already exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request names something that does not exist or is not allowed (an unknown resource or
    /// scope in a grant). `field` is the request field at fault.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// A stored row failed to parse into a domain value: the database was changed behind our back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => Self::Conflict(detail),
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => Self::Invalid {
                field: "",
                message: format!("refers to something that does not exist: {detail}"),
            },
            _ => Self::Db(e),
        }
    }
}

impl From<writ_core::Invalid> for StoreError {
    fn from(e: writ_core::Invalid) -> Self {
        Self::Corrupt(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A page of a list in id order, which is creation order: ids are time-sortable.
#[derive(Debug, Clone)]
pub struct Page {
    pub limit: u64,
    pub after: Option<String>,
}

impl Page {
    pub const DEFAULT_LIMIT: u64 = 50;
    pub const MAX_LIMIT: u64 = 200;
}

impl Default for Page {
    fn default() -> Self {
        Self { limit: Self::DEFAULT_LIMIT, after: None }
    }
}

/// One page of results and the cursor of the next, if there is more.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The database: a connection pool to Postgres or SQLite.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite's one writer, taken in this process before `BEGIN` (see [`Store::begin`]).
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// The write lock of each SQLite file this process opened, shared by every `Store` of it (the
/// server's pool and the audit writer's).
fn sqlite_writer(url: &str) -> Arc<tokio::sync::Mutex<()>> {
    static WRITERS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::LazyLock::new(Default::default);
    let file = url.split('?').next().unwrap_or(url).to_owned();
    let mut writers = WRITERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    writers.entry(file).or_default().clone()
}

/// A write transaction ([`Store::begin`]); on SQLite it holds the process's write lock of the file
/// until it ends. Repositories take it like any connection.
pub struct DatabaseTransaction {
    inner: sea_orm::DatabaseTransaction,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for DatabaseTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseTransaction").finish_non_exhaustive()
    }
}

impl DatabaseTransaction {
    pub async fn commit(self) -> std::result::Result<(), DbErr> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> std::result::Result<(), DbErr> {
        self.inner.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for DatabaseTransaction {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: sea_orm::Statement) -> std::result::Result<sea_orm::ExecResult, DbErr> {
        self.inner.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> std::result::Result<sea_orm::ExecResult, DbErr> {
        self.inner.execute_unprepared(sql).await
    }

    async fn query_one_raw(
        &self,
        stmt: sea_orm::Statement,
    ) -> std::result::Result<Option<sea_orm::QueryResult>, DbErr> {
        self.inner.query_one_raw(stmt).await
    }

    async fn query_all_raw(
        &self,
        stmt: sea_orm::Statement,
    ) -> std::result::Result<Vec<sea_orm::QueryResult>, DbErr> {
        self.inner.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }
}

impl Store {
    /// Connects to `url` (`postgres://…` or `sqlite://path?mode=rwc`). SQLite runs in WAL mode with a
    /// busy timeout, so readers never wait for the writer and a brief write lock is waited out
    /// instead of failing with `database is locked`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, 16).await
    }

    /// Like [`Store::connect`], with at most `max_connections` connections (8 at most on SQLite,
    /// whose single writer gains nothing from more).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self> {
        let mut opts = ConnectOptions::new(url.to_owned());
        let writer = url.starts_with("sqlite:").then(|| sqlite_writer(url));
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5));
        if url.starts_with("sqlite:") {
            opts.max_connections(max_connections.min(8)).map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
        } else {
            opts.max_connections(max_connections);
        }
        Ok(Self { db: Database::connect(opts).await?, writer })
    }

    pub async fn migrate(&self) -> Result<()> {
        writ_migration::Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await?;
        Ok(())
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Starts a write transaction. On SQLite it takes the write lock at `BEGIN` (IMMEDIATE): a
    /// deferred transaction that reads first and writes later cannot wait for a busy writer (the
    /// audit writer, say) and fails with `database is locked` instead. Before that, it waits its
    /// turn in this process: SQLite's own busy handler sleeps 1 to 100 ms between tries, so many
    /// writers at once would mostly sleep; queued here, each starts as soon as the last commits.
    pub async fn begin(&self) -> Result<DatabaseTransaction> {
        let writer = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(DatabaseTransaction { inner: self.db.begin_with_options(options).await?, _writer: writer })
    }

    pub async fn close(self) -> Result<()> {
        self.db.close().await?;
        Ok(())
    }
}

/// The name of the backend behind a connection, for logs.
pub fn backend_name(c: &impl ConnectionTrait) -> &'static str {
    match c.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}
