//! The grants the token endpoint serves (RFC 6749 §4 and its extensions): one variant and one
//! module per `grant_type`. A new grant is a variant of [`GrantType`] and [`Grant`] and a module
//! beside `client_credentials.rs`; discovery lists [`GrantType::ALL`].

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod id_jag;
pub mod jwt_bearer;
pub mod refresh_token;

use super::{OAuthError, Params};

/// A `grant_type` the endpoint knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
    JwtBearer,
    AuthorizationCode,
    RefreshToken,
    DeviceCode,
}

impl GrantType {
    /// Every grant type served, as discovery lists them.
    pub const ALL: &[GrantType] = &[
        Self::AuthorizationCode,
        Self::ClientCredentials,
        Self::RefreshToken,
        Self::DeviceCode,
        Self::JwtBearer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ClientCredentials => client_credentials::GRANT_TYPE,
            Self::JwtBearer => jwt_bearer::GRANT_TYPE,
            Self::AuthorizationCode => authorization_code::GRANT_TYPE,
            Self::RefreshToken => refresh_token::GRANT_TYPE,
            Self::DeviceCode => device_code::GRANT_TYPE,
        }
    }

    /// The kind a client's `grant_types` must allow.
    pub fn kind(self) -> writ_core::GrantKind {
        match self {
            Self::ClientCredentials => writ_core::GrantKind::ClientCredentials,
            Self::JwtBearer => writ_core::GrantKind::JwtBearer,
            Self::AuthorizationCode => writ_core::GrantKind::AuthorizationCode,
            Self::RefreshToken => writ_core::GrantKind::RefreshToken,
            Self::DeviceCode => writ_core::GrantKind::DeviceCode,
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
    /// The jwt-bearer grant type with an ID-JAG: the assertion names a person.
    IdJag(id_jag::IdJagGrant),
    AuthorizationCode(authorization_code::CodeGrant),
    RefreshToken(refresh_token::RefreshGrant),
    DeviceCode(device_code::DeviceGrant),
}

impl Grant {
    /// The parameters of a grant of type `t`.
    pub fn parse(t: GrantType, params: &Params) -> Result<Self, OAuthError> {
        match t {
            GrantType::ClientCredentials => client_credentials::parse(params).map(Self::ClientCredentials),
            GrantType::JwtBearer => jwt_bearer::parse(params).map(Self::JwtBearer),
            GrantType::AuthorizationCode => authorization_code::parse(params).map(Self::AuthorizationCode),
            GrantType::RefreshToken => refresh_token::parse(params).map(Self::RefreshToken),
            GrantType::DeviceCode => device_code::parse(params).map(Self::DeviceCode),
        }
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::ClientCredentials(_) => GrantType::ClientCredentials,
            Self::JwtBearer(_) | Self::IdJag(_) => GrantType::JwtBearer,
            Self::AuthorizationCode(_) => GrantType::AuthorizationCode,
            Self::RefreshToken(_) => GrantType::RefreshToken,
            Self::DeviceCode(_) => GrantType::DeviceCode,
        }
    }
}
