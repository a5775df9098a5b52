//! Writ's domain: ids, validated values, the entities of the admin API (docs/admin-api.md), client secrets and the grant
//! decision of the token endpoint.
//!
//! Invariant: this crate is pure. It never depends on actix, sea-orm, redis or tokio and performs no
//! I/O; the only outside input it takes is randomness for new ids and secrets.

pub mod base32;
pub mod bounded;
pub mod cimd;
pub mod delegation;
pub mod federation;
pub mod grant;
pub mod id;
pub mod model;
pub mod secret;
pub mod value;

pub use grant::{Grant, GrantError, TokenRequest, grant};
pub use id::{
    AuthorizationId, ClientId, ConsentId, EventId, FederatedCredentialId, InvitationId, KeyId, OrgId,
    RequestId, ResourceId, SecretId, SessionId, TrustedIssuerId, UserId,
};
pub use model::*;
pub use value::*;

/// A value that failed validation. `what` names the kind of value (`slug`, `scope name`, …), so a
/// caller that knows the field can say which field was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct Invalid {
    pub what: &'static str,
    pub reason: String,
}

impl Invalid {
    pub fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self { what, reason: reason.into() }
    }
}

/// The current time at microsecond precision, which every backend stores, so a value read back
/// equals the value written.
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}
