//! Nobody gives more than they hold (docs/security.md). The scopes of Writ's own APIs are power
//! over Writ itself, so whoever hands them out — to a client, a user, or an org's entitlements —
//! must hold each one it adds: an `urn:writ:admin` scope must be in the caller's own token (the
//! token it acts with now, not just what its client could ask for), an `urn:writ:guard` scope among
//! the caller's own grants (an admin token cannot carry guard scopes, since Writ's APIs never share
//! a token). Scopes of the vendor's APIs are bounded by the org's entitlements instead.

use writ_core::{
    ADMIN_AUDIENCE, ADMIN_SCOPES, Actor, GUARD_AUDIENCE, GUARD_SCOPES, Grants, ResourceUri, ScopeSet,
    TokenRequest,
};

use crate::caller::Caller;
use crate::context::Context;
use crate::error::AppError;

/// Refuses (`403`) unless the caller holds every scope of Writ's own APIs that `after` adds to
/// `before`.
pub async fn ensure_holds(
    ctx: &Context,
    caller: &Caller,
    before: &Grants,
    after: &Grants,
) -> Result<(), AppError> {
    for (resource, scopes) in after.iter() {
        let added = match before.scopes(resource) {
            Some(old) => scopes.difference(old),
            None => scopes.clone(),
        };
        if added.is_empty() {
            continue;
        }
        // Names that are no scope of Writ's APIs are nobody's to hold: the store refuses them as
        // unknown (422), which says more than a refusal would.
        let known = |list: &[(&str, &str)]| -> ScopeSet {
            added.iter().filter(|s| list.iter().any(|(n, _)| *n == s.as_str())).cloned().collect()
        };
        let lacking = match resource.as_str() {
            ADMIN_AUDIENCE => known(ADMIN_SCOPES).difference(&caller.scopes),
            GUARD_AUDIENCE => {
                let added = known(GUARD_SCOPES);
                if added.is_empty() || holds_guard(ctx, caller, resource, &added).await? {
                    ScopeSet::new()
                } else {
                    added
                }
            }
            _ => ScopeSet::new(),
        };
        if !lacking.is_empty() {
            return Err(AppError::forbidden(format!(
                "only a caller holding {lacking} on {resource} may give it (nobody gives more than it holds)"
            )));
        }
    }
    Ok(())
}

/// Whether the caller's own client is granted `scopes` on the guard API now (its org's
/// entitlements applied).
async fn holds_guard(
    ctx: &Context,
    caller: &Caller,
    guard: &ResourceUri,
    scopes: &ScopeSet,
) -> Result<bool, AppError> {
    let Actor::Client(id) = &caller.actor else { return Ok(false) };
    let Some(own) = ctx.client_credentials(id).await? else { return Ok(false) };
    Ok(holds(&own, guard, scopes))
}

/// Whether a client is granted `scopes` on `resource` now, its org's entitlements (and its user's
/// grants) applied: what a token request for them would get.
pub fn holds(own: &writ_store::ClientCredentials, resource: &ResourceUri, scopes: &ScopeSet) -> bool {
    let request = TokenRequest { scope: Some(scopes.clone()), resources: vec![resource.clone()] };
    writ_core::grant(&own.client, own.org.as_ref(), own.user.as_ref(), &request).is_ok()
}

/// Nobody changes their own client's grants: a client that could would widen itself.
pub fn ensure_not_own(caller: &Caller, client: &writ_core::ClientId) -> Result<(), AppError> {
    match &caller.actor {
        Actor::Client(own) if own == client => {
            Err(AppError::forbidden("a client cannot change its own grants: ask another admin"))
        }
        _ => Ok(()),
    }
}
