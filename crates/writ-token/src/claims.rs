//! The claims of a Writ access token (RFC 9068 §2.2; docs/tokens.md, "What a token says").

use serde::{Deserialize, Serialize};

/// `aud`: a string for one audience, an array for several (RFC 7519 §4.1.3). Writ sorts several
/// audiences, so the same grant always gives the same claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn from_list(mut list: Vec<String>) -> Self {
        list.sort();
        list.dedup();
        if list.len() == 1 { Self::One(list.remove(0)) } else { Self::Many(list) }
    }

    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Self::One(a) => a == aud,
            Self::Many(list) => list.iter().any(|a| a == aud),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The client id: the token's subject is the client itself (client credentials).
    pub sub: String,
    pub client_id: String,
    pub aud: Audience,
    /// Space-separated (RFC 6749 §3.3).
    pub scope: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The org of an org or user client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// The user of a user client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The credential the client authenticated with (a secret id), so revoking the tokens one
    /// credential minted needs no record of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<String>,
}

impl AccessClaims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}
