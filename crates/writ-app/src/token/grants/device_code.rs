//! The device-code grant (RFC 8628 §3.4): the device polls with its `device_code` until the person
//! approved or denied it on `/device`, or it expired. The poll itself is
//! `crate::delegation::tokens::poll`.

use crate::token::{OAuthError, Params};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The device code (`Debug` leaves it out).
pub struct DeviceGrant {
    pub device_code: String,
}

impl std::fmt::Debug for DeviceGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceGrant").finish_non_exhaustive()
    }
}

pub fn parse(params: &Params) -> Result<DeviceGrant, OAuthError> {
    let device_code = params
        .device_code
        .clone()
        .ok_or_else(|| OAuthError::InvalidRequest("missing parameter `device_code`".into()))?;
    Ok(DeviceGrant { device_code })
}
