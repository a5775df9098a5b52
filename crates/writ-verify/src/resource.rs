//! RFC 9728 protected-resource metadata, whatever serves it (`crate::actix` registers its route
//! for actix-web APIs; `examples/mcp-server` serves it with hyper).

use serde::Serialize;

/// RFC 9728 protected-resource metadata: how a client (an MCP client, say) that meets this API
/// finds out where to get a token for it.
#[derive(Debug, Clone, Serialize)]
pub struct ProtectedResource {
    /// The API's identifier, as in its tokens' `aud` (`https://api.example.com/billing`).
    pub resource: String,
    /// The issuers whose tokens it takes.
    pub authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    pub bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

impl ProtectedResource {
    pub fn new(resource: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: vec![issuer.into()],
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".into()],
            resource_name: None,
        }
    }

    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes_supported = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Where the metadata lives (RFC 9728 §3.1): `/.well-known/oauth-protected-resource` inserted
    /// between the identifier's host and its path.
    pub fn metadata_url(&self) -> String {
        let (origin, path) = split_origin(&self.resource);
        format!("{origin}/.well-known/oauth-protected-resource{path}")
    }

    /// The path of the metadata document on the resource's own server.
    pub fn metadata_path(&self) -> String {
        format!("/.well-known/oauth-protected-resource{}", self.path())
    }

    /// The path of the resource identifier (`/billing`; empty for an origin alone).
    pub fn path(&self) -> &str {
        split_origin(&self.resource).1
    }

    /// The metadata document, as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// `https://api.example.com/billing` → (`https://api.example.com`, `/billing`).
fn split_origin(uri: &str) -> (&str, &str) {
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    match uri[after_scheme..].find('/') {
        Some(i) => {
            let (origin, path) = uri.split_at(after_scheme + i);
            (origin, path.trim_end_matches('/'))
        }
        None => (uri, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_follows_rfc_9728() {
        let r = ProtectedResource::new("https://api.example.com/billing", "https://auth.example.com");
        assert_eq!(r.metadata_url(), "https://api.example.com/.well-known/oauth-protected-resource/billing");
        let root = ProtectedResource::new("https://api.example.com", "https://auth.example.com");
        assert_eq!(root.metadata_url(), "https://api.example.com/.well-known/oauth-protected-resource");
    }
}
