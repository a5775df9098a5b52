//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP authorization,
//! docs/mcp.md): a client whose `client_id` is an HTTPS URL, which serves the client's metadata.
//! Writ fetches the document and keeps only what it may trust: the URL must be one a client id
//! may be, and the document must name exactly that URL, redirect only where it says, and hold no
//! shared secret (it is public).

use crate::Invalid;
use crate::delegation::RedirectUri;
use crate::value::is_unsafe_char;

/// A `client_id` that names its metadata document: `https`, a host, a path (not just `/`), no
/// `.` or `..` segments, no fragment, no user info, at most 2000 bytes. A query is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientIdUrl(String);

impl ClientIdUrl {
    pub const MAX_LEN: usize = 2000;

    /// Whether `client_id` is meant as a metadata document's URL (as opposed to a registered
    /// client's id): it starts with `https://`.
    pub fn looks_like(client_id: &str) -> bool {
        client_id.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("client_id", why.to_owned());
        if s.len() > Self::MAX_LEN || s.chars().any(|c| c.is_whitespace() || is_unsafe_char(c)) {
            return Err(bad("must be a URL of at most 2000 bytes, without spaces or control characters"));
        }
        let rest = s.strip_prefix("https://").ok_or_else(|| bad("must be an https URL"))?;
        if s.contains('#') {
            return Err(bad("must not have a fragment"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("must name a host, without user info"));
        }
        let path = rest.split('?').next().unwrap_or("");
        if path.len() <= 1 {
            return Err(bad("must have a path (the document's, not the site's root)"));
        }
        if path.split('/').any(|segment| segment == "." || segment == "..") {
            return Err(bad("must not have . or .. path segments"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host (and port) the document is served from: what the consent page shows, and what an
    /// org's allowed hosts are compared with.
    pub fn host(&self) -> &str {
        let rest = &self.0["https://".len()..];
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        if authority.starts_with('[') {
            return authority;
        }
        authority.rsplit_once(':').map_or(authority, |(host, _)| host)
    }
}

impl std::fmt::Display for ClientIdUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether an org lets its people use clients known by their metadata documents, and from which
/// hosts (`orgs.url_clients`; docs/mcp.md). By default it does, from any host: the person still
/// consents, and sees the host. An org narrows it to hosts it trusts, or turns it off.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UrlClients {
    pub allowed: bool,
    /// Hosts (`app.example.com`) or host suffixes (`*.example.com`, which names the subdomains,
    /// not `example.com` itself); empty: any host.
    pub hosts: Vec<String>,
}

impl Default for UrlClients {
    fn default() -> Self {
        Self { allowed: true, hosts: Vec::new() }
    }
}

impl UrlClients {
    /// The most hosts an org lists.
    pub const MAX_HOSTS: usize = 100;

    /// Checks the hosts: lower case DNS names, each optionally `*.`-prefixed.
    pub fn validate(self) -> Result<Self, Invalid> {
        let bad = |why: String| Invalid::new("url_clients.hosts", why);
        if self.hosts.len() > Self::MAX_HOSTS {
            return Err(bad(format!("at most {} hosts", Self::MAX_HOSTS)));
        }
        for host in &self.hosts {
            let name = host.strip_prefix("*.").unwrap_or(host);
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            };
            if name.len() > 253 || !name.split('.').all(label_ok) {
                return Err(bad(format!("{host:?} is not a lower-case host name or *.suffix")));
            }
        }
        Ok(self)
    }

    /// Whether a client that introduced itself may act for the org's people: one whose document is
    /// served from `host`, or (`None`) one that registered itself, which has no host to check and
    /// is allowed only when the org names no hosts.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return self.allowed && self.hosts.is_empty() };
        let host = host.to_ascii_lowercase();
        self.allowed
            && (self.hosts.is_empty()
                || self.hosts.iter().any(|h| match h.strip_prefix("*.") {
                    Some(suffix) => {
                        host.len() > suffix.len() + 1
                            && host.ends_with(suffix)
                            && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                    }
                    None => *h == host,
                }))
    }
}

/// What Writ takes from a client's metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub client_id: ClientIdUrl,
    /// The client's name as it says it (`client_name`), if any: shown beside its host, never
    /// instead of it.
    pub name: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    /// `none` (a public client, the default) or `private_key_jwt` (with `jwks` or `jwks_uri`).
    pub private_key_jwt: bool,
    /// Its keys, for `private_key_jwt`: an inline JWKS document or the URL of one.
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// Whether it asks for refresh tokens (`grant_types` includes `refresh_token`).
    pub refresh: bool,
}

impl ClientMetadata {
    /// The most redirect URIs a document may list.
    pub const MAX_REDIRECT_URIS: usize = 20;

