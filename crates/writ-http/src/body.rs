//! JSON request bodies whose errors name the field at fault: `Body<T>` reads the body like
//! `web::Json` (content type, size limit, malformed JSON answered as usual), then decodes it
//! keeping the path, so `{"grants": [{"scopes": 5}]}` is a `422` with `field: "grants[0].scopes"`.
//! `OptionalBody<T>` is for routes whose body may be left out entirely; a body that is there must
//! still be valid (an `Option<web::Json<T>>` would quietly treat a bad one as absent).

use std::future::Future;
use std::pin::Pin;
use writ_app::AppError;

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ApiError;

/// A JSON body decoded into `T`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move { Ok(Self(decode(json.await?.into_inner())?)) })
    }
}

/// A JSON body that may be absent (no bytes at all).
#[derive(Debug)]
pub struct OptionalBody<T>(pub Option<T>);

impl<T> OptionalBody<T> {
    pub fn into_inner(self) -> Option<T> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let empty = !headers.contains_key(TRANSFER_ENCODING)
            && headers.get(CONTENT_LENGTH).is_none_or(|v| v.as_bytes() == b"0");
        if empty {
            return Box::pin(async { Ok(Self(None)) });
        }
        let body = Body::<T>::from_request(req, payload);
        Box::pin(async move { Ok(Self(Some(body.await?.0))) })
    }
}

/// Decodes `value`, naming the field of any error (`grants[0].scopes`, `name`).
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let parent = e.path().to_string();
        // A missing field is named only in the message; the path is its parent's.
        let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
        let field = match (missing, parent.as_str()) {
            (Some(name), ".") => name.to_owned(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, path) => path.to_owned(),
        };
        AppError::validation(if field == "." { "body".to_owned() } else { field }, message).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Grant {
        resource: String,
        scopes: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Create {
        name: String,
        #[serde(default)]
        grants: Vec<Grant>,
    }

    fn field(v: Value) -> Option<String> {
        decode::<Create>(v).unwrap_err().0.field
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        assert_eq!(field(json!({"name": 5})).as_deref(), Some("name"));
        assert_eq!(field(json!({})).as_deref(), Some("name"));
        assert_eq!(field(json!({"name": "x", "nmae": "y"})).as_deref(), Some("nmae"));
        let bad = json!({"name": "x", "grants": [{"resource": "r", "scopes": 5}]});
        assert_eq!(field(bad).as_deref(), Some("grants[0].scopes"));
        let unknown = json!({"name": "x", "grants": [{"resource": "r", "scopes": [], "extra": 1}]});
        assert_eq!(field(unknown).as_deref(), Some("grants[0].extra"));
        assert_eq!(field(json!("text")).as_deref(), Some("body"));
        assert!(decode::<Create>(json!({"name": "x"})).is_ok());
    }
}
