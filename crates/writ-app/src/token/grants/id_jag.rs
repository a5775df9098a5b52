//! The jwt-bearer grant with an ID-JAG (Identity Assertion JWT Authorization Grant,
//! draft-ietf-oauth-identity-assertion-authz-grant; MCP enterprise-managed authorization): the
//! `assertion` is not the client's credential but a grant — an org's IdP saying which person the
//! client acts for. It is told apart by its header's `typ`; the client authenticates as it
//! always does. The rules are `crate::delegation::id_jag`.

use base64::Engine as _;
use writ_core::TokenRequest;

use super::client_credentials;
use crate::token::{OAuthError, Params};

/// The `typ` of an ID-JAG's header.
pub const TYP: &str = "oauth-id-jag+jwt";
/// What the metadata's `authorization_grant_profiles_supported` lists.
pub const PROFILE: &str = "urn:ietf:params:oauth:grant-profile:id-jag";

/// An ID-JAG and what the request asks of it (`scope`, `resource`: within the ID-JAG's).
#[derive(Debug)]
pub struct IdJagGrant {
    pub assertion: String,
    pub request: TokenRequest,
}

/// Whether the request's `assertion` is an ID-JAG: its JOSE header says `typ: oauth-id-jag+jwt`.
pub fn is_id_jag(params: &Params) -> bool {
    let Some(header) = params.assertion.as_deref().and_then(|a| a.split('.').next()) else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else { return false };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|h| h.get("typ").and_then(|t| t.as_str()).map(|t| t.eq_ignore_ascii_case(TYP)))
        .unwrap_or(false)
}

pub fn parse(params: &Params) -> Result<IdJagGrant, OAuthError> {
    let assertion = params
        .assertion
        .clone()
        .ok_or_else(|| OAuthError::InvalidRequest("missing parameter `assertion`".into()))?;
    Ok(IdJagGrant { assertion, request: client_credentials::parse(params)?.request })
}
