//! The rate-limit header fields: `RateLimit-Policy` and `RateLimit` as
//! draft-ietf-httpapi-ratelimit-headers-10 defines them (`"hour";q=1000;w=3600` and
//! `"hour";r=990;t=1234`), plus `RateLimit-Limit`, `-Remaining` and `-Reset` of the limit closest
//! to refusing, which older clients read.

use writ_guard_store::{Check, Decision};

/// One applied limit, under the name it has in the headers (a token: `rate`, `hour`, `day`…).
#[derive(Debug, Clone, Copy)]
pub struct Applied<'a> {
    pub name: &'static str,
    pub check: &'a Check,
    pub decision: &'a Decision,
}

/// Milliseconds as whole seconds, rounded up (a `Retry-After` of 0 would invite a retry too soon).
pub(crate) fn secs(ms: i64) -> i64 {
    (ms.max(0) + 999) / 1000
}

/// When the limit admits a request again: once refused, at `Retry-After` (a rate refills one
/// request at a time, so that comes before it is full again), else when it is full.
fn reset_ms(decision: &Decision) -> i64 {
    if decision.allowed { decision.reset_ms } else { decision.retry_after_ms }
}

/// The header fields that describe `applied`, in order.
pub fn headers(applied: &[Applied<'_>]) -> Vec<(&'static str, String)> {
    let Some(closest) = applied.iter().min_by_key(|a| (a.decision.allowed, a.decision.remaining)) else {
        return Vec::new();
    };
    let list =
        |item: &dyn Fn(&Applied<'_>) -> String| applied.iter().map(item).collect::<Vec<_>>().join(", ");
    let policy = list(&|a| {
        let (q, w) = a.check.limit.policy();
        format!("\"{}\";q={q};w={w}", a.name)
    });
    let state =
        list(&|a| format!("\"{}\";r={};t={}", a.name, a.decision.remaining, secs(reset_ms(a.decision))));
    let mut out = vec![
        ("RateLimit-Policy", policy),
        ("RateLimit", state),
        ("RateLimit-Limit", closest.decision.limit.to_string()),
        ("RateLimit-Remaining", closest.decision.remaining.to_string()),
        ("RateLimit-Reset", secs(reset_ms(closest.decision)).to_string()),
    ];
    if !closest.decision.allowed {
        out.push(("Retry-After", secs(closest.decision.retry_after_ms).to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use writ_guard_store::{Limit, Rate};

    #[test]
    fn names_every_policy_and_leads_with_the_closest() {
        let rate = Check::rate("r", Rate::per_second(100, 200), 1);
        let day = Check {
            key: "d".into(),
            limit: Limit::Quota { limit: 5, window_ms: Limit::DAY_MS },
            cost: 1,
            enforced: true,
        };
        let ok = Decision { allowed: true, limit: 200, remaining: 150, retry_after_ms: 0, reset_ms: 500 };
        let over = Decision {
            allowed: false,
            limit: 5,
            remaining: 0,
            retry_after_ms: 3_600_500,
            reset_ms: 3_600_500,
        };
        let h = headers(&[
            Applied { name: "rate", check: &rate, decision: &ok },
            Applied { name: "day", check: &day, decision: &over },
        ]);
        let get = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("RateLimit-Policy"), Some("\"rate\";q=100;w=1, \"day\";q=5;w=86400"));
        assert_eq!(get("RateLimit"), Some("\"rate\";r=150;t=1, \"day\";r=0;t=3601"));
        assert_eq!(get("RateLimit-Limit"), Some("5"));
        assert_eq!(get("Retry-After"), Some("3601"));
        assert!(headers(&[]).is_empty());
    }
}
