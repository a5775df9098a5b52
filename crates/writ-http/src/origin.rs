//! The request's origin as an extractor: the caller's address and its `X-Request-Id`, read once,
//! for the audit events and the limits of the use cases (`writ_app::Origin`).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use writ_app::Origin;

/// Where the request came from.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub Origin);

impl RequestOrigin {
    pub fn of(req: &HttpRequest) -> Origin {
        Origin {
            ip: req.peer_addr().map(|a| a.ip()),
            request_id: req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
        }
    }
}

impl std::ops::Deref for RequestOrigin {
    type Target = Origin;

    fn deref(&self) -> &Origin {
        &self.0
    }
}

impl FromRequest for RequestOrigin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(Self::of(req))))
    }
}
