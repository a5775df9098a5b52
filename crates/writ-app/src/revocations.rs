//! Admin revocation (docs/tokens.md, "Revocation and introspection"): one token, every token of a
//! client, of a secret, or of an org. Revocations live in the guard store until the tokens they
//! concern have expired; every one is audited.

use writ_core::{ClientId, OrgId, SecretId};
use writ_guard_store::{Check, GuardError, Rate, WATERMARK_LIFETIME_SECONDS, Watermark};
use writ_store::{Audit, Clients, Orgs, Tenant};

use crate::caller::Caller;
use crate::context::Context;
use crate::error::AppError;

/// What a revocation took effect on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// `token`, `client`, `secret` or `org`.
    pub kind: &'static str,
    /// The jti, client, secret or org id.
    pub id: String,
    /// How many tokens were revoked one by one (for a secret).
    pub tokens: Option<usize>,
    pub revoked_at: time::OffsetDateTime,
}

/// What to revoke: exactly one token, client or org.
#[derive(Debug)]
pub enum Target {
    Token(String),
    Client(ClientId),
    Org(OrgId),
}

/// `503` for a guard store that cannot be reached, logged; `detail` says what that means for the
/// call.
pub fn unreachable(e: GuardError, detail: &'static str) -> AppError {
    tracing::error!(error = %e, "revocation store unreachable");
    AppError::unavailable(detail)
}

/// `503` for a guard store that cannot take a revocation.
fn guard_unavailable(e: GuardError) -> AppError {
    unreachable(e, "revocation state unreachable; nothing was changed, retry shortly")
}

/// Revokes every token issued until now under `watermark`; `503` when the guard store is away.
pub async fn revoke_before(ctx: &Context, watermark: Watermark<'_>) -> Result<(), AppError> {
    let now = ctx.clock.unix();
    ctx.guard.revoke_before(watermark, now, now).await.map_err(guard_unavailable)
}

