//! The parameters of a request to the token, revocation or introspection endpoint: a form or JSON
//! body, read once, with repeats refused except `resource` (RFC 6749 §3.2) and every repeated JSON
//! key refused.

use super::OAuthError;

/// Larger bodies are refused: a client-credentials request is a few hundred bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// The parameters of a token request, with empty values treated as absent (RFC 6749 §3.2) — except
/// `scope`, `resource` and `audience`, where an empty value would widen the request (no scope means
/// every granted scope), so it is refused.
#[derive(Debug, Default)]
pub struct Params {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// RFC 7521 §4.2: a client authenticating with an assertion.
    pub client_assertion: Option<String>,
    pub client_assertion_type: Option<String>,
    /// RFC 7523 §2.1: the jwt-bearer grant's assertion.
    pub assertion: Option<String>,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    pub audience: Option<String>,
    /// RFC 7009 / RFC 7662: the token to revoke or introspect.
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    /// The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.5).
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// The refresh-token grant (RFC 6749 §6).
    pub refresh_token: Option<String>,
    /// The device-code grant (RFC 8628 §3.4).
    pub device_code: Option<String>,
    /// An authorization request's own (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9126 §4), read by
    /// `/oauth/authorize` and `/oauth/par`.
    pub response_type: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub request_uri: Option<String>,
}

impl Params {
    fn set(&mut self, name: &str, value: String) -> Result<(), OAuthError> {
        if value.is_empty() {
            return match name {
                "scope" => Err(OAuthError::InvalidScope(
                    "`scope` is empty: name the scopes, or leave it out for every granted scope".into(),
                )),
                "resource" | "audience" => Err(OAuthError::InvalidTarget(format!("`{name}` is empty"))),
                _ => Ok(()),
            };
        }
        let slot = match name {
            "resource" => {
                self.resources.push(value);
                return Ok(());
            }
            "grant_type" => &mut self.grant_type,
            "client_id" => &mut self.client_id,
            "client_secret" => &mut self.client_secret,
            "client_assertion" => &mut self.client_assertion,
            "client_assertion_type" => &mut self.client_assertion_type,
            "assertion" => &mut self.assertion,
            "scope" => &mut self.scope,
            "audience" => &mut self.audience,
            "token" => &mut self.token,
            "token_type_hint" => &mut self.token_type_hint,
            "code" => &mut self.code,
            "redirect_uri" => &mut self.redirect_uri,
            "code_verifier" => &mut self.code_verifier,
            "refresh_token" => &mut self.refresh_token,
            "device_code" => &mut self.device_code,
            "response_type" => &mut self.response_type,
            "state" => &mut self.state,
            "code_challenge" => &mut self.code_challenge,
            "code_challenge_method" => &mut self.code_challenge_method,
            "request_uri" => &mut self.request_uri,
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
            // No body at all reads as an empty form: what is missing is then named.
            "" if body.is_empty() => {}
            "application/x-www-form-urlencoded" => {
                for (k, v) in form_urlencoded::parse(body) {
                    params.set(&k, v.into_owned())?;
                }
            }
            "application/json" => {
                let Members(members) = serde_json::from_slice(body).map_err(|e| {
                    OAuthError::InvalidRequest(if e.is_data() {
                        "the JSON body must be an object".into()
                    } else {
                        "the body is not valid JSON".into()
                    })
                })?;
                let mut seen = std::collections::HashSet::new();
                for (k, v) in members {
                    if !seen.insert(k.clone()) {
                        return Err(OAuthError::InvalidRequest(format!(
                            "key `{k}` is repeated in the JSON body"
                        )));
                    }
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
            _ => return Err(OAuthError::UnsupportedMediaType),
        }
        Ok(params)
    }
}

/// The members of a JSON object in order, repeats kept (`serde_json::Value` keeps the last).
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
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
        p.set("client_id", String::new()).unwrap();
        p.set("client_id", "x".into()).unwrap();
        p.set("scope", "x".into()).unwrap();
        p.set("unknown", "x".into()).unwrap();
        assert_eq!(p.resources, vec!["a", "b"]);
        assert!(matches!(p.set("scope", "y".into()), Err(OAuthError::InvalidRequest(_))));
    }

    #[test]
    fn an_empty_scope_or_target_is_refused_not_widened() {
        let form = |body: &str| Params::parse("application/x-www-form-urlencoded", body.as_bytes());
        assert!(matches!(form("scope="), Err(OAuthError::InvalidScope(_))));
        assert!(matches!(form("resource="), Err(OAuthError::InvalidTarget(_))));
        assert!(matches!(form("audience="), Err(OAuthError::InvalidTarget(_))));
        let json = |body: &str| Params::parse("application/json", body.as_bytes());
        assert!(matches!(json(r#"{"scope": ""}"#), Err(OAuthError::InvalidScope(_))));
        assert!(matches!(
            json(r#"{"resource": ["https://a.example", ""]}"#),
            Err(OAuthError::InvalidTarget(_))
        ));
    }

    #[test]
    fn a_json_key_given_twice_is_refused() {
        let json = |body: &str| Params::parse("application/json", body.as_bytes());
        for twice in [
            r#"{"scope": "read", "scope": "write"}"#,
            r#"{"client_id": "cli_a", "client_id": "cli_b"}"#,
            r#"{"resource": "https://a.example", "resource": "https://b.example"}"#,
            r#"{"x": "1", "x": "2"}"#,
        ] {
            assert!(
                matches!(json(twice), Err(OAuthError::InvalidRequest(e)) if e.contains("repeated")),
                "{twice}"
            );
        }
        let p = json(r#"{"scope": "read", "resource": ["https://a.example", "https://b.example"]}"#).unwrap();
        assert_eq!(p.resources.len(), 2);
        assert!(matches!(json("[1]"), Err(OAuthError::InvalidRequest(e)) if e.contains("object")));
        assert!(matches!(json("{"), Err(OAuthError::InvalidRequest(e)) if e.contains("not valid JSON")));
    }
}
