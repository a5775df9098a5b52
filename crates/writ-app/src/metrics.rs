//! Prometheus metrics (`GET /metrics` on the `metrics_addr` listener, text format 0.0.4), kept by
//! hand: a handful of counters and one histogram do not need a metrics framework. Per-org counts
//! name tenants, so they are opt-in (`metrics_org_labels`) and bounded: the first
//! [`MAX_ORG_LABELS`] orgs seen get their own label, the rest count under `org="other"`.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// At most this many distinct `org` label values, so a large tenant count cannot blow up the
/// metrics backend.
pub const MAX_ORG_LABELS: usize = 100;

/// Why a token request was refused: the RFC 6749 error codes.
pub const REFUSAL_REASONS: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "server_error",
];

/// The token endpoint's limits, as they are named in `RateLimit` headers and metrics.
pub const LIMITS: [&str; 5] = ["rate", "hour", "day", "failed_auth", "failed_auth_address"];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

#[derive(Debug, Default)]
pub struct Metrics {
    /// Tokens issued per org, when counted per org.
    issued_by_org: Option<Mutex<HashMap<String, u64>>>,
    issued: AtomicU64,
    refused: [AtomicU64; REFUSAL_REASONS.len()],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_nanos: AtomicU64,
    /// Per limit of [`LIMITS`]: requests refused, and requests over a log-only quota.
    limited: [[AtomicU64; 2]; LIMITS.len()],
}

impl Metrics {
    /// Metrics that count issued tokens per org if `org_labels`, else in one total.
    pub fn new(org_labels: bool) -> Self {
        Self { issued_by_org: org_labels.then(Mutex::default), ..Self::default() }
    }

    /// Counts an issued token for `org` (`None` for service clients).
    pub fn token_issued(&self, org: Option<&str>) {
        let Some(by_org) = &self.issued_by_org else {
            self.issued.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut issued = by_org.lock().unwrap_or_else(|p| p.into_inner());
        let label = org.unwrap_or("none");
        let label = if issued.contains_key(label) || issued.len() < MAX_ORG_LABELS { label } else { "other" };
        *issued.entry(label.to_owned()).or_default() += 1;
    }

    pub fn token_refused(&self, reason: &str) {
        if let Some(i) = REFUSAL_REASONS.iter().position(|r| *r == reason) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a token request over `limit`: refused, or only logged (a log-only quota).
    pub fn token_limited(&self, limit: &str, refused: bool) {
        if let Some(i) = LIMITS.iter().position(|l| *l == limit) {
            self.limited[i][usize::from(!refused)].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records the server time of one token request.
    pub fn token_latency(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_nanos.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the gauges the caller adds.
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP writ_tokens_issued_total Access tokens issued (by org with metrics_org_labels; service clients: none)."
        );
        let _ = writeln!(out, "# TYPE writ_tokens_issued_total counter");
        match &self.issued_by_org {
            Some(by_org) => {
                let mut issued: Vec<(String, u64)> = by_org
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                issued.sort();
                for (org, n) in issued {
                    let _ = writeln!(out, "writ_tokens_issued_total{{org=\"{org}\"}} {n}");
                }
            }
            None => {
                let _ = writeln!(out, "writ_tokens_issued_total {}", self.issued.load(Ordering::Relaxed));
            }
        }
        let _ =
            writeln!(out, "# HELP writ_tokens_refused_total Token requests refused, by RFC 6749 error code.");
        let _ = writeln!(out, "# TYPE writ_tokens_refused_total counter");
        for (reason, n) in REFUSAL_REASONS.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "writ_tokens_refused_total{{reason=\"{reason}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP writ_tokens_limited_total Token requests over a limit: refused, or logged (log-only quota)."
        );
        let _ = writeln!(out, "# TYPE writ_tokens_limited_total counter");
        for (limit, counts) in LIMITS.iter().zip(&self.limited) {
            for (action, n) in ["refused", "logged"].iter().zip(counts) {
                let n = n.load(Ordering::Relaxed);
                let _ =
                    writeln!(out, "writ_tokens_limited_total{{limit=\"{limit}\",action=\"{action}\"}} {n}");
            }
        }
        let _ = writeln!(out, "# HELP writ_token_request_duration_seconds Server time of token requests.");
        let _ = writeln!(out, "# TYPE writ_token_request_duration_seconds histogram");
        for (bound, n) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "writ_token_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "writ_token_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "writ_token_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "writ_token_request_duration_seconds_count {count}");
        // A name with labels (`name{a="b"}`) shares its family's HELP and TYPE with the one before.
        let mut family = "";
        for (name, help, value) in gauges {
            let base = name.split('{').next().unwrap_or(name);
            if base != family {
                let kind = if base.ends_with("_total") { "counter" } else { "gauge" };
                let _ = writeln!(out, "# HELP {base} {help}\n# TYPE {base} {kind}");
                family = base;
            }
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_labels_are_opt_in_and_bounded_and_the_histogram_is_cumulative() {
        let anonymous = Metrics::default();
        anonymous.token_issued(Some("org_0"));
        anonymous.token_issued(None);
        let text = anonymous.render(&[]);
        assert!(text.contains("\nwrit_tokens_issued_total 2\n") && !text.contains("org_0"), "{text}");
        let m = Metrics::new(true);
        for i in 0..(MAX_ORG_LABELS + 50) {
            m.token_issued(Some(&format!("org_{i}")));
        }
        m.token_issued(Some("org_0"));
        m.token_issued(None);
        let text = m.render(&[]);
        let labels = text.lines().filter(|l| l.starts_with("writ_tokens_issued_total{")).count();
        assert_eq!(labels, MAX_ORG_LABELS + 1, "the first orgs, and other");
        assert!(text.contains("writ_tokens_issued_total{org=\"org_0\"} 2"));
        assert!(text.contains("writ_tokens_issued_total{org=\"other\"} 51"), "{text}");

        m.token_latency(Duration::from_micros(300));
        m.token_latency(Duration::from_millis(20));
        let text = m.render(&[("writ_x", "x", 7)]);
        assert!(text.contains("writ_token_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("writ_token_request_duration_seconds_bucket{le=\"0.025\"} 2"));
        assert!(text.contains("writ_token_request_duration_seconds_count 2"));
        m.token_refused("invalid_scope");
        m.token_refused("not_a_reason");
        let text = m.render(&[("writ_x", "x", 7)]);
        assert!(text.contains("writ_tokens_refused_total{reason=\"invalid_scope\"} 1"));
        assert!(text.contains("# TYPE writ_x gauge\nwrit_x 7"));
        let text = m.render(&[("writ_y_total{a=\"1\"}", "y", 1), ("writ_y_total{a=\"2\"}", "y", 2)]);
        assert!(
            text.contains("# TYPE writ_y_total counter\nwrit_y_total{a=\"1\"} 1\nwrit_y_total{a=\"2\"} 2\n"),
            "{text}"
        );
        m.token_limited("day", false);
        m.token_limited("day", false);
        m.token_limited("rate", true);
        let text = m.render(&[]);
        assert!(text.contains("writ_tokens_limited_total{limit=\"day\",action=\"logged\"} 2"), "{text}");
        assert!(text.contains("writ_tokens_limited_total{limit=\"rate\",action=\"refused\"} 1"));
        assert!(text.contains("writ_tokens_limited_total{limit=\"day\",action=\"refused\"} 0"));
    }
}
