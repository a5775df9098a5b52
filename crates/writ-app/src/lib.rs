//! Writ's use cases and the runtime they run in. Everything a request does below HTTP lives here:
//! the [`Deployment`] (settings, database, key-encryption key, pepper), the server [`Context`]
//! (client cache, change bus, audit writer, key lifecycle, metrics), the key use cases, and the
//! token engine. The CLI's local commands use a [`Deployment`] alone: no task, no subscription.
//!
//! Invariant: no HTTP. This crate never depends on actix (a test in `crates/writ/tests/api`
//! reads `cargo metadata` to keep it so); use cases take domain values, a caller, a clock and a
//! connection, never a request.

pub mod audit;
pub mod authority;
pub mod cache;
pub mod caller;
pub mod challenge;
pub mod changes;
pub mod clients;
pub mod clock;
pub mod context;
pub mod delegation;
pub mod error;
pub mod events;
pub mod federation;
pub mod fetch;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod operator;
pub mod orgs;
pub mod origin;
pub mod people;
pub mod resources;
pub mod revocations;
pub mod secrets;
pub mod settings;
pub mod token;
pub mod users;

pub use caller::Caller;
pub use challenge::Challenge;
pub use clock::{Clock, FixedClock, SystemClock};
pub use context::{Context, Deployment, InitError};
pub use error::{AppError, ErrorCode};
pub use origin::Origin;
pub use settings::{Secret, Settings};
