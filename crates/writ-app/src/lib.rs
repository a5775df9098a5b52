//! Writ's use cases and the runtime they run in. Everything a request does below HTTP lives here:
//! the [`Deployment`] (settings, database, key-encryption key, pepper), the server [`Context`]
//! (client cache, change bus, audit writer, key lifecycle, metrics), the key use cases, and the
//! token engine. The CLI's local commands use a [`Deployment`] alone: no task, no subscription.
//!
//! Invariant: no HTTP. This crate never depends on actix (a test in `crates/writ/tests/api`
//! reads `cargo metadata` to keep it so); use cases take domain values, a caller, a clock and a
//! connection, never a request.

pub mod audit;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod context;
pub mod keys;
pub mod metrics;
pub mod operator;
pub mod secrets;
pub mod settings;

pub use clock::{Clock, FixedClock, SystemClock};
pub use context::{Context, Deployment, InitError};
pub use settings::{Secret, Settings};
