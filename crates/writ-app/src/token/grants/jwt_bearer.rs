//! The jwt-bearer grant (RFC 7523 §2.1): a workload trades its platform's token for an access
//! token. The assertion authenticates the client (`client_auth/federated.rs`); what the client
//! receives is decided exactly as for client credentials (`scope`, `resource`).

use super::client_credentials::{self, ClientCredentials};
use crate::token::{OAuthError, Params};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The request's scopes and resources, as for client credentials.
pub fn parse(params: &Params) -> Result<ClientCredentials, OAuthError> {
    client_credentials::parse(params)
}
