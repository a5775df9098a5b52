//! GCRA (the generic cell rate algorithm): a rate limit kept as one number per key, the
//! "theoretical arrival time" of the next request. The same arithmetic runs in Rust (the in-memory
//! store and the local fallback) and in Lua (Redis), and both are tested against each other.

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

/// One check: a key, its rate, and how much it costs (0 only looks).
#[derive(Debug, Clone)]
pub struct Check {
    pub key: String,
    pub rate: Rate,
    pub cost: u32,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When refused: milliseconds until a request would be allowed.
    pub retry_after_ms: i64,
    /// Milliseconds until the full burst is available again.
    pub reset_ms: i64,
}

/// Applies one check to the stored arrival time `tat` (None: never seen). Returns the decision and
/// the arrival time to store (None: nothing to store). A check of cost 0 asks whether one more
/// request would be allowed, without counting it.
pub fn decide(tat: Option<i64>, rate: Rate, cost: u32, now: i64) -> (Decision, Option<i64>) {
    let t = rate.interval_ms();
    let capacity = t * i64::from(rate.burst.max(1)); // tolerance + one interval
    let tat = tat.unwrap_or(now).max(now);
    let probe = tat + t * i64::from(cost.max(1));
    let allowed = probe - now <= capacity;
    let stored = (allowed && cost > 0).then(|| tat + t * i64::from(cost));
    let base = stored.unwrap_or(tat);
    let remaining = ((capacity - (base - now)) / t).clamp(0, i64::from(rate.burst));
    let decision = Decision {
        allowed,
        limit: rate.burst,
        remaining: u32::try_from(remaining).unwrap_or(0),
        retry_after_ms: if allowed { 0 } else { probe - now - capacity },
        reset_ms: base - now,
    };
    (decision, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let rate = Rate::per_second(1, 3);
        let mut tat = None;
        let mut run = |now: i64| {
            let (d, stored) = decide(tat, rate, 1, now);
            if stored.is_some() {
                tat = stored;
            }
            d
        };
        let d: Vec<Decision> = (0..4).map(|_| run(0)).collect();
        assert_eq!(d.iter().map(|d| d.allowed).collect::<Vec<_>>(), vec![true, true, true, false]);
        assert_eq!(d.iter().map(|d| d.remaining).collect::<Vec<_>>(), vec![2, 1, 0, 0]);
        assert_eq!(d[3].retry_after_ms, 1000);
        assert!(!run(999).allowed);
        assert!(run(1000).allowed, "one more each interval");
        assert!(!run(1000).allowed);
    }

    #[test]
    fn looking_costs_nothing() {
        let rate = Rate::per_minute(2, 2);
        let (d, stored) = decide(None, rate, 0, 0);
        assert!(d.allowed && stored.is_none());
        let (_, tat) = decide(None, rate, 1, 0);
        let (_, tat) = decide(tat, rate, 1, 0);
        let (d, stored) = decide(tat, rate, 0, 0);
        assert!(!d.allowed, "two failures of two: locked");
        assert!(stored.is_none());
        assert_eq!(d.retry_after_ms, 30_000);
    }
}
