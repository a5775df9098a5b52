//! The signing-key lifecycle (docs/tokens.md, "Rotation"): a new key is published (`pending`)
//! before it signs; after the publish delay it becomes `active` and the key it replaces `retired`;
//! a retired key stays published until every token it signed has expired, then it is `removed`; an
//! emergency `revoke` withdraws a key at once. Every instance runs [`advance`] on a timer; state
//! changes are conditional updates, so two instances never apply the same step twice.

use std::time::Duration;

use time::OffsetDateTime;
use writ_core::{Actor, AuditEvent, KeyId, KeyState, SigningAlg, SigningKey};
use writ_store::{Audit, Keys, Store, StoreError};
use writ_token::Kek;

use crate::caller::Caller;
use crate::changes::{Change, Publish};
use crate::context::{Context, Deployment, InitError};
use crate::error::AppError;

/// How long a retired key stays published: as long as a token it signed can matter.
pub const RETIRED_KEY_LIFETIME: time::Duration = time::Duration::seconds(writ_core::TOKEN_RELEVANCE_SECONDS);
/// How often each instance advances the lifecycle.
pub const LIFECYCLE_TICK: Duration = Duration::from_secs(30);

/// When keys move on, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    pub default_alg: SigningAlg,
    pub publish_delay: time::Duration,
    pub rotate_after: Option<time::Duration>,
}

impl KeyPolicy {
    pub fn from_settings(s: &crate::Settings) -> Self {
        Self {
            default_alg: s.signing_alg,
            publish_delay: time::Duration::seconds(i64::from(s.key_publish_delay_seconds)),
            rotate_after: (s.key_rotation_days > 0)
                .then(|| time::Duration::days(i64::from(s.key_rotation_days))),
        }
    }
}

/// Makes sure `alg` has an active key, creating one that signs at once if it has none. Used at
/// start and when a resource first asks for an algorithm: no verifier can hold a key set that
/// predates a key for an algorithm nobody used before.
pub async fn ensure_active(store: &Store, kek: &Kek, alg: SigningAlg) -> Result<bool, InitError> {
    let keys = Keys::new(store.conn());
    if keys.list().await?.iter().any(|k| k.alg == alg && k.state == KeyState::Active) {
        return Ok(false);
    }
    let key = writ_token::generate_key(alg, KeyState::Active, kek)?;
    keys.insert(&key).await?;
    tracing::info!(kid = %key.kid, alg = alg.as_str(), "created an active signing key");
    Ok(true)
}

