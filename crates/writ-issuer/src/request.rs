//! Reading a token request: the body (form or JSON, size-limited), its parameters (repeats refused
//! except `resource`), and the client's credentials (Basic or body, never both).

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{BytesMut, Payload};
use base64::Engine;
use futures_util::StreamExt;

use crate::OAuthError;

/// Larger bodies are refused: a client-credentials request is a few hundred bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// The parameters of a token request, with empty values treated as absent (RFC 6749 §3.2).
#[derive(Debug, Default)]
pub struct Params {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    pub audience: Option<String>,
    /// RFC 7009 / RFC 7662: the token to revoke or introspect.
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
}

impl Params {
    fn set(&mut self, name: &str, value: String) -> Result<(), OAuthError> {
        if value.is_empty() {
            return Ok(());
        }
        let slot = match name {
            "resource" => {
                self.resources.push(value);
                return Ok(());
            }
            "grant_type" => &mut self.grant_type,
            "client_id" => &mut self.client_id,
            "client_secret" => &mut self.client_secret,
            "scope" => &mut self.scope,
            "audience" => &mut self.audience,
            "token" => &mut self.token,
            "token_type_hint" => &mut self.token_type_hint,
            // RFC 6749 §3.2: unrecognized parameters are ignored.
            _ => return Ok(()),
        };
        if slot.is_some() {
            return Err(OAuthError::InvalidRequest(format!("parameter `{name}` is repeated")));
        }
        *slot = Some(value);
        Ok(())
    }
}

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

pub fn parse_params(req: &HttpRequest, body: &[u8]) -> Result<Params, OAuthError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let mut params = Params::default();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            for (k, v) in form_urlencoded::parse(body) {
                params.set(&k, v.into_owned())?;
            }
        }
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|_| OAuthError::InvalidRequest("the body is not valid JSON".into()))?;
            let serde_json::Value::Object(map) = value else {
                return Err(OAuthError::InvalidRequest("the JSON body must be an object".into()));
            };
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => params.set(&k, s)?,
                    serde_json::Value::Array(items) if k == "resource" => {
                        for item in items {
                            let serde_json::Value::String(s) = item else {
                                return Err(OAuthError::InvalidRequest(
                                    "`resource` must hold strings".into(),
                                ));
                            };
                            params.set(&k, s)?;
                        }
                    }
                    serde_json::Value::Null => {}
                    _ => {
                        return Err(OAuthError::InvalidRequest(format!("parameter `{k}` must be a string")));
                    }
                }
            }
        }
        _ => {
            return Err(OAuthError::InvalidRequest(
                "the body must be application/x-www-form-urlencoded (or application/json)".into(),
            ));
        }
    }
    Ok(params)
}

/// How the client authenticated.
#[derive(Debug)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub basic: bool,
}

/// The client's credentials from `Authorization: Basic` (RFC 6749 §2.3.1: both parts are
/// form-urlencoded before base64) or from the body (`client_secret_post`). Using both is refused.
pub fn credentials(req: &HttpRequest, params: &Params) -> Result<Credentials, OAuthError> {
    let header = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let Some(header) = header else {
        return match (&params.client_id, &params.client_secret) {
            (Some(id), Some(secret)) => {
                Ok(Credentials { client_id: id.clone(), client_secret: secret.clone(), basic: false })
            }
            // No credentials at all: answer with a Basic challenge, the method every client supports.
            _ => Err(OAuthError::InvalidClient { basic: true }),
        };
    };
    let (scheme, encoded) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidRequest(
            "only Basic client authentication is supported in Authorization".into(),
        ));
    }
    if params.client_secret.is_some() {
        return Err(OAuthError::InvalidRequest(
            "credentials in both the Authorization header and the body".into(),
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(OAuthError::InvalidClient { basic: true })?;
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient { basic: true })?;
    let client_id = form_decode(id);
    if params.client_id.as_ref().is_some_and(|body_id| *body_id != client_id) {
        return Err(OAuthError::InvalidRequest(
            "client_id in the body differs from the Authorization header".into(),
        ));
    }
    Ok(Credentials { client_id, client_secret: form_decode(secret), basic: true })
}

/// Decodes one application/x-www-form-urlencoded value (`+` is a space, `%XX` a byte).
fn form_decode(s: &str) -> String {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_follows_rfc_6749_appendix_b() {
        assert_eq!(form_decode("a%3Ab+c%25"), "a:b c%");
        assert_eq!(form_decode("plain"), "plain");
    }

    #[test]
    fn repeats_are_refused_except_resource_and_empty_values_are_absent() {
        let mut p = Params::default();
        p.set("resource", "a".into()).unwrap();
        p.set("resource", "b".into()).unwrap();
        p.set("scope", String::new()).unwrap();
        p.set("scope", "x".into()).unwrap();
        p.set("unknown", "x".into()).unwrap();
        assert_eq!(p.resources, vec!["a", "b"]);
        assert!(matches!(p.set("scope", "y".into()), Err(OAuthError::InvalidRequest(_))));
    }
}
