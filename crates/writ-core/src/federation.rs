//! Workload identity federation (docs/clients.md): identity providers the operator trusts, and the
//! federated credentials that say which of their identities stand for a client — an issuer, a
//! subject (exact, or a pattern with `*`), an optional audience and claim equalities.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::{ClientId, FederatedCredentialId, Invalid, KeySource, Name, ResourceUri, TrustedIssuerId};

/// An identity provider whose tokens may authenticate clients (operator only).
#[derive(Debug, Clone, PartialEq)]
pub struct TrustedIssuer {
    pub id: TrustedIssuerId,
    /// The `iss` of its tokens, compared exactly.
    pub issuer: ResourceUri,
    pub name: Name,
    /// Registered (a cluster whose keys are not public) or at a URL; `None`: found through
    /// `{issuer}/.well-known/openid-configuration` → `jwks_uri`.
    pub keys: Option<KeySource>,
    /// The longest a token of it may live (`exp - iat`), in seconds.
    pub max_token_lifetime: u32,
    /// Each token (its `jti`) is accepted once. Off for issuers whose tokens are meant to be
    /// reused until they expire (Kubernetes projected service-account tokens).
    pub single_use: bool,
    /// Its ID-JAGs (enterprise-managed authorization, docs/mcp.md) act for this org's people.
    pub id_jag: Option<IdJagBinding>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Which org's people an issuer's ID-JAGs (Identity Assertion JWT Authorization Grants) name, and
/// by which claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdJagBinding {
    pub org_id: crate::OrgId,
    pub user_claim: UserClaim,
}

/// The claim of an ID-JAG that names the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserClaim {
    /// `sub`: the person's `external_id` in the org.
    Sub,
    /// `email`: the person's email in the org.
    Email,
}

impl UserClaim {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sub => "sub",
            Self::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "sub" => Ok(Self::Sub),
            "email" => Ok(Self::Email),
            _ => Err(Invalid::new("id_jag.user_claim", "must be sub or email".to_owned())),
        }
    }
}

impl TrustedIssuer {
    pub const MIN_LIFETIME: u32 = 60;
    pub const MAX_LIFETIME: u32 = 86_400;
    pub const DEFAULT_LIFETIME: u32 = 3_600;

    pub fn check_lifetime(seconds: u32) -> Result<u32, Invalid> {
        if (Self::MIN_LIFETIME..=Self::MAX_LIFETIME).contains(&seconds) {
            Ok(seconds)
        } else {
            Err(Invalid::new("max token lifetime", "must be 60 to 86400 seconds"))
        }
    }
}

/// A subject, exact or with `*` standing for any run of characters
/// (`repo:acme/app:ref:refs/heads/*`, `system:serviceaccount:payments:*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPattern(String);

