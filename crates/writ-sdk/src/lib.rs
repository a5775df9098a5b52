//! Rust clients for Writ, generated at build time with progenitor from the committed OpenAPI
//! documents: [`admin`] for the admin API and [`issuer`] for the token endpoint. Errors of the
//! admin API decode into [`admin::types::Problem`].

/// The admin API (`/admin/v1`). Build a client with a `reqwest::Client` whose default headers
/// carry `Authorization: Bearer <token for urn:writ:admin>`.
#[allow(clippy::all, clippy::unwrap_used, unused, missing_docs)]
pub mod admin {
    include!(concat!(env!("OUT_DIR"), "/admin.rs"));
}

/// The token issuer (`/oauth/*`, `/.well-known/*`).
#[allow(clippy::all, clippy::unwrap_used, unused, missing_docs)]
pub mod issuer {
    include!(concat!(env!("OUT_DIR"), "/issuer.rs"));
}
