//! Authentication challenges (RFC 9110 §11.6.1): what a `401` or `403` asks the caller for, in
//! `WWW-Authenticate`. One type for every scheme Writ speaks, so an answer names its scheme and
//! parameters rather than a flag per case.

use std::fmt;

/// The value of a `WWW-Authenticate` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// RFC 7617: client authentication with HTTP Basic (RFC 6749 §2.3.1).
    Basic,
    /// RFC 6750 §3: a bearer token is required, or the one presented falls short.
    Bearer {
        realm: Option<&'static str>,
        /// `invalid_request`, `invalid_token` or `insufficient_scope`.
        error: Option<&'static str>,
        description: Option<String>,
        /// The scopes the call needs (space-separated).
        scope: Option<String>,
    },
    /// RFC 9449 §7.1: a DPoP-bound token is required, with a proof signed by one of `algs`.
    DPoP {
        algs: &'static str,
        /// `invalid_token` or `invalid_dpop_proof`.
        error: Option<&'static str>,
        description: Option<String>,
    },
}

/// The realm of every challenge Writ makes.
pub const REALM: &str = "writ";

impl Challenge {
    /// A bearer challenge for a token that is not valid here (RFC 6750 §3.1 `invalid_token`).
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::Bearer {
            realm: None,
            error: Some("invalid_token"),
            description: Some(description.into()),
            scope: None,
        }
    }

    /// A bearer challenge naming the scope the call needs (RFC 6750 §3.1 `insufficient_scope`).
    pub fn insufficient_scope(scope: impl Into<String>) -> Self {
        Self::Bearer {
            realm: None,
            error: Some("insufficient_scope"),
            description: None,
            scope: Some(scope.into()),
        }
    }

    /// A bearer challenge to a caller that sent no token: no error code (RFC 6750 §3.1).
    pub fn bearer_required() -> Self {
        Self::Bearer { realm: Some(REALM), error: None, description: None, scope: None }
    }
}

/// Writes `name="value"` as an RFC 9110 §5.6.4 quoted string (`"` and `\` escaped).
fn param(f: &mut fmt::Formatter<'_>, first: &mut bool, name: &str, value: &str) -> fmt::Result {
    f.write_str(if *first { " " } else { ", " })?;
    *first = false;
    write!(f, "{name}=\"")?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        match self {
            Self::Basic => {
                f.write_str("Basic")?;
                param(f, &mut first, "realm", REALM)?;
                param(f, &mut first, "charset", "UTF-8")
            }
            Self::Bearer { realm, error, description, scope } => {
                f.write_str("Bearer")?;
                for (name, value) in [
                    ("realm", realm.map(str::to_owned)),
                    ("error", error.map(str::to_owned)),
                    ("error_description", description.clone()),
                    ("scope", scope.clone()),
                ] {
                    if let Some(v) = value {
                        param(f, &mut first, name, &v)?;
                    }
                }
                Ok(())
            }
            Self::DPoP { algs, error, description } => {
                f.write_str("DPoP")?;
                param(f, &mut first, "algs", algs)?;
                if let Some(e) = error {
                    param(f, &mut first, "error", e)?;
                }
                if let Some(d) = description {
                    param(f, &mut first, "error_description", d)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_renders_its_parameters() {
        assert_eq!(Challenge::Basic.to_string(), r#"Basic realm="writ", charset="UTF-8""#);
        assert_eq!(Challenge::bearer_required().to_string(), r#"Bearer realm="writ""#);
        assert_eq!(
            Challenge::invalid_token("expired").to_string(),
            r#"Bearer error="invalid_token", error_description="expired""#
        );
        assert_eq!(
            Challenge::insufficient_scope("admin:orgs:read").to_string(),
            r#"Bearer error="insufficient_scope", scope="admin:orgs:read""#
        );
        let dpop =
            Challenge::DPoP { algs: "ES256 EdDSA", error: Some("invalid_dpop_proof"), description: None };
        assert_eq!(dpop.to_string(), r#"DPoP algs="ES256 EdDSA", error="invalid_dpop_proof""#);
    }

    #[test]
    fn quotes_in_a_description_cannot_end_the_parameter() {
        let c = Challenge::invalid_token(r#"bad "kid" \ here"#);
        assert_eq!(c.to_string(), r#"Bearer error="invalid_token", error_description="bad \"kid\" \\ here""#);
    }
}
