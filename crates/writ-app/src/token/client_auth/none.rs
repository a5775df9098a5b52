//! `none` (RFC 7591 §2): a public client — an agent that cannot keep a secret — names itself with
//! `client_id` and proves nothing. It may only use the delegated grants, where PKCE binds a code
//! to the agent that asked for it and rotation exposes a stolen refresh token.

use writ_core::AuthMethod;

use super::{Authenticated, client_for};
use crate::challenge::Challenge;
use crate::context::Context;
use crate::token::OAuthError;

pub const METHOD: &str = "none";

/// Checks that the named client exists and is public. A confidential client that sent no
/// credentials fails like one that sent wrong ones (with the Basic challenge of RFC 6749 §5.2).
pub async fn authenticate(
    ctx: &Context,
    client_id: &str,
    before_load: impl std::future::Future<Output = Result<(), crate::token::OAuthError>>,
) -> Result<Authenticated, OAuthError> {
    let fail = |reason: &str| {
        tracing::info!(reason, "refused a client without credentials");
        OAuthError::InvalidClient { challenge: Some(Challenge::Basic) }
    };
    let client = client_for(ctx, client_id, AuthMethod::None, before_load, fail).await?;
    Ok(Authenticated { client, secret_id: None, method: AuthMethod::None, key_id: None, federation: None })
}
