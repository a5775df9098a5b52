//! Versions of admin objects: `ETag` on reads and writes, `If-Match` on updates (RFC 9110 §13.1.1).
//! The tag is a hash of the object as the API shows it, so any visible change makes a new one.

use actix_web::http::header::{ETAG, IF_MATCH};
use actix_web::{HttpRequest, HttpResponseBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};
use writ_app::{AppError, ErrorCode};

/// The strong entity tag of `dto`.
pub(crate) fn etag(dto: &impl Serialize) -> String {
    let json = serde_json::to_vec(dto).unwrap_or_default();
    let hash = Sha256::digest(&json);
    let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// `builder` with the `ETag` of `dto`.
pub(crate) fn tagged(mut builder: HttpResponseBuilder, dto: &impl Serialize) -> HttpResponseBuilder {
    builder.insert_header((ETAG, etag(dto)));
    builder
}

/// `412 precondition_failed` when the request has an `If-Match` that `current` does not match.
/// Strong comparison: a weak tag (`W/"…"`) never matches; `*` matches any existing object.
pub(crate) fn if_match(req: &HttpRequest, current: &impl Serialize) -> Result<(), AppError> {
    let Some(header) = req.headers().get(IF_MATCH) else { return Ok(()) };
    let tag = etag(current);
    let matches =
        header.to_str().map(|v| v.split(',').map(str::trim).any(|t| t == "*" || t == tag)).unwrap_or(false);
    if matches {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::PreconditionFailed,
            "the object changed since the version in If-Match: fetch it again and retry",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn if_match_compares_strongly() {
        let v1 = serde_json::json!({"name": "a"});
        let v2 = serde_json::json!({"name": "b"});
        let tag = etag(&v1);
        assert_ne!(tag, etag(&v2));
        let req = |h: &str| TestRequest::default().insert_header((IF_MATCH, h)).to_http_request();
        assert!(if_match(&TestRequest::default().to_http_request(), &v1).is_ok(), "no header: no condition");
        assert!(if_match(&req(&tag), &v1).is_ok());
        assert!(if_match(&req(&format!("\"x\", {tag}")), &v1).is_ok(), "any of a list");
        assert!(if_match(&req("*"), &v1).is_ok());
        assert_eq!(if_match(&req(&tag), &v2).unwrap_err().code, ErrorCode::PreconditionFailed);
        assert!(if_match(&req(&format!("W/{tag}")), &v1).is_err(), "weak tags never match");
    }
}
