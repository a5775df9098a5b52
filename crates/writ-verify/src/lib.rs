//! `writ-verify`: check Writ access tokens where they are used — in the vendor's APIs — without
//! calling Writ per request.
//!
//! A [`Verifier`] discovers the issuer's JWKS (RFC 8414 metadata), keeps the keys, and fetches them
//! again when a token names a key it does not know: one fetch at a time, and at most one per
//! `min_refetch_interval`, so a flood of made-up `kid`s cannot become a flood of fetches. Each token
//! is checked for an allowed asymmetric algorithm (the key decides it; never `none`, never HMAC),
//! `typ: at+jwt`, `iss`, `aud`, and `exp`/`nbf` with a small leeway; [`Claims::require`] checks
//! scopes. Errors tell `invalid_token` (401) from `insufficient_scope` (403) and render their RFC
//! 6750 `WWW-Authenticate` challenge. Tokens seen before are answered from a bounded cache that
//! never outlives their `exp` nor a key withdrawn from the JWKS.
//!
//! Invariant: no database or Redis crate; the only network calls are the JWKS and metadata
//! fetches described above, the revocation feed and the token endpoint — each over HTTPS (plain
//! HTTP to loopback only), following no redirect, its body bounded (`transport.rs`).

#[cfg(feature = "actix")]
pub mod actix;
mod cache;
mod error;
mod follower;
mod resource;
mod source;
mod transport;
mod verifier;

pub use error::VerifyError;
pub use follower::RevocationFollower;
pub use resource::ProtectedResource;
pub use source::{Credential, TokenSource, TokenSourceError};
pub use verifier::{Claims, SetupError, Verifier, VerifierConfig, http_client};
pub use writ_core::SigningAlg;
pub use writ_token::{AccessClaims, AssertionSigner};
