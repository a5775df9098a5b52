//! The rate limits of the endpoints where clients authenticate, planned per request: failed
//! authentications per address, and per address and client id; at the token endpoint, then the
//! client's rate and quotas (the client's own limits, else its org's, else the deployment's),
//! checked in one round trip with the lockout. What the `RateLimit` headers say is `crate::limits`.

use writ_core::{QuotaMode, RateLimits};
use writ_guard_store::{Check, Limit, Rate};

use super::OAuthError;
use super::client_auth::{Authenticated, ClientAuth};
use crate::context::Context;
use crate::limits::{Applied, headers};
use crate::origin::Origin;

/// The limits of one request: where it came from and which client it names.
pub struct Plan<'a> {
    ctx: &'a Context,
    origin: &'a Origin,
    /// A client's limits live together (one Redis Cluster shard per client); ids are bounded in
    /// length, so a key cannot grow without limit.
    shard: String,
}

impl<'a> Plan<'a> {
    pub fn new(ctx: &'a Context, origin: &'a Origin, client_id: &str) -> Self {
        Self { ctx, origin, shard: client_id.chars().take(64).collect() }
    }

    /// Checks the client's credentials, counting a failure against this address and this client
    /// id. An address over its failure limit is refused before a client this instance has not
    /// loaded is looked up, so made-up ids from it cost no database read.
    pub async fn authenticate(&self, client: &ClientAuth) -> Result<Authenticated, OAuthError> {
        // Built and awaited only on a cache miss.
        let before_load = async { self.check(ADDRESS_LIMIT, self.address_check(0)).await };
        match client.authenticate(self.ctx, before_load).await {
            Err(e @ OAuthError::InvalidClient { .. }) => Err(self.failed(e).await),
            result => result,
        }
    }

    /// Counts a failed authentication against this address, then (if the address is within its
    /// limit) against this address and client id; past either limit, the answer is `429` instead
    /// of `invalid_client`.
    async fn failed(&self, refused: OAuthError) -> OAuthError {
        if let Err(limited) = self.check(ADDRESS_LIMIT, self.address_check(1)).await {
            return limited;
        }
        self.check(LOCKOUT, self.failure_check(1)).await.err().unwrap_or(refused)
    }

    /// Refuses a client authenticated at revocation or introspection while this address is locked
    /// out for it, as the token endpoint does (`admit`).
    pub async fn unlocked(&self) -> Result<(), OAuthError> {
        self.check(LOCKOUT, self.failure_check(0)).await
    }

    /// Applies one failed-authentication check: `ADDRESS_LIMIT` in the address's own shard,
    /// `LOCKOUT` in the client id's.
    async fn check(&self, name: &'static str, check: Option<Check>) -> Result<(), OAuthError> {
        let Some(check) = check else { return Ok(()) };
        let shard = match (name, self.origin.ip) {
            (ADDRESS_LIMIT, Some(ip)) => format!("addr:{ip}"),
            _ => self.shard.clone(),
        };
        match self.ctx.throttle(&shard, std::slice::from_ref(&check)).await.first() {
            Some(decision) if !decision.allowed => {
                Err(self.refuse(name, &[Applied { name, check: &check, decision }]))
            }
            _ => Ok(()),
        }
    }

    /// Admits an authenticated client, in one round trip for every limit: whether this address is
    /// locked out for the client (a look, so a correct secret does not count as a failure), the
    /// client's rate and its quotas. Returns the `RateLimit` header fields of the answer.
    pub async fn admit(&self, auth: &Authenticated) -> Result<Vec<(&'static str, String)>, OAuthError> {
        let loaded = &auth.client;
        let org_limits = loaded.org.as_ref().map(|o| o.rate_limits).unwrap_or_default();
        let limits = loaded.client.rate_limits.or(org_limits).or(self.ctx.default_limits);
        let (names, checks): (Vec<&'static str>, Vec<Check>) = self
            .failure_check(0)
            .map(|c| (LOCKOUT, c))
            .into_iter()
            .chain(client_checks(loaded.client.id.as_str(), &limits))
            .unzip();
        let decisions = self.ctx.throttle(&self.shard, &checks).await;
        let applied: Vec<Applied<'_>> = names
            .iter()
            .zip(&checks)
            .zip(&decisions)
            .map(|((name, check), decision)| Applied { name, check, decision })
            .collect();
        if let Some(refused) = applied.iter().find(|a| a.check.enforced && !a.decision.allowed) {
            let shown: Vec<Applied<'_>> = if refused.name == LOCKOUT {
                vec![*refused]
            } else {
                applied.iter().filter(|a| a.name != LOCKOUT).copied().collect()
            };
            return Err(self.refuse(refused.name, &shown));
        }
        let applied: Vec<Applied<'_>> = applied.into_iter().filter(|a| a.name != LOCKOUT).collect();
        for over in applied.iter().filter(|a| !a.decision.allowed) {
            self.ctx.metrics.token_limited(over.name, false);
            tracing::warn!(
                limit = over.name,
                quota = over.decision.limit,
                "over a log-only quota: issued anyway"
            );
        }
        Ok(headers(&applied))
    }

