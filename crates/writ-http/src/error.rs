//! The one error type of the admin and guard APIs, rendered as RFC 9457 `application/problem+json`
//! with a stable snake_case `code` (listed in docs/errors.md). Internal errors log their cause chain
//! and answer an opaque message.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error as aerr};
use serde::Serialize;
use writ_store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// The request field at fault, for validation errors.
    pub field: Option<String>,
    /// `WWW-Authenticate` for 401 and 403 answers to bearer-token callers (RFC 6750 §3).
    pub www_authenticate: Option<String>,
}

/// An RFC 9457 problem document: what every admin and guard error answers.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "about:blank",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "must be an address like name@example.com",
    "code": "validation_failed",
    "field": "email"
}))]
pub struct Problem {
    /// Always `about:blank`: `code` is the precise type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// Stable, machine-readable error code (see docs/errors.md).
    pub code: String,
    /// The request field at fault, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), field: None, www_authenticate: None }
    }

    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail)
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such object, or not visible to this caller")
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self {
            www_authenticate: Some(format!("Bearer error=\"invalid_token\", error_description=\"{detail}\"")),
            ..Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
        }
    }

    /// No credentials at all: RFC 6750 §3.1 says the challenge then carries no error code.
    pub fn token_required() -> Self {
        Self {
            www_authenticate: Some("Bearer realm=\"writ\"".into()),
            ..Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "a bearer token is required")
        }
    }

    pub fn insufficient_scope(scope: &str) -> Self {
        Self {
            www_authenticate: Some(format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"")),
            ..Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this call requires the scope {scope}"),
            )
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
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
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error; the server log has details",
        )
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let problem = Problem {
            kind: "about:blank".into(),
            title: self.title().into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.into(),
            field: self.field.clone(),
        };
        let mut res = HttpResponse::build(self.status);
        res.content_type(PROBLEM_JSON);
        if let Some(v) = self.www_authenticate.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            res.insert_header((header::WWW_AUTHENTICATE, v));
        }
        res.json(problem)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict(_) => Self::conflict("an object with the same unique value already exists"),
            StoreError::Invalid { field, message } => Self::validation(field, message),
            e => Self::internal(&e),
        }
    }
}

impl From<writ_core::Invalid> for ApiError {
    fn from(e: writ_core::Invalid) -> Self {
        Self::validation(e.what, e.to_string())
    }
}

pub(crate) fn json_error(err: aerr::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        aerr::JsonPayloadError::OverflowKnownLength { .. } | aerr::JsonPayloadError::Overflow { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", err.to_string())
        }
        aerr::JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be application/json",
        ),
        aerr::JsonPayloadError::Deserialize(e) if e.is_data() => {
            // serde names the field in its message when it knows it (`unknown field`, `missing field`).
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", e.to_string())
        }
        aerr::JsonPayloadError::Deserialize(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        ),
        _ => ApiError::bad_request(err.to_string()),
    };
    api.into()
}

pub(crate) fn query_error(err: aerr::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", err.to_string()).into()
}

pub(crate) fn path_error(err: aerr::PathError, _: &HttpRequest) -> actix_web::Error {
    let _ = err;
    ApiError::not_found().into()
}
