//! Rate limits and quotas, decided the same way in Rust (the in-memory store and the local
//! fallback) and in Lua (Redis); the two are tested against each other.
//!
//! A rate is GCRA (the generic cell rate algorithm): one number per key, the "theoretical arrival
//! time" of the next request. A quota is a counter per fixed window (an hour, a day, aligned to
//! the Unix epoch, so UTC), which is what people mean by "1,000 a day".
//!
//! Several checks are applied together and all or nothing: if an enforced check refuses, none of
//! them counts the request. A check that is not enforced (a quota in log-only mode) only reports.

/// `per_period` requests every `period_ms`, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_period: u32,
    pub period_ms: i64,
    pub burst: u32,
}

impl Rate {
    pub fn per_second(n: u32, burst: u32) -> Self {
        Self { per_period: n, period_ms: 1000, burst }
    }

    pub fn per_minute(n: u32, burst: u32) -> Self {
        Self { per_period: n, period_ms: 60_000, burst }
    }

    /// Milliseconds between two requests at the sustained rate.
    pub fn interval_ms(&self) -> i64 {
        (self.period_ms / i64::from(self.per_period.max(1))).max(1)
    }
}

/// What a check limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A sustained rate with bursts (GCRA).
    Rate(Rate),
    /// At most `limit` per fixed window of `window_ms` (3,600,000 for an hour).
    Quota { limit: u32, window_ms: i64 },
}

impl Limit {
    pub const HOUR_MS: i64 = 3_600_000;
    pub const DAY_MS: i64 = 86_400_000;

    /// The policy as the `RateLimit-Policy` header states it: a quota of `q` units per `w` seconds.
    pub fn policy(&self) -> (u32, i64) {
        match *self {
            Limit::Rate(r) => (r.per_period, (r.period_ms / 1000).max(1)),
            Limit::Quota { limit, window_ms } => (limit, (window_ms / 1000).max(1)),
        }
    }
}

/// One check: a key, its limit, what this request costs (0 only looks), and whether a refusal
/// refuses the request (`false`: only reported, as a quota in log-only mode).
#[derive(Debug, Clone)]
pub struct Check {
    pub key: String,
    pub limit: Limit,
    pub cost: u32,
    pub enforced: bool,
}

impl Check {
    /// A rate check that refuses when over.
    pub fn rate(key: impl Into<String>, rate: Rate, cost: u32) -> Self {
        Self { key: key.into(), limit: Limit::Rate(rate), cost, enforced: true }
    }

    /// The key the state lives under at `now_ms`: a quota's key names its window, so a new window
    /// starts from zero and the old one expires.
    pub fn storage_key(&self, now_ms: i64) -> String {
        match self.limit {
            Limit::Rate(_) => self.key.clone(),
            Limit::Quota { window_ms, .. } => format!("{}@{}", self.key, window_start(now_ms, window_ms)),
        }
    }
}

pub(crate) fn window_start(now_ms: i64, window_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(window_ms.max(1))
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When refused: milliseconds until a request would be allowed.
    pub retry_after_ms: i64,
    /// Milliseconds until the limit is fully available again (a quota: the end of its window).
    pub reset_ms: i64,
}

/// Applies one check to its stored value (None: never seen). Returns the decision and, if the
/// request is counted, the value to store with the time (ms) it may be forgotten.
pub fn decide(stored: Option<i64>, check: &Check, now: i64) -> (Decision, Option<(i64, i64)>) {
    let cost = check.cost;
    match check.limit {
        Limit::Rate(rate) => {
            let t = rate.interval_ms();
            let capacity = t * i64::from(rate.burst.max(1)); // tolerance + one interval
            let tat = stored.unwrap_or(now).max(now);
            let probe = tat + t * i64::from(cost.max(1));
            let allowed = probe - now <= capacity;
            let next = (allowed && cost > 0).then(|| tat + t * i64::from(cost));
            let base = next.unwrap_or(tat);
            let remaining = ((capacity - (base - now)) / t).clamp(0, i64::from(rate.burst));
            let decision = Decision {
                allowed,
                limit: rate.burst,
                remaining: u32::try_from(remaining).unwrap_or(0),
                retry_after_ms: if allowed { 0 } else { probe - now - capacity },
                reset_ms: base - now,
            };
            (decision, next.map(|tat| (tat, tat)))
        }
        Limit::Quota { limit, window_ms } => {
            let end = window_start(now, window_ms) + window_ms;
            let used = stored.unwrap_or(0).max(0);
            let allowed = used + i64::from(cost.max(1)) <= i64::from(limit);
            let next = (allowed && cost > 0).then(|| used + i64::from(cost));
            let remaining = (i64::from(limit) - next.unwrap_or(used)).clamp(0, i64::from(limit));
            let decision = Decision {
                allowed,
                limit,
                remaining: u32::try_from(remaining).unwrap_or(0),
                retry_after_ms: if allowed { 0 } else { end - now },
                reset_ms: end - now,
            };
            (decision, next.map(|n| (n, end)))
        }
    }
}

