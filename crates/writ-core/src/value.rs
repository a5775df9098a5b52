//! Validated values. Each type can only be built through its parser, so a value that exists is
//! valid ("parse, don't validate").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Invalid;

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                Self::parse(s)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Whether `c` has no place in text a person reads: a control character (NUL, CR, LF, …), a line
/// or paragraph separator, or a bidirectional formatting mark (U+061C, U+200E/F, U+202A–E,
/// U+2066–9), which can make a name read differently from what it is (Trojan Source).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// A display name (org, resource, client): 1..=200 characters after trimming, no control
/// characters or bidirectional marks ([`is_unsafe_char`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);
string_value!(Name);

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Invalid::new("name", "must not be empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new("name", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if s.chars().any(is_unsafe_char) {
            return Err(Invalid::new("name", "must not contain control characters or bidirectional marks"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// An org slug: 2..=63 characters of `a-z`, `0-9` and `-`, starting with a letter and not ending
/// with `-` (a DNS label, so it can name a subdomain).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);
string_value!(Slug);

impl Slug {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let b = s.as_bytes();
        if !(2..=63).contains(&b.len()) {
            return Err(Invalid::new("slug", "must be 2 to 63 characters"));
        }
        if !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-') {
            return Err(Invalid::new("slug", "may contain only a-z, 0-9 and -"));
        }
        if !b[0].is_ascii_lowercase() || b[b.len() - 1] == b'-' {
            return Err(Invalid::new("slug", "must start with a letter and not end with -"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// An e-mail address, lower-cased. Deliberately loose (one `@`, non-empty parts, no spaces): the
/// only real check of an address is a message that arrives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);
string_value!(Email);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let ok = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || is_unsafe_char(c))
            && matches!(s.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.contains('@')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if !ok {
            return Err(Invalid::new("email", "must be an address like name@example.com"));
        }
        Ok(Self(s.to_lowercase()))
    }
}

/// The vendor's own id for a person (its user table's key), unique within an org: 1..=255 bytes,
/// no spaces at either end, no control characters or bidirectional marks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalId(String);
string_value!(ExternalId);

impl ExternalId {
    pub const MAX_LEN: usize = 255;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.is_empty() || s.len() > Self::MAX_LEN || s.trim() != s {
            return Err(Invalid::new("external_id", "must be 1 to 255 bytes with no spaces at either end"));
        }
        if s.chars().any(is_unsafe_char) {
            return Err(Invalid::new(
                "external_id",
                "must not contain control characters or bidirectional marks",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A person's new password: 12 to 256 characters (NIST SP 800-63B: long, any characters, no
/// composition rules; the upper bound keeps the slow hash's input bounded), no control
/// characters. `Debug` never prints it, and it is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let n = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(Invalid::new(
                "password",
                format!("must be {} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(Invalid::new("password", "must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// One scope token, RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, at most 128
/// characters (a limit of ours, so a scope list stays a reasonable size).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeName(String);
string_value!(ScopeName);

impl ScopeName {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(Invalid::new("scope name", format!("must be 1 to {} characters", Self::MAX_LEN)));
        }
        if !s.bytes().all(is_scope_char) {
            return Err(Invalid::new(
                "scope name",
                "may contain only printable ASCII except space, `\"` and `\\` (RFC 6749 §3.3)",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// `%x21 / %x23-5B / %x5D-7E`: visible ASCII except `"` and `\`.
pub fn is_scope_char(c: u8) -> bool {
    c == 0x21 || (0x23..=0x5b).contains(&c) || (0x5d..=0x7e).contains(&c)
}

/// A set of scopes, written as RFC 6749 §3.3 `scope = scope-token *( SP scope-token )`. Parsing is
/// strict: tokens are separated by exactly one space, with none leading or trailing, and the empty
/// string is not a scope. Duplicates collapse; the written form is sorted, so it is deterministic.
/// Held as a sorted vector: a set holds a few scopes, and every cached client holds sets, where a
/// B-tree would spend a whole node on each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(pub(crate) Vec<ScopeName>);

impl ScopeSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.is_empty() {
            return Err(Invalid::new("scope", "must name at least one scope"));
        }
        s.split(' ').map(ScopeName::parse).collect()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.binary_search_by(|s| s.as_str().cmp(scope)).is_ok()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(s.as_str()))
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.iter().filter(|s| other.contains(s.as_str())).cloned().collect())
    }

    pub fn union_with(&mut self, other: &ScopeSet) {
        for s in &other.0 {
            self.insert(s.clone());
        }
    }

    pub fn difference(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.iter().filter(|s| !other.contains(s.as_str())).cloned().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ScopeName> {
        self.0.iter()
    }

    pub fn insert(&mut self, scope: ScopeName) {
        if let Err(at) = self.0.binary_search(&scope) {
            self.0.insert(at, scope);
        }
    }
}

impl FromIterator<ScopeName> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = ScopeName>>(iter: I) -> Self {
        let mut scopes: Vec<ScopeName> = iter.into_iter().collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes.shrink_to_fit();
        Self(scopes)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for ScopeSet {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        Self::parse(s)
    }
}

/// Serialized as a JSON array of scope names (the admin API's form); tokens use the
/// space-separated `Display` form.
impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<ScopeName>::deserialize(d)?.into_iter().collect())
    }
}

/// A resource identifier: the audience of its tokens. An absolute URI (RFC 8707 §2: "MUST be an
/// absolute URI … MUST NOT include a fragment component"), such as
/// `https://api.example.com/billing` or `urn:writ:admin`, at most 2048 bytes. `http:` is refused
/// except for loopback hosts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceUri(String);
string_value!(ResourceUri);

impl ResourceUri {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("resource identifier", why.to_owned());
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad("must be 1 to 2048 characters"));
        }
        if !s.bytes().all(|c| c.is_ascii_graphic()) {
            return Err(bad("must be printable ASCII without spaces"));
        }
        if s.contains('#') {
            return Err(bad("must not contain a fragment (RFC 8707 §2)"));
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(|| bad("must be an absolute URI"))?;
        let scheme_ok = scheme.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
        if !scheme_ok || rest.is_empty() {
            return Err(bad("must be an absolute URI"));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "https" | "http" => {
                let host = rest
                    .strip_prefix("//")
                    .map(|r| r.split(['/', '?']).next().unwrap_or(""))
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| bad("an http(s) identifier needs a host"))?;
                let loopback = ["localhost", "127.0.0.1", "[::1]"]
                    .iter()
                    .any(|l| host == *l || host.starts_with(&format!("{l}:")));
                if scheme.eq_ignore_ascii_case("http") && !loopback {
                    return Err(bad("must use https (http only for localhost)"));
                }
            }
            _ => {}
        }
        Ok(Self(s.to_owned()))
    }
}

/// A URL Writ fetches (a client's `jwks_uri`, a trusted issuer's documents): `https://`, or
/// `http://` on a loopback host, with no user info and no fragment, at most 2048 bytes. Whether a
/// loopback host may be fetched at all is the fetcher's setting (`writ_app::fetch`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FetchUrl(String);
string_value!(FetchUrl);

impl FetchUrl {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("URL", why.to_owned());
        let uri = ResourceUri::parse(s).map_err(|e| bad(&e.to_string()))?;
        let rest = ["https://", "http://"]
            .iter()
            .find_map(|scheme| {
                uri.as_str()
                    .get(..scheme.len())
                    .filter(|p| p.eq_ignore_ascii_case(scheme))
                    .map(|_| &uri.as_str()[scheme.len()..])
            })
            .ok_or_else(|| bad("must be an https URL"))?;
        if rest.split(['/', '?']).next().unwrap_or("").contains('@') {
            return Err(bad("must not carry user info"));
        }
        Ok(Self(uri.as_str().to_owned()))
    }
}

/// A token lifetime in seconds, within 300..=86400 (docs/admin-api.md); 3600 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenTtl(u32);

/// How far clocks may disagree: verifiers accept a token this long after its `exp` (and before its
/// `nbf`), so whatever remembers a token remembers it this long after `exp` too.
pub const CLOCK_LEEWAY_SECONDS: i64 = 30;

/// How long after its issuance a token can still matter: the longest lifetime plus a minute for
/// clocks that disagree (verifiers accept 30 s of skew). A retired signing key stays published this
/// long, and a client's or org's revocation watermark lasts this long.
pub const TOKEN_RELEVANCE_SECONDS: i64 = TokenTtl::MAX as i64 + 60;

impl TokenTtl {
    pub const MIN: u32 = 300;
    pub const MAX: u32 = 86_400;
    pub const DEFAULT: TokenTtl = TokenTtl(3600);

    pub fn new(seconds: u32) -> Result<Self, Invalid> {
        if !(Self::MIN..=Self::MAX).contains(&seconds) {
            return Err(Invalid::new(
                "token ttl",
                format!("must be between {} and {} seconds", Self::MIN, Self::MAX),
            ));
        }
        Ok(Self(seconds))
    }

    pub fn seconds(self) -> u32 {
        self.0
    }
}

impl Default for TokenTtl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Serialize for TokenTtl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for TokenTtl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(u32::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Free-form key/value metadata on orgs and clients, bounded like Stripe's: at most 50 keys, keys
/// of at most 40 characters, string values of at most 500; neither holds a control character or a
/// bidirectional mark ([`is_unsafe_char`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Metadata(serde_json::Map<String, serde_json::Value>);

impl Metadata {
    pub const MAX_KEYS: usize = 50;

    pub fn parse(value: serde_json::Value) -> Result<Self, Invalid> {
        let bad = |why: String| Invalid::new("metadata", why);
        let serde_json::Value::Object(map) = value else {
            return Err(bad("must be an object".into()));
        };
        if map.len() > Self::MAX_KEYS {
            return Err(bad(format!("may hold at most {} keys", Self::MAX_KEYS)));
        }
        for (k, v) in &map {
            if k.is_empty() || k.chars().count() > 40 {
                return Err(bad("keys must be 1 to 40 characters".into()));
            }
            if k.chars().any(is_unsafe_char) {
                return Err(bad("keys must not contain control characters or bidirectional marks".into()));
            }
            match v {
                serde_json::Value::String(s) if s.chars().any(is_unsafe_char) => {
                    return Err(bad(format!(
                        "value of `{k}` must not contain control characters or bidirectional marks"
                    )));
                }
                serde_json::Value::String(s) if s.chars().count() <= 500 => {}
                _ => {
                    return Err(bad(format!("value of `{k}` must be a string of at most 500 characters")));
                }
            }
        }
        Ok(Self(map))
    }

    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What happens when a client goes over its hourly or daily quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaMode {
    /// Refuse with `429` until the window ends.
    Enforce,
    /// Issue anyway; log and count it (to see who a quota would stop before enforcing it).
    LogOnly,
}

impl QuotaMode {
    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        match s {
            "enforce" => Ok(Self::Enforce),
            "log_only" => Ok(Self::LogOnly),
            _ => Err(crate::Invalid::new("quota mode", "must be enforce or log_only")),
        }
    }
}

/// Token-endpoint limits (docs/tokens.md, "Rate limits"), as a client or an org overrides them.
/// Every field is optional and inherits: a client's own value first, then its org's, then the
/// deployment's settings. 0 means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Tokens per second, sustained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<u32>,
    /// Tokens at once, above the sustained rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Tokens per clock hour (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_hour: Option<u32>,
    /// Tokens per day (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_mode: Option<QuotaMode>,
}

impl RateLimits {
    /// The largest rate or burst, per second.
    pub const MAX_RATE: u32 = 1_000_000;
    /// The largest quota, per hour or day.
    pub const MAX_QUOTA: u32 = 1_000_000_000;

    /// Checks the bounds; the error names the field.
    pub fn validate(self) -> Result<Self, Invalid> {
        for (field, value, max) in [
            ("per_second", self.per_second, Self::MAX_RATE),
            ("burst", self.burst, Self::MAX_RATE),
            ("per_hour", self.per_hour, Self::MAX_QUOTA),
            ("per_day", self.per_day, Self::MAX_QUOTA),
        ] {
            if value.is_some_and(|v| v > max) {
                return Err(Invalid::new(field, format!("must be at most {max}")));
            }
        }
        if self.burst == Some(0) {
            return Err(Invalid::new("burst", "must be at least 1"));
        }
        Ok(self)
    }

    /// Each field from `self`, else from `fallback`.
    pub fn or(self, fallback: Self) -> Self {
        Self {
            per_second: self.per_second.or(fallback.per_second),
            burst: self.burst.or(fallback.burst),
            per_hour: self.per_hour.or(fallback.per_hour),
            per_day: self.per_day.or(fallback.per_day),
            quota_mode: self.quota_mode.or(fallback.quota_mode),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_slugs() {
        assert_eq!(Name::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\u{7}b").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Slug::parse("acme-inc").is_ok());
        for bad in ["a", "Acme", "acme-", "-acme", "1acme", "ac me", "acme_inc"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_a_person_reads_holds_no_control_characters_or_bidirectional_marks() {
        for bad in
            ["a\u{0}b", "a\rb", "a\nb", "a\u{202E}b", "a\u{2066}b", "a\u{200F}b", "a\u{2028}b", "a\u{61C}b"]
        {
            assert!(Name::parse(bad).is_err(), "{bad:?}");
            assert!(Email::parse(&format!("{bad}@example.com")).is_err(), "{bad:?}");
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
            assert!(Metadata::parse(serde_json::json!({ "k": bad })).is_err(), "{bad:?}");
            assert!(Metadata::parse(serde_json::json!({ bad: "v" })).is_err(), "{bad:?}");
        }
        // Other scripts, right-to-left ones included, are names like any other.
        for ok in ["Ünïcödé GmbH", "شركة", "株式会社", "a\u{200D}b"] {
            assert!(Name::parse(ok).is_ok(), "{ok}");
        }
        assert!(Metadata::parse(serde_json::json!({ "team": "payments — EU" })).is_ok());
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse("Ann@Example.com").unwrap().as_str(), "ann@example.com");
        for bad in ["ann", "@example.com", "ann@", "ann@example", "a b@example.com", "a@b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_uris() {
        for ok in ["https://api.example.com/billing", "urn:writ:admin", "http://localhost:8080/x"] {
            assert!(ResourceUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "api.example.com",
            "https://api.example.com/#frag",
            "http://api.example.com",
            "https:///nohost",
            "https://a b",
            "1http://x",
        ] {
            assert!(ResourceUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ttl_bounds() {
        assert_eq!(TokenTtl::default().seconds(), 3600);
        assert!(TokenTtl::new(299).is_err());
        assert!(TokenTtl::new(300).is_ok());
        assert!(TokenTtl::new(86_400).is_ok());
        assert!(TokenTtl::new(86_401).is_err());
        assert!(serde_json::from_str::<TokenTtl>("100").is_err());
    }

    #[test]
    fn metadata_limits() {
        assert!(Metadata::parse(serde_json::json!({"team": "billing"})).is_ok());
        assert!(Metadata::parse(serde_json::json!(["x"])).is_err());
        assert!(Metadata::parse(serde_json::json!({"n": 1})).is_err());
        let many: serde_json::Map<_, _> =
            (0..51).map(|i| (format!("k{i}"), serde_json::json!("v"))).collect();
        assert!(Metadata::parse(serde_json::Value::Object(many)).is_err());
    }

    #[test]
    fn scope_set_parsing_is_strict() {
        let s = ScopeSet::parse("b a a").unwrap();
        assert_eq!(s.to_string(), "a b");
        for bad in ["", " a", "a ", "a  b", "a\tb", "a\"b", "a\\b", "é"] {
            assert!(ScopeSet::parse(bad).is_err(), "{bad:?}");
        }
    }

    fn scope_token() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof![Just(0x21u8), 0x23u8..=0x5b, 0x5du8..=0x7e], 1..=20)
            .prop_map(|b| String::from_utf8(b).unwrap())
    }

    proptest! {
        #[test]
        fn valid_scope_lists_parse_and_round_trip(tokens in proptest::collection::vec(scope_token(), 1..8)) {
            let written = tokens.join(" ");
            let set = ScopeSet::parse(&written).unwrap();
            for t in &tokens {
                prop_assert!(set.contains(t));
            }
            prop_assert!(set.len() <= tokens.len());
            prop_assert_eq!(ScopeSet::parse(&set.to_string()).unwrap(), set);
        }

        #[test]
        fn any_forbidden_character_is_rejected(
            head in scope_token(),
            bad in prop_oneof![Just(b' '), Just(b'"'), Just(b'\\'), 0u8..0x20, Just(0x7fu8)],
            tail in scope_token(),
        ) {
            let mut s = head.clone().into_bytes();
            s.push(bad);
            s.extend(tail.bytes());
            let s = String::from_utf8(s).unwrap();
            prop_assert!(ScopeName::parse(&s).is_err());
            // A space is the separator: as a set it is fine once, never doubled or at the ends.
            if bad == b' ' {
                prop_assert!(ScopeSet::parse(&s).is_ok());
                let trailing = format!("{s} ");
                let doubled = format!("{head}  {tail}");
                prop_assert!(ScopeSet::parse(&trailing).is_err());
                prop_assert!(ScopeSet::parse(&doubled).is_err());
            } else {
                prop_assert!(ScopeSet::parse(&s).is_err());
            }
        }

        #[test]
        fn parsing_never_panics(s in ".{0,64}") {
            let _ = ScopeSet::parse(&s);
        }
    }

    #[test]
    fn rate_limits_inherit_field_by_field_and_name_the_bad_field() {
        let client = RateLimits { per_second: Some(5), ..Default::default() };
        let org = RateLimits { per_second: Some(50), per_day: Some(1000), ..Default::default() };
        let merged = client.or(org);
        assert_eq!((merged.per_second, merged.per_day, merged.burst), (Some(5), Some(1000), None));
        let parsed: RateLimits =
            serde_json::from_str(r#"{"per_hour": 10, "quota_mode": "log_only"}"#).unwrap();
        assert_eq!(parsed.quota_mode, Some(QuotaMode::LogOnly));
        assert_eq!(serde_json::to_string(&parsed).unwrap(), r#"{"per_hour":10,"quota_mode":"log_only"}"#);
        assert!(serde_json::from_str::<RateLimits>(r#"{"per_minute": 1}"#).is_err());
        let e = RateLimits { burst: Some(0), ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("burst"), "{e}");
        assert!(
            RateLimits { per_day: Some(RateLimits::MAX_QUOTA + 1), ..Default::default() }.validate().is_err()
        );
    }
}
