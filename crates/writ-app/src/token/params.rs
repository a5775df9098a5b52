//! The parameters of a request to the token, revocation or introspection endpoint: a form or JSON
//! body, read once, with repeats refused except `resource` (RFC 6749 §3.2).

use super::OAuthError;

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

    /// The parameters of `body`, as its `Content-Type` says it is encoded.
    pub fn parse(content_type: &str, body: &[u8]) -> Result<Params, OAuthError> {
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
                            return Err(OAuthError::InvalidRequest(format!(
                                "parameter `{k}` must be a string"
                            )));
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