impl SubjectPattern {
    pub const MAX_LEN: usize = 512;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("subject", why.to_owned());
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad("must be 1 to 512 characters"));
        }
        if s.chars().any(|c| c.is_control() || crate::is_unsafe_char(c)) {
            return Err(bad("must not contain control or bidirectional characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern is nothing but `*`: it matches every subject.
    pub fn is_wildcard(&self) -> bool {
        self.0.chars().all(|c| c == '*')
    }

    /// Whether `subject` matches: literal parts in order, `*` anything between them.
    pub fn matches(&self, subject: &str) -> bool {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or("");
        let Some(mut rest) = subject.strip_prefix(first) else { return false };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

/// Claims a token must carry with exactly these string values. A name is a claim, or a path into
/// nested objects with dots (`kubernetes.io.namespace`: the `namespace` of `kubernetes.io`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimMatch(BTreeMap<String, String>);

impl ClaimMatch {
    pub const MAX: usize = 10;

    pub fn new(claims: BTreeMap<String, String>) -> Result<Self, Invalid> {
        let bad = |why: String| Invalid::new("claims", why);
        if claims.len() > Self::MAX {
            return Err(bad(format!("at most {} claims", Self::MAX)));
        }
        for (name, value) in &claims {
            if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
                return Err(bad("a claim name is 1 to 200 characters".into()));
            }
            if matches!(name.as_str(), "iss" | "sub" | "aud" | "exp" | "nbf" | "iat" | "jti") {
                return Err(bad(format!("`{name}` is checked already: use `subject` or `audience`")));
            }
            if value.len() > 1000 || value.chars().any(|c| c.is_control() || crate::is_unsafe_char(c)) {
                return Err(bad(format!("the value of `{name}` is at most 1000 printable characters")));
            }
        }
        Ok(Self(claims))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every claim is in `token` with its value.
    pub fn matches(&self, token: &Value) -> bool {
        self.0.iter().all(|(path, want)| claim(token, path).and_then(Value::as_str) == Some(want.as_str()))
    }
}

/// The claim at `path`: a member named `path` itself, else a member named by a prefix of it up to
/// a dot, and the rest of the path inside that.
fn claim<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(path) {
        return Some(found);
    }
    path.match_indices('.').find_map(|(at, _)| claim(object.get(&path[..at])?, &path[at + 1..]))
}

/// Which external identities stand for a client: tokens of `issuer` whose `sub` matches `subject`,
/// whose `aud` names `audience` (or Writ), and that carry `claims`.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedCredential {
    pub id: FederatedCredentialId,
    pub client_id: ClientId,
    pub issuer_id: TrustedIssuerId,
    pub name: Name,
    pub subject: SubjectPattern,
    /// An audience the token may name instead of Writ's issuer or token endpoint.
    pub audience: Option<ResourceUri>,
    pub claims: ClaimMatch,
    pub created_at: OffsetDateTime,
}

impl FederatedCredential {
    /// The most credentials one client holds.
    pub const MAX_PER_CLIENT: usize = 20;

    /// A subject of nothing but `*` must be narrowed by claims, or any identity of the issuer
    /// would stand for the client.
    pub fn check(subject: &SubjectPattern, claims: &ClaimMatch) -> Result<(), Invalid> {
        if subject.is_wildcard() && claims.is_empty() {
            return Err(Invalid::new("subject", "a subject of only `*` needs at least one claim to match"));
        }
        Ok(())
    }

    /// Whether `token` (verified claims) has this credential's subject and claims.
    pub fn matches(&self, token: &Value) -> bool {
        token.get("sub").and_then(Value::as_str).is_some_and(|sub| self.subject.matches(sub))
            && self.claims.matches(token)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn subject_patterns_match_literal_parts_in_order() {
        let p = |s: &str| SubjectPattern::parse(s).unwrap();
        let main = "repo:acme/app:ref:refs/heads/main";
        assert!(p(main).matches(main));
        assert!(!p(main).matches("repo:acme/app:ref:refs/heads/main2"));
        assert!(p("repo:acme/app:*").matches(main));
        assert!(!p("repo:acme/app:*").matches("repo:acme/app2:ref:refs/heads/main"));
        assert!(p("repo:acme/*:ref:refs/heads/main").matches(main));
        assert!(!p("repo:acme/*:ref:refs/heads/main").matches("repo:acme/app:ref:refs/heads/dev"));
        assert!(p("system:serviceaccount:payments:*").matches("system:serviceaccount:payments:api"));
        assert!(!p("system:serviceaccount:payments:*").matches("system:serviceaccount:billing:api"));
        assert!(p("*:a*a").matches("x:aa") && !p("*:a*a").matches("x:a"), "parts never overlap");
        assert!(p("spiffe://example.org/*").matches("spiffe://example.org/ns/prod/sa/api"));
        assert!(p("*").is_wildcard() && !p("a*").is_wildcard());
        assert!(SubjectPattern::parse("").is_err() && SubjectPattern::parse("a\u{202e}b").is_err());
    }

    #[test]
    fn claims_match_exactly_with_dotted_paths_into_objects() {
        let token = json!({
            "repository_owner": "acme",
            "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "api"}},
            "n": 1,
        });
        let m = |pairs: &[(&str, &str)]| {
            ClaimMatch::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()).unwrap()
        };
        assert!(m(&[("repository_owner", "acme")]).matches(&token));
        assert!(!m(&[("repository_owner", "acm")]).matches(&token));
        assert!(
            m(&[("kubernetes.io.namespace", "payments"), ("kubernetes.io.serviceaccount.name", "api")])
                .matches(&token)
        );
        assert!(!m(&[("kubernetes.io.namespace", "billing")]).matches(&token));
        assert!(!m(&[("n", "1")]).matches(&token), "strings only");
        assert!(!m(&[("missing", "")]).matches(&token));
        assert!(ClaimMatch::new([("sub".to_owned(), "x".to_owned())].into()).is_err());
        let star = SubjectPattern::parse("*").unwrap();
        assert!(FederatedCredential::check(&star, &ClaimMatch::default()).is_err());
        assert!(FederatedCredential::check(&star, &m(&[("repository_owner", "acme")])).is_ok());
    }
}
