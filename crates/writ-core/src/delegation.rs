//! The rules of delegation that need no I/O (docs/delegation.md): which redirect URIs a client
//! may register and how a presented one matches (exactly, except the port of a loopback URI,
//! RFC 8252 §7.3), and PKCE (RFC 7636, S256 only, as OAuth 2.1 requires).

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Invalid, is_unsafe_char};

/// A registered redirect URI: `https://…`; `http://` on a loopback host (`127.0.0.1`, `[::1]` or
/// `localhost`: native apps listening on a port they pick, RFC 8252 §7.3); or a private-use
/// scheme named like a domain (`com.example.app:/callback`, §7.1). Never a fragment or user info.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub const MAX_LEN: usize = 2000;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("redirect_uri", why.to_owned());
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad("must be 1 to 2000 characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || is_unsafe_char(c)) {
            return Err(bad("must not contain spaces or control characters"));
        }
        if s.contains('#') {
            return Err(bad("must not have a fragment (RFC 6749 §3.1.2)"));
        }
        let parts = Parts::of(s).ok_or_else(|| bad("must be an absolute URI"))?;
        match parts.scheme.as_str() {
            "https" => {}
            "http" if parts.loopback() => {}
            "http" => {
                return Err(bad("http is allowed only on a loopback host (127.0.0.1, [::1], localhost)"));
            }
            scheme if scheme.contains('.') => {}
            _ => {
                return Err(bad(
                    "must be https, http on a loopback host, or a private-use scheme like com.example.app",
                ));
            }
        }
        if parts.authority.as_deref().is_some_and(|a| a.contains('@')) {
            return Err(bad("must not carry user info"));
        }
        if matches!(parts.scheme.as_str(), "https" | "http") && parts.host().is_none_or(str::is_empty) {
            return Err(bad("must name a host"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host shown on the consent page (`app.example.com`; the scheme for a private-use URI).
    pub fn host(&self) -> String {
        Parts::of(&self.0).map_or_else(String::new, |p| p.host().map_or(p.scheme.clone(), str::to_owned))
    }

    /// Whether this is a loopback URI (a native app on the person's own machine).
    pub fn is_loopback(&self) -> bool {
        Parts::of(&self.0).is_some_and(|p| p.scheme == "http" && p.loopback())
    }

    /// Whether the `presented` redirect URI is this one: the same string, except that a loopback
    /// URI matches on any port (RFC 8252 §7.3).
    pub fn matches(&self, presented: &str) -> bool {
        if self.0 == presented {
            return true;
        }
        let (Some(mine), Some(theirs)) = (Parts::of(&self.0), Parts::of(presented)) else { return false };
        mine.scheme == "http"
            && mine.loopback()
            && theirs.scheme == "http"
            && mine.host() == theirs.host()
            && mine.rest == theirs.rest
            && theirs.port().is_none_or(|p| p.parse::<u16>().is_ok())
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the vendor's own login page is (`login_url`, docs/delegation.md): `https`, or `http` on a
/// loopback host, with a host, no user info and no fragment, at most 2000 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUrl(String);

impl LoginUrl {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let uri = RedirectUri::parse(s).map_err(|e| Invalid::new("login_url", e.reason))?;
        if !matches!(Parts::of(uri.as_str()).map(|p| p.scheme).as_deref(), Some("https" | "http")) {
            return Err(Invalid::new("login_url", "must be https, or http on a loopback host"));
        }
        Ok(Self(uri.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoginUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A URI cut into its scheme (lower-cased), authority and the rest (path and query).
struct Parts {
    scheme: String,
    authority: Option<String>,
    rest: String,
}

impl Parts {
    fn of(s: &str) -> Option<Self> {
        let (scheme, rest) = s.split_once(':')?;
        let valid_scheme = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return None;
        }
        let (authority, rest) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find(['/', '?']).unwrap_or(after.len());
                (Some(after[..end].to_owned()), after[end..].to_owned())
            }
            None => (None, rest.to_owned()),
        };
        Some(Self { scheme: scheme.to_ascii_lowercase(), authority, rest })
    }

    /// The host, without the port (`[::1]` keeps its brackets), lower-cased.
    fn host(&self) -> Option<&str> {
        let a = self.authority.as_deref()?;
        if a.starts_with('[') {
            return a.find(']').map(|i| &a[..=i]);
        }
        Some(a.rsplit_once(':').map_or(a, |(h, _)| h))
    }

    fn port(&self) -> Option<&str> {
        let a = self.authority.as_deref()?;
        let after_host = if a.starts_with('[') { &a[a.find(']')? + 1..] } else { a };
        after_host.rsplit_once(':').map(|(_, p)| p)
    }

    fn loopback(&self) -> bool {
        self.host()
            .is_some_and(|h| matches!(h.to_ascii_lowercase().as_str(), "127.0.0.1" | "[::1]" | "localhost"))
    }
}

/// A PKCE code challenge (RFC 7636 §4.2): the S256 hash of the verifier, base64url, 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// `code_challenge` with `code_challenge_method` (which must be `S256`: `plain` gives no
    /// protection against a stolen authorization request, and OAuth 2.1 drops it).
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, Invalid> {
        match method {
            Some("S256") => {}
            None => return Err(Invalid::new("code_challenge_method", "must be S256 (PKCE is required)")),
            Some(_) => return Err(Invalid::new("code_challenge_method", "only S256 is supported")),
        }
        let ok = challenge.len() == 43
            && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(Invalid::new(
                "code_challenge",
                "must be the 43-character base64url SHA-256 of the verifier",
            ));
        }
        Ok(Self(challenge.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` (43 to 128 unreserved characters, RFC 7636 §4.1) hashes to this
    /// challenge; compared in constant time.
    pub fn verifies(&self, verifier: &str) -> bool {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        let computed =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        well_formed && bool::from(computed.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_url_is_a_web_page_writ_may_send_people_to() {
        for good in [
            "https://app.example.com/writ/login?tenant=1",
            "http://127.0.0.1:8000/login",
            "http://localhost/l",
        ] {
            assert_eq!(LoginUrl::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "http://app.example.com/login",
            "com.example.app:/login",
            "javascript:alert(1)",
            "https://user:pw@app.example.com/",
            "https://app.example.com/login#x",
            "/relative",
            "",
        ] {
            assert!(LoginUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uris_are_https_loopback_or_private_use() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=a",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8765/callback",
            "http://[::1]:9000/cb",
            "http://localhost:3000/oauth/callback",
            "com.example.app:/oauth2redirect",
            "com.example.app://callback",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/callback",
            "https://app.example.com/cb#frag",
            "https://user:pw@app.example.com/cb",
            "https:///nohost",
            "javascript:alert(1)",
            "myapp:/cb",
            "/relative",
            "https://app.example.com/a b",
            "",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_redirect_uri_matches_exactly_except_a_loopback_port() {
        let web = RedirectUri::parse("https://app.example.com/cb").unwrap();
        assert!(web.matches("https://app.example.com/cb"));
        for other in [
            "https://app.example.com/cb/",
            "https://app.example.com/CB",
            "https://app.example.com:444/cb",
            "https://app.example.com/cb?x=1",
        ] {
            assert!(!web.matches(other), "{other}");
        }
        let native = RedirectUri::parse("http://127.0.0.1/callback").unwrap();
        assert!(native.matches("http://127.0.0.1:51004/callback"));
        assert!(native.matches("http://127.0.0.1/callback"));
        assert!(!native.matches("http://127.0.0.1:51004/other"));
        assert!(!native.matches("http://localhost:51004/callback"), "another host");
        assert!(!native.matches("http://127.0.0.1:notaport/callback"));
        assert!(!native.matches("https://127.0.0.1:51004/callback"));
        let v6 = RedirectUri::parse("http://[::1]:1/cb").unwrap();
        assert!(v6.matches("http://[::1]:2/cb"));
        assert_eq!(web.host(), "app.example.com");
        assert_eq!(RedirectUri::parse("com.example.app:/cb").unwrap().host(), "com.example.app");
        assert!(native.is_loopback() && !web.is_loopback());
    }

    #[test]
    fn pkce_is_s256_and_checks_the_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256")).unwrap();
        assert!(challenge.verifies(verifier));
        assert!(!challenge.verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
        assert!(!challenge.verifies("short"));
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("plain")).is_err());
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None).is_err());
        assert!(CodeChallenge::parse("too-short", Some("S256")).is_err());
    }
}
