//! `cargo xtask bench --flood N`: what a flood of made-up client ids does to `writ serve`. Seeds
//! 1,000 real clients, warms them up, then floods it until it has looked up N well-formed ids of
//! no client, each sent from its own made-up address (`X-Forwarded-For` from a trusted loopback proxy, so
//! the per-address limit does not stop it: a distributed flood), with a tenth real clients'
//! requests mixed in. Reports the flood's rate, the server's memory before and after, and the
//! client cache's hit rate for the real clients during the flood (from `/metrics`).

use std::process::Command;

use serde_json::{Value, json};

use crate::server::{Server, http_get, target_dir};
use crate::{cargo, root};

const REAL_CLIENTS: usize = 1_000;
const REAL_SHARE: f64 = 0.1;

pub fn flood(made_up: u64) -> Result<(), String> {
    cargo(&["build", "--release", "-p", "writ"])?;
    let dir = std::env::temp_dir().join(format!("writ-flood-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let env = vec![
        ("WRIT_DATA_DIR", dir.join("data").display().to_string()),
        ("WRIT_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ];
    let credentials = crate::bench::seed(&dir, &env, REAL_CLIENTS)?;
    let server = Server::start(
        &target_dir().join("release/writ"),
        &["serve"],
        &env,
        &dir.join("serve.log"),
        "/readyz",
    )?;
    // Every real client once, so the cache holds them all.
    crate::bench::warm_up(&server, &credentials)?;
    let before = Snapshot::take(&server)?;
    let secret = writ_core::secret::PlainSecret::generate().map_err(|e| e.to_string())?;
    // Runs of ten seconds until the server has looked up `made_up` ids (wrk stops on time only).
    let mut run =
        json!({"requests": 0, "duration_us": 0, "ok": 0, "unauthorized": 0, "limited": 0, "other": 0});
    while Snapshot::take(&server)?.unknown_misses - before.unknown_misses < made_up as f64 {
        let out = Command::new("wrk")
            .args(["-t", "2", "-c", "64", "-d", "10s", "--timeout", "5s", "-s"])
            .arg(root().join("xtask/bench/flood.lua"))
            .arg(format!("http://127.0.0.1:{}", server.port))
            .arg("--")
            .arg(&credentials)
            .arg(secret.expose())
            .arg(REAL_SHARE.to_string())
            .output()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let this: Value = stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| {
                format!("wrk printed no summary: {stdout}{}", String::from_utf8_lossy(&out.stderr))
            })?;
        for key in ["requests", "duration_us", "ok", "unauthorized", "limited", "other"] {
            run[key] = json!(run[key].as_u64().unwrap_or(0) + this[key].as_u64().unwrap_or(0));
        }
    }
    let after = Snapshot::take(&server)?;
    let seconds = run["duration_us"].as_f64().unwrap_or(1.0) / 1e6;
    let hits = after.known_hits - before.known_hits;
    let misses = after.known_misses - before.known_misses;
    let row = json!({
        "requests": run["requests"],
        "seconds": seconds,
        "requests_per_second": (run["requests"].as_f64().unwrap_or(0.0) / seconds).round(),
        "answers": {"200": run["ok"], "401": run["unauthorized"], "429": run["limited"], "other": run["other"]},
        "made_up_ids_looked_up": after.unknown_misses - before.unknown_misses,
        "real_client_hit_rate": if hits + misses > 0.0 { hits / (hits + misses) } else { 0.0 },
        "real_client_lookups": hits + misses,
        "cached_clients": after.cached,
        "cached_unknown_ids": after.unknown,
        "rss_mib_before": before.rss_mib,
        "rss_mib_after": after.rss_mib,
        "peak_rss_mib": after.peak_rss_mib,
    });
    println!("{}", serde_json::to_string_pretty(&row).map_err(|e| e.to_string())?);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// What `/metrics` and `/proc` say at one moment.
struct Snapshot {
    known_hits: f64,
    known_misses: f64,
    unknown_misses: f64,
    cached: f64,
    unknown: f64,
    rss_mib: f64,
    peak_rss_mib: f64,
}

impl Snapshot {
    fn take(server: &Server) -> Result<Self, String> {
        let metrics = http_get(server.metrics_port, "/metrics").ok_or("no /metrics")?;
        let metric = |name: &str| {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
                .unwrap_or(0.0)
        };
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", server.pid())).map_err(|e| e.to_string())?;
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok(Self {
            known_hits: metric("writ_client_lookups_total{client=\"known\",result=\"hit\"}"),
            known_misses: metric("writ_client_lookups_total{client=\"known\",result=\"miss\"}"),
            unknown_misses: metric("writ_client_lookups_total{client=\"unknown\",result=\"miss\"}"),
            cached: metric("writ_client_cache_entries"),
            unknown: metric("writ_client_cache_unknown_entries"),
            rss_mib: (kib("VmRSS:") / 1024.0).round(),
            peak_rss_mib: (kib("VmHWM:") / 1024.0).round(),
        })
    }
}
