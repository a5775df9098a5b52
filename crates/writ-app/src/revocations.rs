//! Admin revocation (docs/tokens.md, "Revocation and introspection"): one token, every token of a
//! client, of a secret, or of an org. Revocations live in the guard store until the tokens they
//! concern have expired; every one is audited.

use writ_core::{ClientId, OrgId, SecretId, TokenTtl};
use writ_guard_store::{Check, GuardError, Rate, Revoked, TokenFacts, Watermark};
use writ_store::{Audit, Clients, Orgs};
use writ_token::AccessClaims;

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

/// What revocation needs to know about a verified token.
pub fn facts(c: &AccessClaims) -> TokenFacts<'_> {
    TokenFacts {
        jti: &c.jti,
        client_id: &c.client_id,
        org_id: c.oid.as_deref(),
        credential: c.cred.as_deref(),
        iat: c.iat,
        exp: c.exp,
    }
}

/// Revokes every token issued until now under `watermark`; `503` when the guard store is away.
pub async fn revoke_before(ctx: &Context, watermark: Watermark<'_>) -> Result<(), AppError> {
    let now = ctx.clock.unix();
    ctx.guard.revoke(&watermark.at(now, now), now).await.map_err(guard_unavailable)
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
        .with_details(serde_json::json!({ "kind": r.kind }));
    Audit::new(ctx.store.conn()).record(&event).await?;
    Ok(())
}

/// Revokes one token, a client's tokens or an org's tokens. A tenant admin revokes within its own
/// org only: a client or org of another reads as not found, and a jti it revokes is revoked for
/// its own org's tokens alone. Revoking a jti looks nothing up (the token's issuance record may not
/// be written yet, or ever): it is remembered for the longest lifetime a token can have.
pub async fn revoke(ctx: &Context, caller: &Caller, target: Target) -> Result<Revocation, AppError> {
    limited(ctx, caller).await?;
    let (revocation, org) = match target {
        Target::Token(jti) => {
            let now = ctx.clock.unix();
            let org = caller.tenant.org_id().cloned();
            let longest = now + i64::from(TokenTtl::MAX);
            let revoked = Revoked::token(&jti, org.as_ref().map(OrgId::as_str), longest, now);
            ctx.guard.revoke(&revoked, now).await.map_err(guard_unavailable)?;
            (Revocation { kind: "token", id: jti, revoked_at: ctx.clock.now() }, org)
        }
        Target::Client(id) => {
            let client = Clients::new(ctx.store.conn(), &caller.tenant).get(&id).await?;
            revoke_before(ctx, Watermark::Client(id.as_str())).await?;
            (
                Revocation { kind: "client", id: id.to_string(), revoked_at: ctx.clock.now() },
                client.kind.org_id().cloned(),
            )
        }
        Target::Org(id) => {
            caller.ensure_org(&id)?;
            Orgs::new(ctx.store.conn(), &caller.tenant).get(&id).await?;
            revoke_before(ctx, Watermark::Org(id.as_str())).await?;
            (Revocation { kind: "org", id: id.to_string(), revoked_at: ctx.clock.now() }, Some(id))
        }
    };
    record(ctx, caller, org, &revocation).await?;
    Ok(revocation)
}

/// Revokes a client's tokens: all of them, or those minted with one of its secrets until now (by
/// the secret id each token carries, so the secret may have been deleted since and nothing is
/// looked up).
pub async fn revoke_client_tokens(
    ctx: &Context,
    caller: &Caller,
    id: &ClientId,
    secret: Option<SecretId>,
) -> Result<Revocation, AppError> {
    let client = Clients::new(ctx.store.conn(), &caller.tenant).get(id).await?;
    limited(ctx, caller).await?;
    let revocation = match secret {
        None => {
            revoke_before(ctx, Watermark::Client(id.as_str())).await?;
            Revocation { kind: "client", id: id.to_string(), revoked_at: ctx.clock.now() }
        }
        Some(secret) => {
            revoke_before(ctx, Watermark::Credential { client: id.as_str(), id: secret.as_str() }).await?;
            Revocation { kind: "secret", id: secret.to_string(), revoked_at: ctx.clock.now() }
        }
    };
    record(ctx, caller, client.kind.org_id().cloned(), &revocation).await?;
    Ok(revocation)
}
