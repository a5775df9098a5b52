//! The errors of the admin and guard use cases: [`AppError`], with a code from the one table of
//! codes ([`ErrorCode`], each with its HTTP status and the title of its RFC 9457 problem document).
//! docs/errors.md lists exactly these codes (a test in `writ-http` compares the two); `writ-http`
//! renders an `AppError` as problem+json. Internal errors log their cause chain and say nothing
//! more.

use writ_store::StoreError;

use crate::challenge::Challenge;

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal, $status:literal, $title:literal;)*) => {
        /// A stable, machine-readable error code of the admin and guard APIs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of docs/errors.md.
            pub const ALL: &[ErrorCode] = &[$(Self::$variant),*];

            /// The code as it appears in `code`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            /// The HTTP status it answers with.
            pub fn status(self) -> u16 {
                match self { $(Self::$variant => $status,)* }
            }

            /// The problem document's `title`: the status's reason phrase.
            pub fn title(self) -> &'static str {
                match self { $(Self::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    /// No bearer token, or one that is not valid here.
    Unauthorized = "unauthorized", 401, "Unauthorized";
    /// The token lacks the route's scope.
    InsufficientScope = "insufficient_scope", 403, "Forbidden";
    /// The caller may not do this at all (operator-only actions, built-in objects).
    Forbidden = "forbidden", 403, "Forbidden";
    /// No such object, or not visible to the caller.
    NotFound = "not_found", 404, "Not Found";
    /// The path exists, the method does not: `Allow` lists those that do.
    MethodNotAllowed = "method_not_allowed", 405, "Method Not Allowed";
    /// A unique value is taken, or the object is still in use.
    Conflict = "conflict", 409, "Conflict";
    /// The client already holds as many usable secrets as it may.
    TooManySecrets = "too_many_secrets", 409, "Conflict";
    /// The operator's client keeps its grants, status, limits and a usable secret.
    OperatorProtected = "operator_protected", 409, "Conflict";
    /// A request with the same `Idempotency-Key` is still running.
    IdempotencyKeyInUse = "idempotency_key_in_use", 409, "Conflict";
    /// The `Idempotency-Key` was used for a different request.
    IdempotencyKeyReused = "idempotency_key_reused", 422, "Unprocessable Entity";
    /// The `Idempotency-Key` is not 1 to 255 visible ASCII characters.
    InvalidIdempotencyKey = "invalid_idempotency_key", 400, "Bad Request";
    /// `If-Match` names a version that is no longer current.
    PreconditionFailed = "precondition_failed", 412, "Precondition Failed";
    /// The body is not JSON.
    MalformedJson = "malformed_json", 400, "Bad Request";
    /// A field is invalid, unknown, missing or of the wrong type (`field` names it).
    ValidationFailed = "validation_failed", 422, "Unprocessable Entity";
    /// A malformed query string.
    InvalidQuery = "invalid_query", 400, "Bad Request";
    /// A request the server cannot read for another reason.
    BadRequest = "bad_request", 400, "Bad Request";
    /// The body is too large.
    PayloadTooLarge = "payload_too_large", 413, "Payload Too Large";
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported Media Type";
    /// Too many requests of this kind from this caller: see `Retry-After`.
    RateLimited = "rate_limited", 429, "Too Many Requests";
    /// A dependency (the database, the revocation state) does not answer.
    Unavailable = "unavailable", 503, "Service Unavailable";
    /// Our fault; the cause is in the log.
    InternalError = "internal_error", 500, "Internal Server Error";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an admin or guard use case refused, in words for the caller.
#[derive(Debug, Clone)]
pub struct AppError {
    pub code: ErrorCode,
    pub detail: String,
    /// The request field at fault, for validation errors.
    pub field: Option<String>,
    /// What a `401` or `403` asks a bearer-token caller for (RFC 6750 §3).
    pub challenge: Option<Box<Challenge>>,
    /// For `429`: seconds until a retry can succeed (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into(), field: None, challenge: None, retry_after: None }
    }

    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(ErrorCode::ValidationFailed, detail) }
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no such object, or not visible to this caller")
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self {
            challenge: Some(Box::new(Challenge::invalid_token(detail.clone()))),
            ..Self::new(ErrorCode::Unauthorized, detail)
        }
    }

    /// No credentials at all: RFC 6750 §3.1 says the challenge then carries no error code.
    pub fn token_required() -> Self {
        Self {
            challenge: Some(Box::new(Challenge::bearer_required())),
            ..Self::new(ErrorCode::Unauthorized, "a bearer token is required")
        }
    }

    pub fn insufficient_scope(scope: &str) -> Self {
        Self {
            challenge: Some(Box::new(Challenge::insufficient_scope(scope))),
            ..Self::new(ErrorCode::InsufficientScope, format!("this call requires the scope {scope}"))
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, detail)
    }

    /// `429`, to be retried after `seconds`.
    pub fn rate_limited(detail: impl Into<String>, seconds: u64) -> Self {
        Self { retry_after: Some(seconds.max(1)), ..Self::new(ErrorCode::RateLimited, detail) }
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, detail)
    }

    /// Logs `err` with its whole cause chain and answers an opaque 500.
    pub fn internal(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(ErrorCode::InternalError, "internal error; the server log has details")
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict(_) => Self::conflict("an object with the same unique value already exists"),
            StoreError::Invalid { field, message } => Self::validation(field, message),
            e => Self::internal(&e),
        }
    }
}

impl From<writ_core::Invalid> for AppError {
    fn from(e: writ_core::Invalid) -> Self {
        Self::validation(e.what, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_answer_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} is declared twice");
            assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }
}
