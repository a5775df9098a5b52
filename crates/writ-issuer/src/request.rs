//! Reading an OAuth request off the wire: the body (size-limited) and the header fields the engine
//! needs. Everything after that is `writ_app::token`.

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{BytesMut, Payload};
use futures_util::StreamExt;
use writ_app::token::{MAX_BODY, OAuthError};

pub async fn read_body(mut payload: Payload) -> Result<BytesMut, OAuthError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::InvalidRequest("the request body could not be read".into()))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OAuthError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub fn content_type(req: &HttpRequest) -> &str {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The `Authorization` field; one that is not visible ASCII reads as empty (and fails as such).
pub fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""))
}
