//! Row ↔ domain conversions. A row that fails to parse is reported as corrupt, never passed on.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use writ_core::cimd::UrlClients;
use writ_core::delegation::LoginUrl;
use writ_core::{Grants, Invalid, LoginMode, Metadata, OrgLogin, RateLimits};

use crate::{Result, StoreError};

/// The snake_case name of a unit enum variant, as serde writes it (`OrgStatus::Active` → `active`).
pub(crate) fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(crate) fn parse_enum<T: DeserializeOwned>(what: &'static str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("{what}: {s}")))
}

pub(crate) fn metadata_text(m: &Metadata) -> String {
    serde_json::Value::Object(m.as_map().clone()).to_string()
}

pub(crate) fn parse_metadata(s: &str) -> Result<Metadata> {
    let v = serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?;
    Ok(Metadata::parse(v)?)
}

pub(crate) fn limits_text(l: &RateLimits) -> String {
    serde_json::to_string(l).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn parse_limits(s: &str) -> Result<RateLimits> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("rate limits: {e}")))
}

/// An org's login settings as stored: only what it sets.
#[derive(Serialize, Deserialize, Default)]
struct LoginRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<LoginMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    new_users: Option<Grants>,
}

pub(crate) fn login_text(l: &OrgLogin) -> String {
    let row = LoginRow {
        mode: l.mode,
        url: l.url.as_ref().map(|u| u.as_str().to_owned()),
        new_users: l.new_users.clone(),
    };
    serde_json::to_string(&row).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn parse_login(s: &str) -> Result<OrgLogin> {
    let row: LoginRow =
        serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("login settings: {e}")))?;
    Ok(OrgLogin {
        mode: row.mode,
        url: row.url.as_deref().map(LoginUrl::parse).transpose()?,
        new_users: row.new_users,
    })
}

pub(crate) fn url_clients_text(u: &UrlClients) -> String {
    serde_json::to_string(u).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn parse_url_clients(s: &str) -> Result<UrlClients> {
    let u: UrlClients =
        serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("url_clients: {e}")))?;
    Ok(u.validate()?)
}

pub(crate) fn parse<T>(f: impl FnOnce(&str) -> Result<T, Invalid>, s: &str) -> Result<T> {
    Ok(f(s)?)
}