/// Starts a rotation: a new `pending` key, published now, signing after the publish delay. With
/// `immediate`, the new key signs at once and the current one is retired (for when waiting is worse
/// than a verifier briefly fetching the JWKS again).
pub async fn rotate(
    d: &Deployment,
    changes: &impl Publish,
    alg: SigningAlg,
    immediate: bool,
    actor: Actor,
) -> Result<SigningKey, InitError> {
    let now = d.clock.now();
    let state = if immediate { KeyState::Active } else { KeyState::Pending };
    let mut key = writ_token::generate_key(alg, state, &d.kek)?;
    let txn = d.store.begin().await?;
    let keys = Keys::new(&txn);
    if immediate {
        for old in keys.list().await?.into_iter().filter(|k| k.alg == alg && k.state == KeyState::Active) {
            keys.transition(&old.kid, KeyState::Active, KeyState::Retired, now).await?;
        }
        key.activated_at = Some(now);
    }
    keys.insert(&key).await?;
    let event = AuditEvent::new(actor, None, "key.rotated", Some(key.kid.to_string()))
        .with_details(serde_json::json!({ "alg": alg.as_str(), "immediate": immediate }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    changes.publish(Change::Keys).await;
    Ok(key)
}

/// Withdraws a key at once. If it was signing, the newest pending key of its algorithm takes over,
/// or a new key is made; tokens it signed stop verifying wherever the JWKS is refetched.
pub async fn revoke(
    d: &Deployment,
    changes: &impl Publish,
    kid: &KeyId,
    actor: Actor,
) -> Result<SigningKey, InitError> {
    let now = d.clock.now();
    let txn = d.store.begin().await?;
    let keys = Keys::new(&txn);
    let all = keys.list().await?;
    let key = all.iter().find(|k| &k.kid == kid).ok_or(StoreError::NotFound)?.clone();
    if key.state == KeyState::Revoked {
        return Ok(key);
    }
    keys.transition(kid, key.state, KeyState::Revoked, now).await?;
    if key.state == KeyState::Active {
        let successor =
            all.iter().filter(|k| k.alg == key.alg && k.state == KeyState::Pending).max_by_key(|k| &k.kid);
        match successor {
            Some(next) => {
                keys.transition(&next.kid, KeyState::Pending, KeyState::Active, now).await?;
            }
            None => keys.insert(&writ_token::generate_key(key.alg, KeyState::Active, &d.kek)?).await?,
        }
    }
    let event = AuditEvent::new(actor, None, "key.revoked", Some(kid.to_string()))
        .with_details(serde_json::json!({ "alg": key.alg.as_str(), "was": key.state.as_str() }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    changes.publish(Change::Keys).await;
    let mut revoked = key;
    revoked.state = KeyState::Revoked;
    revoked.revoked_at = Some(now);
    Ok(revoked)
}

/// Moves every key along its lifecycle as of `now`; returns how many changed state.
pub async fn advance(ctx: &Context, now: OffsetDateTime) -> Result<usize, InitError> {
    let policy = KeyPolicy::from_settings(&ctx.settings);
    let keys = Keys::new(ctx.store.conn());
    let all = keys.list().await?;
    let mut steps = Vec::new();
    let mut algs: Vec<SigningAlg> = all.iter().map(|k| k.alg).collect();
    algs.sort();
    algs.dedup();
    for alg in algs {
        let of_alg: Vec<&SigningKey> = all.iter().filter(|k| k.alg == alg).collect();
        let active = of_alg.iter().filter(|k| k.state == KeyState::Active).max_by_key(|k| &k.kid);
        let ready = of_alg
            .iter()
            .filter(|k| k.state == KeyState::Pending && k.created_at + policy.publish_delay <= now)
            .max_by_key(|k| &k.kid);
        if let Some(next) = ready {
            // The newest published-long-enough key signs; whatever signed before retires.
            steps.push((next.kid.clone(), KeyState::Pending, KeyState::Active));
            for k in of_alg.iter().filter(|k| k.kid != next.kid) {
                match k.state {
                    KeyState::Active => steps.push((k.kid.clone(), KeyState::Active, KeyState::Retired)),
                    KeyState::Pending if k.kid < next.kid => {
                        steps.push((k.kid.clone(), KeyState::Pending, KeyState::Retired))
                    }
                    _ => {}
                }
            }
        } else if let (Some(every), Some(active)) = (policy.rotate_after, active) {
            let due = active.activated_at.unwrap_or(active.created_at) + every <= now;
            let pending = of_alg.iter().any(|k| k.state == KeyState::Pending);
            if due && !pending {
                rotate(ctx, ctx, alg, false, Actor::System).await?;
            }
        }
        for k in of_alg.iter().filter(|k| k.state == KeyState::Retired) {
            if k.retired_at.unwrap_or(k.created_at) + RETIRED_KEY_LIFETIME <= now {
                steps.push((k.kid.clone(), KeyState::Retired, KeyState::Removed));
            }
        }
    }
    let mut changed = 0;
    for (kid, from, to) in steps {
        if keys.transition(&kid, from, to, now).await? {
            changed += 1;
            tracing::info!(kid = %kid, from = from.as_str(), to = to.as_str(), "signing key moved on");
            let action = format!("key.{}", to.as_str());
            Audit::new(ctx.store.conn())
                .record(&AuditEvent::new(Actor::System, None, &action, Some(kid.to_string())))
                .await?;
        }
    }
    if changed > 0 {
        ctx.publish(Change::Keys).await;
    }
    Ok(changed)
}

/// An error of the key use cases as the admin API tells it: an unknown key is not found, anything
/// else is ours.
fn admin_error(e: InitError) -> AppError {
    match e {
        InitError::Store(StoreError::NotFound) => AppError::not_found(),
        e => AppError::internal(&e),
    }
}

/// Every key with its state, for the operator.
pub async fn list(ctx: &Context, caller: &Caller) -> Result<Vec<SigningKey>, AppError> {
    caller.require_operator()?;
    Ok(Keys::new(ctx.store.conn()).list().await?)
}

/// [`rotate`] for the operator through the admin API; the deployment's algorithm unless `alg`.
pub async fn rotate_for(
    ctx: &Context,
    caller: &Caller,
    alg: Option<SigningAlg>,
    immediate: bool,
) -> Result<SigningKey, AppError> {
    caller.require_operator()?;
    let alg = alg.unwrap_or(ctx.settings.signing_alg);
    rotate(ctx, ctx, alg, immediate, caller.actor.clone()).await.map_err(admin_error)
}

/// [`revoke`] for the operator through the admin API.
pub async fn revoke_for(ctx: &Context, caller: &Caller, kid: &KeyId) -> Result<SigningKey, AppError> {
    caller.require_operator()?;
    revoke(ctx, ctx, kid, caller.actor.clone()).await.map_err(admin_error)
}
