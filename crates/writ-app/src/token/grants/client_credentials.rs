//! The client-credentials grant (RFC 6749 §4.4): a machine client acting for itself (or for its
//! org or user, by its kind), with RFC 8707 resource indicators (`resource`, repeatable, and
//! Auth0's `audience`) choosing the audience. The decision itself is `writ_core::grant`.

use writ_core::{GrantError, ResourceUri, ScopeSet, TokenRequest};

use crate::token::client_auth::Authenticated;
use crate::token::{OAuthError, Params};

pub const GRANT_TYPE: &str = "client_credentials";

/// The request's scopes and resources.
#[derive(Debug)]
pub struct ClientCredentials {
    pub request: TokenRequest,
}

/// `scope` (RFC 6749 §3.3) and the resources; a malformed one is `invalid_scope` or
/// `invalid_target`.
pub fn parse(params: &Params) -> Result<ClientCredentials, OAuthError> {
    let scope = scope_of(params)?;
    let resources = params
        .resources
        .iter()
        .chain(params.audience.iter())
        .map(|r| ResourceUri::parse(r))
        .collect::<Result<_, _>>()
        .map_err(|e| OAuthError::InvalidTarget(e.to_string()))?;
    Ok(ClientCredentials { request: TokenRequest { scope, resources } })
}

/// The request's `scope` (RFC 6749 §3.3), if it has one; a malformed one is `invalid_scope`.
pub fn scope_of(params: &Params) -> Result<Option<ScopeSet>, OAuthError> {
    params
        .scope
        .as_deref()
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|e| OAuthError::InvalidScope(e.to_string()))
}

impl ClientCredentials {
    /// What the client may receive: its grants ∩ its org's entitlements (∩ its user's grants).
    /// A client that may not be used answers like a wrong secret.
    pub fn decide(&self, auth: &Authenticated) -> Result<writ_core::Grant, OAuthError> {
        let c = &auth.client;
        writ_core::grant(&c.client, c.org.as_ref(), c.user.as_ref(), &self.request).map_err(|e| match e {
            GrantError::Inactive(reason) => {
                tracing::info!(reason, "refused an unusable client");
                OAuthError::InvalidClient { challenge: None }
            }
            GrantError::NothingGranted => {
                OAuthError::UnauthorizedClient("the client is granted nothing".into())
            }
            GrantError::InvalidScope(d) => OAuthError::InvalidScope(d),
            GrantError::InvalidTarget(d) => OAuthError::InvalidTarget(d),
        })
    }
}
