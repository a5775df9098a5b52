//! Rendering token-endpoint errors (`writ_app::token::OAuthError`) as RFC 6749 §5.2 answers: a JSON
//! body with `error` and `error_description`, never a problem+json, with `Cache-Control: no-store`
//! and the header fields the error carries (`WWW-Authenticate`, `Retry-After`, `RateLimit…`).

use std::fmt;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use writ_app::token::OAuthError;

/// An [`OAuthError`] as an actix answer.
#[derive(Debug)]
pub struct OAuthFailure(pub OAuthError);

impl From<OAuthError> for OAuthFailure {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl fmt::Display for OAuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for OAuthFailure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        no_store(&mut res);
        for (name, value) in self.0.headers() {
            res.insert_header((name, value));
        }
        res.json(crate::schema::OAuthErrorBody {
            error: self.0.code().to_owned(),
            error_description: self.0.description().to_owned(),
        })
    }
}

/// RFC 6749 §5.1: token responses (and errors) must not be cached.
pub(crate) fn no_store(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
}