/// Takes access away together with a change: revokes every token issued until now under each of
/// `watermarks` before the change is committed (if the revocation state cannot take that, nothing
/// changes: `503`, and a retry works), then, once `txn` is committed and `change` is published,
/// revokes them again, so a token another instance issued from its cache in between goes too.
pub async fn cutting(
    ctx: &Context,
    watermarks: &[Watermark<'_>],
    change: crate::changes::Change,
    txn: writ_store::DatabaseTransaction,
) -> Result<(), AppError> {
    for w in watermarks {
        revoke_before(ctx, *w).await?;
    }
    txn.commit().await.map_err(writ_store::StoreError::from)?;
    ctx.publish(change).await;
    for w in watermarks {
        if let Err(e) = revoke_before(ctx, *w).await {
            tracing::warn!(error = %e.detail, "the second revocation after a change failed; the first one stands");
        }
    }
    Ok(())
}

/// Whether `who` may write another revocation now: at most `revocations_per_minute` a minute, so
/// nobody can push the feed's window past other tenants' live revocations. `Err` holds the seconds
/// to wait.
pub async fn within_limit(ctx: &Context, who: &str) -> Result<(), u64> {
    let per_minute = ctx.settings.revocations_per_minute;
    if per_minute == 0 {
        return Ok(());
    }
    let shard: String = who.chars().take(64).collect();
    let check = Check::rate(format!("revoke:{shard}"), Rate::per_minute(per_minute, per_minute), 1);
    match ctx.throttle(&shard, std::slice::from_ref(&check)).await.first() {
        Some(d) if !d.allowed => Err(u64::try_from(crate::limits::secs(d.retry_after_ms)).unwrap_or(60)),
        _ => Ok(()),
    }
}

/// [`within_limit`] for an admin caller.
async fn limited(ctx: &Context, caller: &Caller) -> Result<(), AppError> {
    let who = match &caller.actor {
        writ_core::Actor::Client(id) => id.to_string(),
        other => format!("{other:?}"),
    };
    within_limit(ctx, &who).await.map_err(|seconds| {
        AppError::rate_limited("too many revocations from this caller: retry later", seconds)
    })
}

async fn record(ctx: &Context, caller: &Caller, org: Option<OrgId>, r: &Revocation) -> Result<(), AppError> {
    let event = caller
        .event(org, "tokens.revoked", Some(r.id.clone()))
        .with_details(serde_json::json!({ "kind": r.kind, "tokens": r.tokens }));
    Audit::new(ctx.store.conn()).record(&event).await?;
    Ok(())
}

/// Revokes one token, a client's tokens or an org's tokens. A tenant admin revokes within its own
/// org only; anything else reads as not found.
pub async fn revoke(ctx: &Context, caller: &Caller, target: Target) -> Result<Revocation, AppError> {
    limited(ctx, caller).await?;
    let now = ctx.clock.unix();
    let (revocation, org) = match target {
        Target::Token(jti) => {
            // Issuance records still queued in this instance are written first, so a token issued
            // a moment ago is found.
            ctx.audit.flush().await;
            let issued = Audit::new(ctx.store.conn()).issued_token(&jti).await?;
            let (org, exp) = match (issued, &caller.tenant) {
                (Some((_, org, exp)), Tenant::Org(own)) if org.as_deref() == Some(own.as_str()) => (org, exp),
                (Some((_, org, exp)), Tenant::Operator) => (org, exp),
                // Unaudited (or not yet written) tokens: the operator may still revoke the jti, for
                // the longest lifetime a token can have.
                (None, Tenant::Operator) => (None, now + WATERMARK_LIFETIME_SECONDS),
                _ => return Err(AppError::not_found()),
            };
            ctx.guard.revoke_token(&jti, exp, now).await.map_err(guard_unavailable)?;
            (
                Revocation { kind: "token", id: jti, tokens: None, revoked_at: ctx.clock.now() },
                org.and_then(|o| OrgId::parse(&o).ok()),
            )
        }
        Target::Client(id) => {
            let client = Clients::new(ctx.store.conn(), &caller.tenant).get(&id).await?;
            revoke_before(ctx, Watermark::Client(id.as_str())).await?;
            (
                Revocation { kind: "client", id: id.to_string(), tokens: None, revoked_at: ctx.clock.now() },
                client.kind.org_id().cloned(),
            )
        }
        Target::Org(id) => {
            caller.ensure_org(&id)?;
            Orgs::new(ctx.store.conn(), &caller.tenant).get(&id).await?;
            revoke_before(ctx, Watermark::Org(id.as_str())).await?;
            (
                Revocation { kind: "org", id: id.to_string(), tokens: None, revoked_at: ctx.clock.now() },
                Some(id),
            )
        }
    };
    record(ctx, caller, org, &revocation).await?;
    Ok(revocation)
}

/// Revokes a client's tokens: all of them, or those minted with one of its secrets (which may have
/// been deleted since: its id is then found in the issuance records of this client).
pub async fn revoke_client_tokens(
    ctx: &Context,
    caller: &Caller,
    id: &ClientId,
    secret: Option<SecretId>,
) -> Result<Revocation, AppError> {
    let clients = Clients::new(ctx.store.conn(), &caller.tenant);
    let client = clients.get(id).await?;
    limited(ctx, caller).await?;
    let revocation = match secret {
        None => {
            revoke_before(ctx, Watermark::Client(id.as_str())).await?;
            Revocation { kind: "client", id: id.to_string(), tokens: None, revoked_at: ctx.clock.now() }
        }
        Some(secret) => {
            // Issuance records still queued in this instance are written first.
            ctx.audit.flush().await;
            let since = ctx.clock.now() - time::Duration::seconds(WATERMARK_LIFETIME_SECONDS);
            let issued = Audit::new(ctx.store.conn()).issued_with_secret(id, &secret, since).await?;
            let owned = clients.secrets(id).await?.iter().any(|s| s.id == secret);
            if !owned && issued.is_empty() {
                return Err(AppError::not_found());
            }
            let now = ctx.clock.unix();
            for (jti, exp) in &issued {
                ctx.guard.revoke_token(jti, *exp, now).await.map_err(guard_unavailable)?;
            }
            Revocation {
                kind: "secret",
                id: secret.to_string(),
                tokens: Some(issued.len()),
                revoked_at: ctx.clock.now(),
            }
        }
    };
    record(ctx, caller, client.kind.org_id().cloned(), &revocation).await?;
    Ok(revocation)
}
