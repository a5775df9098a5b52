//! The one error type of the admin and guard APIs, rendered as RFC 9457 `application/problem+json`
//! with a stable snake_case `code` from the one table of codes (`writ_app::ErrorCode`, listed in
//! docs/errors.md). Internal errors log their cause chain and answer an opaque message.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error as aerr};
use serde::Serialize;
use writ_app::{AppError, ErrorCode};
use writ_store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An [`AppError`] as an actix answer: RFC 9457 problem+json.
#[derive(Debug, Clone)]
pub struct ApiError(pub AppError);

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
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let e = &self.0;
        let problem = Problem {
            kind: "about:blank".into(),
            title: e.code.title().into(),
            status: e.code.status(),
            detail: e.detail.clone(),
            code: e.code.as_str().into(),
            field: e.field.clone(),
        };
        let mut res = HttpResponse::build(self.status());
        res.content_type(PROBLEM_JSON);
        if let Some(seconds) = e.retry_after {
            res.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(v) = e.challenge.as_ref().and_then(|c| HeaderValue::from_str(&c.to_string()).ok()) {
            res.insert_header((header::WWW_AUTHENTICATE, v));
        }
        res.json(problem)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self(e.into())
    }
}

impl From<writ_core::Invalid> for ApiError {
    fn from(e: writ_core::Invalid) -> Self {
        Self(e.into())
    }
}

pub(crate) fn json_error(err: aerr::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        aerr::JsonPayloadError::OverflowKnownLength { .. } | aerr::JsonPayloadError::Overflow { .. } => {
            AppError::new(ErrorCode::PayloadTooLarge, err.to_string())
        }
        aerr::JsonPayloadError::ContentType => {
            AppError::new(ErrorCode::UnsupportedMediaType, "the body must be application/json")
        }
        aerr::JsonPayloadError::Deserialize(e) if e.is_data() => {
            // serde names the field in its message when it knows it (`unknown field`, `missing field`).
            AppError::new(ErrorCode::ValidationFailed, e.to_string())
        }
        aerr::JsonPayloadError::Deserialize(e) => {
            AppError::new(ErrorCode::MalformedJson, format!("the body is not valid JSON: {e}"))
        }
        _ => AppError::bad_request(err.to_string()),
    };
    ApiError(api).into()
}

pub(crate) fn query_error(err: aerr::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError(AppError::new(ErrorCode::InvalidQuery, err.to_string())).into()
}

pub(crate) fn path_error(err: aerr::PathError, _: &HttpRequest) -> actix_web::Error {
    let _ = err;
    ApiError(AppError::not_found()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn the_docs_list_every_code_with_its_status_in_order() {
        let doc = include_str!("../../../docs/errors.md");
        let admin = doc.split("## Admin API").nth(1).unwrap();
        let documented: Vec<(String, u16)> = admin
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((code.to_owned(), cells.get(2)?.parse().ok()?))
            })
            .collect();
        let declared: Vec<(String, u16)> =
            ErrorCode::ALL.iter().map(|c| (c.as_str().to_owned(), c.status())).collect();
        assert_eq!(documented, declared, "docs/errors.md and writ_app::ErrorCode disagree");
    }

    /// What a code answers: status, the header fields that matter, and the body.
    fn rendered(e: AppError) -> serde_json::Value {
        let res = ApiError(e).error_response();
        let header = |name| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (content_type, challenge) = (header(header::CONTENT_TYPE), header(header::WWW_AUTHENTICATE));
        let retry_after = header(header::RETRY_AFTER);
        let status = res.status().as_u16();
        let body = res.into_body().try_into_bytes().unwrap();
        serde_json::json!({
            "status": status,
            "content-type": content_type,
            "www-authenticate": challenge,
            "retry-after": retry_after,
            "body": serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        })
    }

    /// Each code as the API raises it: through its own constructor where it has one.
    fn example(code: ErrorCode) -> AppError {
        match code {
            ErrorCode::Unauthorized => AppError::unauthorized("the token is not valid here: token expired"),
            ErrorCode::InsufficientScope => AppError::insufficient_scope("admin:orgs:write"),
            ErrorCode::Forbidden => AppError::forbidden("only the operator may do this"),
            ErrorCode::NotFound => AppError::not_found(),
            ErrorCode::Conflict => AppError::from(StoreError::Conflict("orgs.slug".into())),
            ErrorCode::ValidationFailed => AppError::validation("grants[0].scopes", "no such scope"),
            ErrorCode::Unavailable => AppError::unavailable("revocation state unreachable; retry shortly"),
            ErrorCode::RateLimited => AppError::rate_limited("too many revocations: retry later", 42),
            ErrorCode::InternalError => AppError::internal(&std::io::Error::other("disk on fire")),
            other => AppError::new(other, format!("what {other} says")),
        }
    }

    #[test]
    fn every_code_answers_its_problem_document() {
        for code in ErrorCode::ALL {
            insta::assert_json_snapshot!(code.as_str(), rendered(example(*code)));
        }
        let bare = rendered(AppError::token_required());
        insta::assert_json_snapshot!("unauthorized_without_a_token", bare);
    }
}
