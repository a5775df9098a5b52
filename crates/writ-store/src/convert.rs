//! Row ↔ domain conversions. A row that fails to parse is reported as corrupt, never passed on.

use serde::{Serialize, de::DeserializeOwned};
use writ_core::{Invalid, Metadata, RateLimits};

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

pub(crate) fn parse<T>(f: impl FnOnce(&str) -> Result<T, Invalid>, s: &str) -> Result<T> {
    Ok(f(s)?)
}