/// Applies checks together, all or nothing. `read` gives each storage key's value; the writes to
/// make (key, value, forget at ms) come back with the decisions, empty when an enforced check
/// refused.
pub fn decide_all(
    checks: &[Check],
    now: i64,
    mut read: impl FnMut(&str) -> Option<i64>,
) -> (Vec<Decision>, Vec<(String, i64, i64)>) {
    let mut decisions = Vec::with_capacity(checks.len());
    let mut writes = Vec::new();
    let mut refused = false;
    for check in checks {
        let key = check.storage_key(now);
        let (decision, write) = decide(read(&key), check, now);
        refused |= check.enforced && !decision.allowed;
        if let Some((value, until)) = write {
            writes.push((key, value, until));
        }
        decisions.push(decision);
    }
    if refused {
        writes.clear();
    }
    (decisions, writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Applies checks to a map, as the in-memory store does.
    fn run(map: &mut HashMap<String, i64>, checks: &[Check], now: i64) -> Vec<Decision> {
        let (decisions, writes) = decide_all(checks, now, |k| map.get(k).copied());
        for (k, v, _) in writes {
            map.insert(k, v);
        }
        decisions
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let check = Check::rate("k", Rate::per_second(1, 3), 1);
        let mut map = HashMap::new();
        let d: Vec<Decision> = (0..4).map(|_| run(&mut map, std::slice::from_ref(&check), 0)[0]).collect();
        assert_eq!(d.iter().map(|d| d.allowed).collect::<Vec<_>>(), vec![true, true, true, false]);
        assert_eq!(d.iter().map(|d| d.remaining).collect::<Vec<_>>(), vec![2, 1, 0, 0]);
        assert_eq!(d[3].retry_after_ms, 1000);
        assert!(!run(&mut map, std::slice::from_ref(&check), 999)[0].allowed);
        assert!(run(&mut map, std::slice::from_ref(&check), 1000)[0].allowed, "one more each interval");
        assert!(!run(&mut map, &[check], 1000)[0].allowed);
    }

    #[test]
    fn looking_costs_nothing() {
        let look = Check::rate("k", Rate::per_minute(2, 2), 0);
        let (d, write) = decide(None, &look, 0);
        assert!(d.allowed && write.is_none());
        let mut map = HashMap::new();
        run(&mut map, &[Check { cost: 1, ..look.clone() }], 0);
        run(&mut map, &[Check { cost: 1, ..look.clone() }], 0);
        let (d, write) = decide(map.get("k").copied(), &look, 0);
        assert!(!d.allowed, "two failures of two: locked");
        assert!(write.is_none());
        assert_eq!(d.retry_after_ms, 30_000);
    }

    #[test]
    fn a_quota_counts_per_window_and_starts_over_in_the_next() {
        let hour = Check {
            key: "q".into(),
            limit: Limit::Quota { limit: 2, window_ms: Limit::HOUR_MS },
            cost: 1,
            enforced: true,
        };
        let mut map = HashMap::new();
        let t = 10 * Limit::HOUR_MS + 1000; // one second into an hour
        let d: Vec<Decision> = (0..3).map(|_| run(&mut map, std::slice::from_ref(&hour), t)[0]).collect();
        assert_eq!(d.iter().map(|d| d.allowed).collect::<Vec<_>>(), vec![true, true, false]);
        assert_eq!(d.iter().map(|d| d.remaining).collect::<Vec<_>>(), vec![1, 0, 0]);
        assert_eq!(d[2].retry_after_ms, Limit::HOUR_MS - 1000, "until the hour ends");
        assert!(!run(&mut map, std::slice::from_ref(&hour), 11 * Limit::HOUR_MS - 1)[0].allowed);
        assert!(run(&mut map, std::slice::from_ref(&hour), 11 * Limit::HOUR_MS)[0].allowed, "a new hour");
        let (_, write) = decide(None, &hour, t);
        assert_eq!(write, Some((1, 11 * Limit::HOUR_MS)), "forgotten when its window ends");
    }

    #[test]
    fn checks_count_all_or_nothing_and_unenforced_ones_only_report() {
        let rate = Check::rate("r", Rate::per_second(10, 10), 1);
        let quota = |enforced| Check {
            key: "q".into(),
            limit: Limit::Quota { limit: 1, window_ms: Limit::DAY_MS },
            cost: 1,
            enforced,
        };
        let mut map = HashMap::new();
        assert!(run(&mut map, &[rate.clone(), quota(true)], 0).iter().all(|d| d.allowed));
        let refused = run(&mut map, &[rate.clone(), quota(true)], 0);
        assert!(refused[0].allowed && !refused[1].allowed);
        assert_eq!(map.get("r"), Some(&100), "the refused request did not spend the rate");

        let logged = run(&mut map, &[rate.clone(), quota(false)], 0);
        assert!(!logged[1].allowed, "reported as over");
        assert_eq!(map.get("r"), Some(&200), "but not refused: the rate counts it");
        assert_eq!(map.get("q@0"), Some(&1), "the quota stays at its limit");
    }
}