    /// The metadata of the document fetched from `url`: refused unless its `client_id` is `url`
    /// exactly, it lists at least one acceptable redirect URI, and it uses no shared secret.
    pub fn parse(url: &ClientIdUrl, document: &serde_json::Value) -> Result<Self, Invalid> {
        let bad = |what: &'static str, why: &str| Invalid::new(what, why.to_owned());
        let doc = document.as_object().ok_or_else(|| bad("document", "must be a JSON object"))?;
        if doc.get("client_id").and_then(serde_json::Value::as_str) != Some(url.as_str()) {
            return Err(bad("client_id", "must be the document's own URL, exactly"));
        }
        for secret in ["client_secret", "client_secret_expires_at"] {
            if doc.contains_key(secret) {
                return Err(bad("client_secret", "a public document must hold no secret"));
            }
        }
        let private_key_jwt = match doc.get("token_endpoint_auth_method").map(serde_json::Value::as_str) {
            None | Some(Some("none")) => false,
            Some(Some("private_key_jwt")) => true,
            Some(_) => {
                return Err(bad(
                    "token_endpoint_auth_method",
                    "must be none or private_key_jwt (a shared secret cannot be published)",
                ));
            }
        };
        let uris = doc.get("redirect_uris").and_then(serde_json::Value::as_array);
        let uris = uris
            .filter(|u| !u.is_empty() && u.len() <= Self::MAX_REDIRECT_URIS)
            .ok_or_else(|| bad("redirect_uris", "must list 1 to 20 redirect URIs"))?;
        let redirect_uris = uris
            .iter()
            .map(|u| {
                u.as_str().ok_or_else(|| bad("redirect_uris", "must be strings")).and_then(RedirectUri::parse)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let grant_types: Vec<&str> = match doc.get("grant_types") {
            None => vec!["authorization_code"],
            Some(g) => g
                .as_array()
                .map(|g| g.iter().filter_map(serde_json::Value::as_str).collect())
                .ok_or_else(|| bad("grant_types", "must be a list"))?,
        };
        if grant_types.iter().any(|g| !matches!(*g, "authorization_code" | "refresh_token")) {
            return Err(bad("grant_types", "only authorization_code and refresh_token"));
        }
        if !grant_types.contains(&"authorization_code") {
            return Err(bad("grant_types", "must include authorization_code"));
        }
        let name = match doc.get("client_name") {
            None => None,
            Some(n) => {
                let n = n.as_str().map(str::trim).ok_or_else(|| bad("client_name", "must be a string"))?;
                if n.is_empty() || n.chars().count() > 100 || n.chars().any(is_unsafe_char) {
                    return Err(bad("client_name", "must be 1 to 100 characters, no control characters"));
                }
                Some(n.to_owned())
            }
        };
        let jwks = doc.get("jwks").cloned();
        let jwks_uri = match doc.get("jwks_uri") {
            None => None,
            Some(u) => Some(u.as_str().ok_or_else(|| bad("jwks_uri", "must be a string"))?.to_owned()),
        };
        if private_key_jwt && jwks.is_none() == jwks_uri.is_none() {
            return Err(bad("jwks", "private_key_jwt needs exactly one of jwks and jwks_uri"));
        }
        Ok(Self {
            client_id: url.clone(),
            name,
            redirect_uris,
            private_key_jwt,
            jwks,
            jwks_uri,
            refresh: grant_types.contains(&"refresh_token"),
        })
    }

    /// Whether every redirect URI is on the person's own machine (the consent page warns: anyone
    /// can publish a document naming a loopback URI, so the name proves nothing).
    pub fn only_loopback(&self) -> bool {
        self.redirect_uris.iter().all(RedirectUri::is_loopback)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const URL: &str = "https://app.example.com/oauth/client.json";

    #[test]
    fn a_client_id_url_is_https_with_a_path_and_nothing_dubious() {
        for good in [URL, "https://app.example.com:8443/c", "https://app.example.com/c?v=2"] {
            assert_eq!(ClientIdUrl::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(ClientIdUrl::parse("https://app.example.com:8443/c").unwrap().host(), "app.example.com");
        for bad in [
            "http://app.example.com/c",
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/?q",
            "https://app.example.com/a/../c",
            "https://app.example.com/./c",
            "https://app.example.com/c#f",
            "https://user@app.example.com/c",
            "https:///c",
            "https://app.example.com/c d",
        ] {
            assert!(ClientIdUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(ClientIdUrl::looks_like("HTTPS://x") && !ClientIdUrl::looks_like("cli_01"));
    }

    fn url() -> ClientIdUrl {
        ClientIdUrl::parse(URL).unwrap()
    }

    #[test]
    fn a_document_must_name_itself_and_hold_no_secret() {
        let doc = json!({"client_id": URL, "client_name": "Claude", "redirect_uris": ["http://127.0.0.1/cb"],
                         "grant_types": ["authorization_code", "refresh_token"]});
        let meta = ClientMetadata::parse(&url(), &doc).unwrap();
        assert_eq!(meta.name.as_deref(), Some("Claude"));
        assert!(meta.refresh && !meta.private_key_jwt && meta.only_loopback());
        let web =
            json!({"client_id": URL, "redirect_uris": ["https://app.example.com/cb", "http://localhost/cb"]});
        assert!(!ClientMetadata::parse(&url(), &web).unwrap().only_loopback());

        let with = |patch: serde_json::Value| {
            let mut d = doc.clone();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    d.as_object_mut().unwrap().remove(k);
                } else {
                    d[k] = v.clone();
                }
            }
            ClientMetadata::parse(&url(), &d)
        };
        for (patch, what) in [
            (json!({"client_id": "https://app.example.com/other.json"}), "another client_id"),
            (json!({"client_id": null}), "no client_id"),
            (json!({"client_secret": "s"}), "a secret"),
            (json!({"token_endpoint_auth_method": "client_secret_basic"}), "a shared-secret method"),
            (json!({"redirect_uris": []}), "no redirect URI"),
            (json!({"redirect_uris": ["http://evil.example/cb"]}), "http off loopback"),
            (json!({"redirect_uris": ["https://a.example/cb#x"]}), "a fragment"),
            (json!({"grant_types": ["client_credentials"]}), "a machine grant"),
            (json!({"grant_types": ["refresh_token"]}), "no code grant"),
            (json!({"client_name": "bad\u{202e}name"}), "a bidi mark in the name"),
            (json!({"token_endpoint_auth_method": "private_key_jwt"}), "keys missing"),
        ] {
            assert!(with(patch).is_err(), "{what}");
        }
        let keyed = with(
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example.com/jwks"}),
        );
        assert!(keyed.unwrap().private_key_jwt);
        assert!(ClientMetadata::parse(&url(), &json!([URL])).is_err(), "not an object");
    }

    #[test]
    fn an_org_allows_hosts_and_their_subdomains() {
        assert!(UrlClients::default().allows(Some("anything.example")) && UrlClients::default().allows(None));
        let some = UrlClients { allowed: true, hosts: vec!["app.example.com".into(), "*.agents.dev".into()] };
        let some = some.validate().unwrap();
        for (host, allowed) in [
            ("app.example.com", true),
            ("APP.example.com", true),
            ("x.app.example.com", false),
            ("claude.agents.dev", true),
            ("a.b.agents.dev", true),
            ("agents.dev", false),
            ("evilagents.dev", false),
        ] {
            assert_eq!(some.allows(Some(host)), allowed, "{host}");
        }
        assert!(!some.allows(None), "a registered client has no host to trust");
        assert!(!UrlClients { allowed: false, hosts: vec![] }.allows(Some("app.example.com")));
        for bad in ["App.example.com", "*.", "a..b", "https://a.b", "*.*.b", "a b"] {
            assert!(UrlClients { allowed: true, hosts: vec![bad.into()] }.validate().is_err(), "{bad}");
        }
    }
}
