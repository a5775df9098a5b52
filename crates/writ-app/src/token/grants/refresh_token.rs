//! The refresh-token grant (RFC 6749 §6): an agent keeps a person's access over time. Each
//! refresh token works once and is replaced; presenting a used one revokes its whole family
//! (`crate::delegation::tokens::refresh`).

use writ_core::ScopeSet;

use crate::token::{OAuthError, Params};

pub const GRANT_TYPE: &str = "refresh_token";

/// The refresh token, and the scope it asks for (at most what the person allowed).
pub struct RefreshGrant {
    pub refresh_token: String,
    pub scope: Option<ScopeSet>,
}

impl std::fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshGrant").field("scope", &self.scope).finish_non_exhaustive()
    }
}

pub fn parse(params: &Params) -> Result<RefreshGrant, OAuthError> {
    let refresh_token = params
        .refresh_token
        .clone()
        .ok_or_else(|| OAuthError::InvalidRequest("missing parameter `refresh_token`".into()))?;
    Ok(RefreshGrant { refresh_token, scope: super::client_credentials::scope_of(params)? })
}
