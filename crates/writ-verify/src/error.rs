//! What a resource server answers when a token does not pass (RFC 6750 §3).

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No bearer token at all: `401` with a bare challenge (RFC 6750 §3.1 says no error code then).
    #[error("a bearer token is required")]
    MissingToken,
    /// The token is malformed, expired, not yet valid, wrongly signed, for another issuer or
    /// audience, or revoked: `401 invalid_token`.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token is good but lacks a scope the route requires: `403 insufficient_scope`, naming
    /// every scope the route requires.
    #[error("insufficient scope: requires {0}")]
    InsufficientScope(String),
}

impl VerifyError {
    /// The HTTP status to answer: 401 or 403.
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => 401,
            Self::InsufficientScope(_) => 403,
        }
    }

    /// The RFC 6750 error code, if any.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken => None,
            Self::InvalidToken(_) => Some("invalid_token"),
            Self::InsufficientScope(_) => Some("insufficient_scope"),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3). `resource_metadata` is the URL of the API's
    /// RFC 9728 protected-resource metadata, so a client can discover where to get a token;
    /// `scope` is what the route needs, said on a `401` too so the client asks for it at once (as
    /// MCP clients do). An `insufficient_scope` names every scope the route needs, not only the
    /// missing ones: the client's next token must carry them all (step-up).
    pub fn www_authenticate(&self, resource_metadata: Option<&str>, scope: Option<&str>) -> String {
        let quote = |s: &str| s.replace(['"', '\\'], "'");
        let mut params = Vec::new();
        if let Some(url) = resource_metadata {
            params.push(format!("resource_metadata=\"{}\"", quote(url)));
        }
        let scope = match self {
            Self::MissingToken => scope,
            Self::InvalidToken(why) => {
                params.push("error=\"invalid_token\"".into());
                params.push(format!("error_description=\"{}\"", quote(why)));
                scope
            }
            Self::InsufficientScope(needed) => {
                params.push("error=\"insufficient_scope\"".into());
                Some(needed.as_str())
            }
        };
        if let Some(scope) = scope.filter(|s| !s.is_empty()) {
            params.push(format!("scope=\"{}\"", quote(scope)));
        }
        if params.is_empty() { "Bearer".into() } else { format!("Bearer {}", params.join(", ")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(VerifyError::MissingToken.www_authenticate(None, None), "Bearer");
        assert_eq!(
            VerifyError::MissingToken.www_authenticate(Some("https://api.example.com/m"), Some("a b")),
            "Bearer resource_metadata=\"https://api.example.com/m\", scope=\"a b\""
        );
        assert_eq!(
            VerifyError::InvalidToken("token \"expired\"".into()).www_authenticate(None, Some("a")),
            "Bearer error=\"invalid_token\", error_description=\"token 'expired'\", scope=\"a\""
        );
        let e = VerifyError::InsufficientScope("invoices:read invoices:write".into());
        assert_eq!(e.status(), 403);
        assert_eq!(
            e.www_authenticate(
                Some("https://api.example.com/.well-known/oauth-protected-resource"),
                Some("x")
            ),
            "Bearer resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\", \
             error=\"insufficient_scope\", scope=\"invoices:read invoices:write\""
        );
    }
}
