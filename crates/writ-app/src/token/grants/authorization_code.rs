//! The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.5): an agent trades the code a
//! person's consent gave it, with its PKCE verifier, for the person's tokens. The exchange itself
//! (one use, the redirect URI, the verifier, the person still usable) is
//! `crate::delegation::tokens::exchange`.

use crate::token::{OAuthError, Params};

pub const GRANT_TYPE: &str = "authorization_code";

/// The code, the redirect URI it was asked with, and the PKCE verifier.
pub struct CodeGrant {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: String,
}

impl std::fmt::Debug for CodeGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeGrant").field("redirect_uri", &self.redirect_uri).finish_non_exhaustive()
    }
}

pub fn parse(params: &Params) -> Result<CodeGrant, OAuthError> {
    let missing = |name: &str| OAuthError::InvalidRequest(format!("missing parameter `{name}`"));
    Ok(CodeGrant {
        code: params.code.clone().ok_or_else(|| missing("code"))?,
        redirect_uri: params.redirect_uri.clone(),
        code_verifier: params.code_verifier.clone().ok_or_else(|| missing("code_verifier"))?,
    })
}