    /// The failed-authentication limit of this address, whatever the client ids (`None` when turned
    /// off, or the address is unknown).
    fn address_check(&self, cost: u32) -> Option<Check> {
        let per_minute = self.ctx.settings.failed_auth_per_address_per_minute;
        let ip = self.origin.ip.filter(|_| per_minute > 0)?;
        Some(Check::rate(format!("fail:{ip}"), Rate::per_minute(per_minute, per_minute), cost))
    }

    /// The failed-authentication limit of this client id from this address (`None` when turned off).
    fn failure_check(&self, cost: u32) -> Option<Check> {
        let per_minute = self.ctx.settings.failed_auth_per_minute;
        (per_minute > 0).then(|| {
            let key = match self.origin.ip {
                Some(ip) => format!("fail:{ip}:{}", self.shard),
                None => format!("fail::{}", self.shard),
            };
            Check::rate(key, Rate::per_minute(per_minute, per_minute), cost)
        })
    }

    /// A `429` for going over `limit`, with headers describing `shown`.
    fn refuse(&self, limit: &'static str, shown: &[Applied<'_>]) -> OAuthError {
        self.ctx.metrics.token_limited(limit, true);
        OAuthError::RateLimited { reason: reason(limit), headers: headers(shown) }
    }
}

/// The names of the failed-authentication limits, in the headers and the metrics.
const LOCKOUT: &str = "failed_auth";
const ADDRESS_LIMIT: &str = "failed_auth_address";

/// The limits of one authenticated client, named as in the `RateLimit` headers: its rate and its
/// hourly and daily quotas (each only when not 0). A quota in log-only mode is not enforced.
fn client_checks(client_id: &str, limits: &RateLimits) -> Vec<(&'static str, Check)> {
    let enforced = limits.quota_mode != Some(QuotaMode::LogOnly);
    let quota = |name, limit: Option<u32>, window_ms| {
        let limit = limit.filter(|l| *l > 0)?;
        let check = Check {
            key: format!("{name}:{client_id}"),
            limit: Limit::Quota { limit, window_ms },
            cost: 1,
            enforced,
        };
        Some((name, check))
    };
    let rate = limits.per_second.filter(|r| *r > 0).map(|per_second| {
        let rate = Rate::per_second(per_second, limits.burst.unwrap_or(per_second).max(1));
        ("rate", Check::rate(format!("client:{client_id}"), rate, 1))
    });
    [rate, quota("hour", limits.per_hour, Limit::HOUR_MS), quota("day", limits.per_day, Limit::DAY_MS)]
        .into_iter()
        .flatten()
        .collect()
}

fn reason(limit: &str) -> &'static str {
    match limit {
        LOCKOUT => "too many failed authentications: retry later",
        ADDRESS_LIMIT => "too many failed authentications from this address: retry later",
        "rate" => "token rate limit reached: retry later",
        _ => "token quota reached: retry when the window ends",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_the_limits_it_has_and_log_only_quotas_are_not_enforced() {
        let limits = RateLimits {
            per_second: Some(10),
            burst: None,
            per_hour: Some(0),
            per_day: Some(500),
            quota_mode: Some(QuotaMode::LogOnly),
        };
        let checks = client_checks("cli_a", &limits);
        let names: Vec<&str> = checks.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["rate", "day"], "a 0 quota is no quota");
        assert!(checks[0].1.enforced && !checks[1].1.enforced);
        assert_eq!(checks[1].1.key, "day:cli_a");
        assert!(client_checks("cli_a", &RateLimits::default()).is_empty());
    }
}
