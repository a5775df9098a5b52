//! The grants the token endpoint serves (RFC 6749 §4 and its extensions): one variant and one
//! module per `grant_type`. A new grant is a variant of [`GrantType`] and [`Grant`] and a module
//! beside `client_credentials.rs`; discovery lists [`GrantType::ALL`].

pub mod client_credentials;
pub mod jwt_bearer;

use super::client_auth::Authenticated;
use super::{OAuthError, Params};

/// A `grant_type` the endpoint knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
    JwtBearer,
}

impl GrantType {
    /// Every grant type served, as discovery lists them.
    pub const ALL: &[GrantType] = &[Self::ClientCredentials, Self::JwtBearer];

    pub fn name(self) -> &'static str {
        match self {
            Self::ClientCredentials => client_credentials::GRANT_TYPE,
            Self::JwtBearer => jwt_bearer::GRANT_TYPE,
        }
    }

    /// The request's `grant_type`: missing is `invalid_request`, unknown `unsupported_grant_type`.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let name = params
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::InvalidRequest("missing parameter `grant_type`".into()))?;
        Self::ALL.iter().copied().find(|t| t.name() == name).ok_or(OAuthError::UnsupportedGrantType)
    }
}

/// One grant, with its own parameters parsed.
#[derive(Debug)]
pub enum Grant {
    ClientCredentials(client_credentials::ClientCredentials),
    /// Decided as client credentials are; the assertion was the client's authentication.
    JwtBearer(client_credentials::ClientCredentials),
}

impl Grant {
    /// The parameters of a grant of type `t`.
    pub fn parse(t: GrantType, params: &Params) -> Result<Self, OAuthError> {
        match t {
            GrantType::ClientCredentials => client_credentials::parse(params).map(Self::ClientCredentials),
            GrantType::JwtBearer => jwt_bearer::parse(params).map(Self::JwtBearer),
        }
    }

    /// What the authenticated client may receive for this grant: audiences, scopes, subject.
    pub fn decide(&self, client: &Authenticated) -> Result<writ_core::Grant, OAuthError> {
        match self {
            Self::ClientCredentials(g) | Self::JwtBearer(g) => g.decide(client),
        }
    }
}
