//! Token endpoint errors, exactly as RFC 6749 §5.2 defines them (and RFC 8707 §2 for
//! `invalid_target`): a JSON body with `error` and `error_description`, never a problem+json.

use std::fmt;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// RFC 6749 §5.2: "The request is missing a required parameter, includes an unsupported parameter
    /// value (other than grant type), repeats a parameter, includes multiple credentials, utilizes
    /// more than one mechanism for authenticating the client, or is otherwise malformed."
    InvalidRequest(String),
    /// RFC 6749 §5.2: "Client authentication failed (e.g., unknown client, no client authentication
    /// included, or unsupported authentication method)." 401; `WWW-Authenticate` when `basic` is set
    /// (the client tried the Authorization header, or sent no credentials at all).
    InvalidClient { basic: bool },
    /// RFC 6749 §5.2: "The authenticated client is not authorized to use this authorization grant type."
    UnauthorizedClient(String),
    /// RFC 6749 §5.2: "The authorization grant type is not supported by the authorization server."
    UnsupportedGrantType,
    /// RFC 6749 §5.2: "The requested scope is invalid, unknown, malformed, or exceeds the scope
    /// granted by the resource owner."
    InvalidScope(String),
    /// RFC 8707 §2: "The requested resource is invalid, missing, unknown, or malformed."
    InvalidTarget(String),
    /// The body exceeds the endpoint's limit (413, reported as `invalid_request`).
    TooLarge,
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
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::TooLarge => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::Server => "server_error",
            Self::Unavailable => "temporarily_unavailable",
            Self::RateLimited { .. } => "rate_limited",
        }
    }

    fn description(&self) -> &str {
        match self {
            Self::InvalidRequest(d)
            | Self::UnauthorizedClient(d)
            | Self::InvalidScope(d)
            | Self::InvalidTarget(d) => d,
            Self::InvalidClient { .. } => "client authentication failed",
            Self::UnsupportedGrantType => "only grant_type=client_credentials is supported",
            Self::TooLarge => "the request body is too large",
            Self::Server => "the server could not handle the request",
            Self::Unavailable => "revocation state is unreachable; retry shortly",
            Self::RateLimited { reason, .. } => reason,
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Server => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        no_store(&mut res);
        if let Self::Unavailable = self {
            res.insert_header((header::RETRY_AFTER, "1"));
        }
        if let Self::RateLimited { headers, .. } = self {
            for (name, value) in headers {
                res.insert_header((*name, value.as_str()));
            }
        }
        if let Self::InvalidClient { basic: true } = self {
            res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"writ\", charset=\"UTF-8\""));
        }
        res.json(crate::schema::OAuthErrorBody {
            error: self.code().to_owned(),
            error_description: self.description().to_owned(),
        })
    }
}

/// RFC 6749 §5.1: token responses (and errors) must not be cached.
pub(crate) fn no_store(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
}
