//! The device flow (RFC 8628): a CLI or a headless agent asks for a device authorization, shows the
//! person a short `user_code` and `/device`, and polls the token endpoint with its `device_code`
//! while the person logs in and consents on another screen. A device authorization is an
//! authorization request without a redirect URI: the consent page is the same.

use time::Duration;
use writ_core::secret::{Kind, PlainSecret};
use writ_core::{Client, GrantKind, RequestId, ScopeSet};
use writ_store::{AuthorizationRequests, StoreError, StoredRequest};

use super::authorize::AuthorizationParams;
use crate::context::Context;
use crate::origin::Origin;
use crate::people::PersonError;
use crate::token::OAuthError;

/// How long a device authorization waits for the person (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_TTL: Duration = Duration::minutes(10);
/// How often the device may poll, in seconds (RFC 8628 §3.2 `interval`); `slow_down` adds 5.
pub const INTERVAL: i64 = 5;
/// The letters of a user code: no vowels (no words), nothing that reads like another letter
/// (RFC 8628 §6.1's base-20 alphabet).
const USER_CODE_LETTERS: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// What the device shows and keeps (RFC 8628 §3.2).
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// `POST /oauth/device_authorization`: authenticates the client as the token endpoint does, checks
/// its `scope` and `resource`, and stores the request with a fresh device code and user code.
pub async fn start(
    ctx: &Context,
    content_type: &str,
    authorization: Option<&str>,
    body: &[u8],
    origin: &Origin,
) -> Result<DeviceAuthorization, OAuthError> {
    let (params, auth) =
        crate::token::authenticate_request(ctx, origin, content_type, authorization, body).await?;
    let client: &Client = &auth.client.client;
    if !client.delegation.grant_types.allows(GrantKind::DeviceCode) {
        return Err(OAuthError::UnauthorizedClient("the client may not use the device_code grant".into()));
    }
    // `scope` and `resource` are read as the token endpoint reads them.
    let asked = crate::token::grants::client_credentials::parse(&params)?.request;
    let request_params = AuthorizationParams {
        redirect_uri: String::new(),
        redirect_uri_given: false,
        scope: asked.scope.as_ref().map(ScopeSet::to_string),
        resources: asked.resources.iter().map(ToString::to_string).collect(),
        state: None,
        code_challenge: String::new(),
    };
    let device_code = PlainSecret::generate_as(Kind::DeviceCode).map_err(|_| OAuthError::Server)?;
    let now = ctx.clock.now();
    let request = StoredRequest {
        id: RequestId::generate(),
        client_id: client.id.clone(),
        params: serde_json::to_value(&request_params).map_err(|_| OAuthError::Server)?,
        pushed: false,
        user_id: None,
        code_expires_at: None,
        authorization_id: None,
        created_at: now,
        expires_at: now + DEVICE_TTL,
    };
    let requests = AuthorizationRequests::new(ctx.store.conn());
    // A user code is 40 bits: a clash is rare, and a retry takes a new one.
    let mut user_code = new_user_code()?;
    for attempt in 0.. {
        match requests.create_device(&request, &user_code, &device_code.hash(&ctx.pepper)).await {
            Ok(()) => break,
            Err(StoreError::Conflict(_)) if attempt < 3 => user_code = new_user_code()?,
            Err(e) => {
                tracing::error!(error = %e, "storing a device authorization failed");
                return Err(OAuthError::Server);
            }
        }
    }
    let shown = format!("{}-{}", &user_code[..4], &user_code[4..]);
    Ok(DeviceAuthorization {
        device_code: device_code.expose().to_owned(),
        verification_uri: format!("{}/device", ctx.issuer),
        verification_uri_complete: format!("{}/device?user_code={shown}", ctx.issuer),
        user_code: shown,
        expires_in: DEVICE_TTL.whole_seconds(),
        interval: INTERVAL,
    })
}

/// Eight letters of [`USER_CODE_LETTERS`], uniformly (rejection sampling, so no letter is likelier).
fn new_user_code() -> Result<String, OAuthError> {
    let mut code = String::with_capacity(8);
    while code.len() < 8 {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).map_err(|_| OAuthError::Server)?;
        // 240 = 12 × 20: bytes at or above it would favour the first letters.
        if byte[0] < 240 {
            code.push(char::from(USER_CODE_LETTERS[usize::from(byte[0] % 20)]));
        }
    }
    Ok(code)
}

/// A user code as typed (any case, with or without the dash or spaces), normalized; `None` if it
/// cannot be one.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|c| !matches!(c, '-' | ' ')).collect::<String>().to_ascii_uppercase();
    (code.len() == 8 && code.bytes().all(|b| USER_CODE_LETTERS.contains(&b))).then_some(code)
}

/// Wrong user codes a minute from one address before it must wait: enough for typos, far too
/// few to guess one of 20^8 codes while it lives.
const WRONG_CODES_PER_MINUTE: u32 = 10;

/// The pending device authorization a person's typed `user_code` names: `InvalidCredentials`
/// when none does, `TooManyAttempts` when this address guessed wrong too often.
pub async fn find(ctx: &Context, typed: &str, origin: &Origin) -> Result<RequestId, PersonError> {
    let limit = |cost| crate::people::address_limit(ctx, origin, "usercode", WRONG_CODES_PER_MINUTE, cost);
    limit(0).await?;
    let found = match normalize_user_code(typed) {
        Some(code) => {
            AuthorizationRequests::new(ctx.store.conn()).pending_device(&code, ctx.clock.now()).await?
        }
        None => None,
    };
    match found {
        Some(id) => Ok(id),
        None => {
            limit(1).await?;
            Err(PersonError::InvalidCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_unambiguous_letters_typed_any_way() {
        let code = new_user_code().unwrap();
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| USER_CODE_LETTERS.contains(&b)));
        assert_eq!(normalize_user_code("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize_user_code(" BCDF GHJK ").as_deref(), Some("BCDFGHJK"));
        for bad in ["BCDF-GHJ", "BCDF-GHJA", "BCDF-GHJK-L", ""] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
    }
}
