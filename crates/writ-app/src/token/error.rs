//! Token endpoint errors, exactly as RFC 6749 §5.2 defines them (and RFC 8707 §2 for
//! `invalid_target`): `error` and `error_description`, an HTTP status, and the header fields that go
//! with some of them. Rendering them is the HTTP edge's (`writ-issuer`).

use std::fmt;

use crate::challenge::Challenge;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// RFC 6749 §5.2: "The request is missing a required parameter, includes an unsupported parameter
    /// value (other than grant type), repeats a parameter, includes multiple credentials, utilizes
    /// more than one mechanism for authenticating the client, or is otherwise malformed."
    InvalidRequest(String),
    /// RFC 6749 §5.2: "Client authentication failed (e.g., unknown client, no client authentication
    /// included, or unsupported authentication method)." 401, with `WWW-Authenticate` when the
    /// client tried the Authorization header or sent no credentials at all.
    InvalidClient { challenge: Option<Challenge> },
    /// RFC 6749 §5.2: "The provided authorization grant (e.g., authorization code, resource owner
    /// credentials) or refresh token is invalid, expired, revoked, does not match the redirection
    /// URI used in the authorization request, or was issued to another client."
    InvalidGrant(String),
    /// RFC 6749 §5.2: "The authenticated client is not authorized to use this authorization grant type."
    UnauthorizedClient(String),
    /// RFC 8628 §3.5: the person has not answered yet; poll again after the interval.
    AuthorizationPending,
    /// RFC 8628 §3.5: polling too fast; the interval grows by 5 seconds.
    SlowDown,
    /// RFC 8628 §3.5: the person declined.
    AccessDenied,
    /// RFC 8628 §3.5: the device code expired; start again.
    ExpiredToken,
    /// RFC 6749 §5.2: "The authorization grant type is not supported by the authorization server."
    UnsupportedGrantType,
    /// RFC 6749 §5.2: "The requested scope is invalid, unknown, malformed, or exceeds the scope
    /// granted by the resource owner."
    InvalidScope(String),
    /// RFC 8707 §2: "The requested resource is invalid, missing, unknown, or malformed."
    InvalidTarget(String),
    /// The body exceeds the endpoint's limit (413, reported as `invalid_request`).
    TooLarge,
    /// The body is neither a form nor JSON (415, reported as `invalid_request`).
    UnsupportedMediaType,
    /// Something broke on our side (500, `server_error`); the cause is logged, not sent.
    Server,
    /// Too many requests (429): the client's issuance rate or quota, or failed authentications
    /// from this address. `Retry-After` and `RateLimit` headers say when to come back.
    RateLimited { reason: &'static str, headers: Vec<(&'static str, String)> },
    /// RFC 6749 §5.2 via RFC 7009 §2.2.1: the revocation state cannot be reached right now (503 with
    /// `Retry-After`); the caller should retry.
    Unavailable,
}

impl OAuthError {
    /// `invalid_client` answered with a Basic challenge: the client used (or should use) HTTP Basic.
    pub fn invalid_client_basic() -> Self {
        Self::InvalidClient { challenge: Some(Challenge::Basic) }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::TooLarge | Self::UnsupportedMediaType => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::Server => "server_error",
            Self::Unavailable => "temporarily_unavailable",
            Self::RateLimited { .. } => "rate_limited",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            Self::InvalidRequest(d)
            | Self::InvalidGrant(d)
            | Self::UnauthorizedClient(d)
            | Self::InvalidScope(d)
            | Self::InvalidTarget(d) => d,
            Self::InvalidClient { .. } => "client authentication failed",
            Self::AuthorizationPending => "the person has not answered yet: poll again after the interval",
            Self::SlowDown => "polling too fast: wait 5 seconds more between polls",
            Self::AccessDenied => "the person declined",
            Self::ExpiredToken => "the device code expired: start again",
            Self::UnsupportedGrantType => "this grant_type is not supported (see grant_types_supported)",
            Self::TooLarge => "the request body is too large",
            Self::UnsupportedMediaType => {
                "the body must be application/x-www-form-urlencoded (or application/json)"
            }
            Self::Server => "the server could not handle the request",
            Self::Unavailable => "revocation state is unreachable; retry shortly",
            Self::RateLimited { reason, .. } => reason,
        }
    }

    /// The HTTP status: 400 unless RFC 6749 §5.2 or the nature of the failure says otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidClient { .. } => 401,
            Self::TooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Server => 500,
            Self::Unavailable => 503,
            Self::RateLimited { .. } => 429,
            _ => 400,
        }
    }

    /// The header fields that go with the answer: `WWW-Authenticate`, `Retry-After`, `RateLimit…`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::InvalidClient { challenge: Some(c) } => vec![("WWW-Authenticate", c.to_string())],
            Self::Unavailable => vec![("Retry-After", "1".into())],
            Self::RateLimited { headers, .. } => headers.clone(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for OAuthError {}
