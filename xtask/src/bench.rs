//! `cargo xtask bench`: load benchmarks of the token endpoint on loopback, bounded in time, with
//! wrk (installed from apt if missing). Each configuration starts the server on a fresh database,
//! seeds clients (`writ bench-seed`), warms up, then measures: tokens/s, latency percentiles, the
//! server's CPU time per token (from /proc), its peak RSS, and errors (which must be zero). The
//! report goes to docs/benchmarks.md and docs/benchmarks.json.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::server::{Server, http_get, http_post, target_dir};
use crate::{cargo, root, run};

/// What `cargo xtask bench` measures, and how hard.
struct Plan {
    clients: Vec<usize>,
    connections: Vec<u32>,
    seconds: u32,
}

impl Plan {
    fn from_args(args: &[String]) -> Result<Self, String> {
        let mut plan = Self { clients: vec![1_000], connections: vec![32, 64], seconds: 15 };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let value = it.next().ok_or(format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--clients" => plan.clients = numbers(value)?,
                "--connections" => plan.connections = numbers(value)?,
                "--seconds" => plan.seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?,
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(plan)
    }
}

/// `1000,100000` → [1000, 100000].
fn numbers<T: std::str::FromStr>(list: &str) -> Result<Vec<T>, String>
where
    T::Err: std::fmt::Display,
{
    list.split(',').map(|n| n.trim().parse().map_err(|e| format!("{n}: {e}"))).collect()
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).ok_or("unreadable /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok((ticks(11) + ticks(12)) / 100.0)
}

/// Restarts the process's peak resident set from its current size (Linux `clear_refs`), so each row
/// reports its own peak.
fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// A gauge of a Writ server's `/metrics` (on its metrics port); `None` for a server without them
/// (the peer).
fn metric(port: u16, name: &str) -> Option<f64> {
    let answer = http_get(port, "/metrics")?;
    answer.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Waits (up to a minute) until the audit writer has caught up with the warm-up, so the
/// measurement is the steady state rather than the writer's backlog.
fn wait_for_audit(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while metric(port, "writ_audit_queue_depth").is_some_and(|d| d > 0.0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The process's peak resident set, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

pub(crate) fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    eprintln!("xtask: installing wrk from apt");
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// How a run takes the lines of its requests file (`xtask/bench/token.lua`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// A line picked at random per request (a warm-up walks them in turn).
    Random,
    /// Each line is good once (an assertion's `jti`, a code): the run walks the file in turn,
    /// and the file holds more lines than the run sends.
    Once,
    /// Refresh tokens: each answer's `refresh_token` replaces the one sent.
    Chain,
    /// A GET of the line's path with its cookie.
    Page,
}

impl Order {
    fn arg(self, warm_up: bool) -> &'static str {
        match self {
            Self::Random if !warm_up => "random",
            Self::Random | Self::Once => "sequential",
            Self::Chain => "chain",
            Self::Page => "page",
        }
    }
}

/// What each request is: the requests file (`None` for plain GETs), the path, the form body.
pub(crate) struct Load<'a> {
    pub(crate) requests: Option<&'a Path>,
    /// The requests of the warm-up, when they are not `requests` (single-use assertions).
    pub(crate) warm: Option<&'a Path>,
    pub(crate) order: Order,
    pub(crate) path: &'a str,
    pub(crate) body: &'a str,
}

impl<'a> Load<'a> {
    fn token(credentials: &'a Path) -> Self {
        Self {
            requests: Some(credentials),
            warm: None,
            order: Order::Random,
            path: "/oauth/token",
            body: "grant_type=client_credentials",
        }
    }

    pub(crate) fn get(path: &'a str) -> Self {
        Self { requests: None, warm: None, order: Order::Random, path, body: "" }
    }

    fn warm_up(&self) -> Self {
        Self { requests: self.warm.or(self.requests), warm: None, ..*self }
    }
}

/// One wrk run against `port`, taking lines as `load.order` says (a `warm_up` walks them in turn);
/// its JSON summary.
fn wrk(port: u16, load: &Load, connections: u32, seconds: u32, warm_up: bool) -> Result<Value, String> {
    let script = root().join("xtask/bench/token.lua");
    let out = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--")
        .arg(load.requests.map_or("-".into(), |p| p.display().to_string()))
        .arg(load.order.arg(warm_up))
        .arg("2")
        .arg(load.path)
        .arg(load.body)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("wrk printed no summary: {stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

/// Every client of `credentials` gets a token once, in turn: a warm client cache.
pub(crate) fn warm_up(server: &Server, credentials: &Path) -> Result<(), String> {
    let clients = std::fs::read_to_string(credentials).map_err(|e| e.to_string())?.lines().count();
    let seconds = u32::try_from(clients / 1_000).unwrap_or(30) + 3;
    wrk(server.port, &Load::token(credentials), 32, seconds, true).map(drop)
}

/// Warms the server up, then measures one load; the row of the report.
pub(crate) fn measure(
    name: &str,
    server: &Server,
    load: &Load,
    clients: usize,
    connections: u32,
    seconds: u32,
) -> Result<Value, String> {
    // Warm-up: every active client once (a cold client cache), so the measurement is the steady
    // state of a warm one.
    let warm = load.warm_up();
    let active = warm.requests.and_then(|f| std::fs::read_to_string(f).ok()).map_or(0, |c| c.lines().count());
    let warm_up = u32::try_from(active / 1_000).unwrap_or(30) + 3;
    reset_peak_rss(server.pid());
    let cold = wrk(server.port, &warm, connections, warm_up, true)?;
    wait_for_audit(server.metrics_port);
    let cpu_before = cpu_seconds(server.pid())?;
    let w = wrk(server.port, load, connections, seconds, false)?;
    let cpu = cpu_seconds(server.pid())? - cpu_before;
    let requests = w["requests"].as_f64().unwrap_or(0.0);
    let secs = w["duration_us"].as_f64().unwrap_or(1.0) / 1e6;
    let errors: u64 = ["errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout"]
        .iter()
        .map(|k| w[*k].as_u64().unwrap_or(0))
        .sum();
    let row = json!({
        "config": name,
        "path": load.path,
        "clients": clients,
        "connections": connections,
        "seconds": secs,
        "tokens": requests,
        "tokens_per_second": (requests / secs).round(),
        "p50_ms": w["p50_us"].as_f64().unwrap_or(0.0) / 1000.0,
        "p90_ms": w["p90_us"].as_f64().unwrap_or(0.0) / 1000.0,
        "p99_ms": w["p99_us"].as_f64().unwrap_or(0.0) / 1000.0,
        "p999_ms": w["p999_us"].as_f64().unwrap_or(0.0) / 1000.0,
        "cpu_us_per_token": if requests > 0.0 { (cpu * 1e6 / requests).round() } else { 0.0 },
        "server_cpu_cores": cpu / secs,
        "peak_rss_mib": peak_rss_mib(server.pid()).round(),
        "cached_clients": metric(server.metrics_port, "writ_client_cache_entries"),
        "errors": errors,
        "active_clients": active,
        "warm_up_tokens_per_second": (cold["requests"].as_f64().unwrap_or(0.0) / (cold["duration_us"].as_f64().unwrap_or(1.0) / 1e6)).round(),
    });
    eprintln!("xtask: {row}");
    Ok(row)
}

/// Seeds `clients` clients with `writ bench-seed` under `env`; the credentials file.
pub(crate) fn seed(dir: &Path, env: &[(&str, String)], clients: usize) -> Result<PathBuf, String> {
    let credentials = dir.join("credentials.txt");
    run(Command::new(target_dir().join("release/writ"))
        .args([
            "bench-seed",
            "--clients",
            &clients.to_string(),
            "--emit",
            &clients.min(20_000).to_string(),
            "--credentials",
        ])
        .arg(&credentials)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("WRIT_LOG", "warn"))?;
    Ok(credentials)
}

pub(crate) fn postgres_and_redis() -> bool {
    let pg = Command::new("pg_isready")
        .args(["-h", "127.0.0.1", "-p", "5432", "-q"])
        .status()
        .is_ok_and(|s| s.success());
    let redis = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "ping"])
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"PONG"));
    pg && redis
}

pub(crate) fn fresh_database(name: &str) -> Result<String, String> {
    for sql in [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")] {
        run(Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", &sql]))?;
    }
    Ok(format!("postgres://postgres@127.0.0.1:5432/{name}"))
}

pub(crate) const EMBEDDED: &str = "writ serve (SQLite, in-memory guard)";
pub(crate) const PRODUCTION: &str = "writ-issuer (Postgres + Redis, limits and audit on)";
pub(crate) const PEER: &str = "node-oidc-provider 9 (Node 22, in memory)";

/// node-oidc-provider and Node 22 from npm (`xtask/bench/peer`, locked), installed into `dir`;
/// the node binary.
fn install_peer(dir: &Path) -> Result<PathBuf, String> {
    let node = dir.join("node_modules/.bin/node");
    if node.exists() {
        return Ok(node);
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for file in ["package.json", "package-lock.json", "server.js"] {
        std::fs::copy(root().join("xtask/bench/peer").join(file), dir.join(file))
            .map_err(|e| format!("{file}: {e}"))?;
    }
    run(Command::new("npm").args(["ci", "--silent", "--no-audit", "--no-fund", "--prefix"]).arg(dir))?;
    Ok(node)
}

/// node-oidc-provider (installed under `work`) started with `env`, logging to `log`.
pub(crate) fn start_peer(work: &Path, env: &[(&str, String)], log: &Path) -> Result<Server, String> {
    let node = install_peer(&work.join("peer"))?;
    let server_js = work.join("peer/server.js").display().to_string();
    Server::start(&node, &[&server_js], env, log, "/.well-known/openid-configuration")
}

pub fn bench(args: &[String]) -> Result<(), String> {
    if args.first().is_some_and(|a| a == "--report-only") {
        // Rewrites docs/benchmarks.md from docs/benchmarks.json (after a change to the report).
        return report(&last_report()?);
    }
    if args.first().is_some_and(|a| a == "--client-auth") {
        let seconds = match &args[1..] {
            [] => 10,
            [flag, s] if flag == "--seconds" => s.parse().map_err(|e| format!("--seconds: {e}"))?,
            _ => return Err("usage: cargo xtask bench --client-auth [--seconds S]".into()),
        };
        return crate::client_auth::run(seconds);
    }
    if args.first().is_some_and(|a| a == "--delegated") {
        let seconds = match &args[1..] {
            [] => 10,
            [flag, s] if flag == "--seconds" => s.parse().map_err(|e| format!("--seconds: {e}"))?,
            _ => return Err("usage: cargo xtask bench --delegated [--seconds S]".into()),
        };
        return crate::delegated::run(seconds);
    }
    if let [flag, n] = args
        && flag == "--flood"
    {
        ensure_wrk()?;
        return crate::flood::flood(n.parse().map_err(|e| format!("--flood: {e}"))?);
    }
    let plan = Plan::from_args(args)?;
    ensure_wrk()?;
    cargo(&["build", "--release", "-p", "writ", "-p", "writ-issuer"])?;
    let work = std::env::temp_dir().join(format!("writ-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (mut rows, mut endpoints) = (Vec::new(), Vec::new());
    for &clients in &plan.clients {
        // The embedded default: `writ serve` on SQLite with the in-memory guard.
        let dir = work.join(format!("embedded-{clients}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // The default log level, as in production.
        let env =
            vec![("WRIT_DATA_DIR", dir.join("data").display().to_string()), ("WRIT_LOG", "info".to_owned())];
        let credentials = seed(&dir, &env, clients)?;
        let log = dir.join("serve.log");
        let server = Server::start(&target_dir().join("release/writ"), &["serve"], &env, &log, "/readyz")?;
        for &c in &plan.connections {
            rows.push(measure(EMBEDDED, &server, &Load::token(&credentials), clients, c, plan.seconds)?);
        }
        if endpoints.is_empty() {
            // The other endpoints, once, at the most connections.
            let c = plan.connections.iter().copied().max().unwrap_or(64);
            for path in ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server"] {
                endpoints.push(measure(EMBEDDED, &server, &Load::get(path), clients, c, plan.seconds)?);
            }
            endpoints.push(introspection(EMBEDDED, &server, &credentials, &dir, clients, c, plan.seconds)?);
        }
        drop(server);

        // The peer, in the same run, with the same clients.
        let env = vec![("CLIENTS", credentials.display().to_string())];
        let peer = start_peer(&work, &env, &dir.join("peer.log"))?;
        let load = Load {
            requests: Some(&credentials),
            warm: None,
            order: Order::Random,
            path: "/token",
            body: "grant_type=client_credentials&scope=bench:read",
        };
        for &c in &plan.connections {
            rows.push(measure(PEER, &peer, &load, clients, c, plan.seconds)?);
        }
        drop(peer);

        // Production: the split issuer on Postgres and Redis, rate limits and issuance audit on.
        if !postgres_and_redis() {
            eprintln!("xtask: Postgres or Redis is not reachable; skipping the production configuration");
            continue;
        }
        let dir = work.join(format!("production-{clients}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let env = vec![
            ("WRIT_DATA_DIR", dir.join("data").display().to_string()),
            ("WRIT_DATABASE_URL", fresh_database("writ_bench")?),
            ("WRIT_REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
            ("WRIT_REDIS_PREFIX", format!("writbench{}:", std::process::id())),
            ("WRIT_LOG", "info".to_owned()),
        ];
        let credentials = seed(&dir, &env, clients)?;
        let log = dir.join("issuer.log");
        let server = Server::start(&target_dir().join("release/writ-issuer"), &[], &env, &log, "/readyz")?;
        for &c in &plan.connections {
            rows.push(measure(PRODUCTION, &server, &Load::token(&credentials), clients, c, plan.seconds)?);
        }
        if !endpoints.iter().any(|e| e["config"] == PRODUCTION) {
            let c = plan.connections.iter().copied().max().unwrap_or(64);
            endpoints.push(introspection(PRODUCTION, &server, &credentials, &dir, clients, c, plan.seconds)?);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    let verify = verification()?;
    let (client_auth, delegated) = last_report().map(|r| (r.client_auth, r.delegated)).unwrap_or_default();
    report(&Report { tokens: rows, endpoints, verify, client_auth, delegated })
}

/// The introspection row: each of the first 1,000 active clients gets a token, then introspects
/// it (`Basic …` TAB `token=…` per line of the requests file).
fn introspection(
    name: &str,
    server: &Server,
    credentials: &Path,
    dir: &Path,
    clients: usize,
    connections: u32,
    seconds: u32,
) -> Result<Value, String> {
    let port = server.port;
    let text = std::fs::read_to_string(credentials).map_err(|e| e.to_string())?;
    let mut lines = String::new();
    for auth in text.lines().take(1_000) {
        let answer =
            http_post(port, "/oauth/token", auth, "grant_type=client_credentials").unwrap_or_default();
        let body: Value =
            answer.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or_default();
        let token =
            body["access_token"].as_str().ok_or_else(|| format!("no token for introspection: {answer}"))?;
        lines.push_str(&format!("{auth}\ttoken={token}\n"));
    }
    let path = dir.join("introspect.txt");
    std::fs::write(&path, lines).map_err(|e| e.to_string())?;
    let load =
        Load { requests: Some(&path), warm: None, order: Order::Random, path: "/oauth/introspect", body: "" };
    measure(name, server, &load, clients, connections, seconds)
}

/// `writ-verify`'s own benchmark (one thread, in process): verifications per second.
fn verification() -> Result<Vec<Value>, String> {
    cargo(&["build", "--release", "-p", "writ-verify", "--example", "bench"])?;
    let out = Command::new(target_dir().join("release/examples/bench"))
        .output()
        .map_err(|e| format!("cannot run the writ-verify benchmark: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the writ-verify benchmark failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Lines read `<what>: <n> verifications/s on one thread (…)`.
    let rows: Vec<Value> = stdout
        .lines()
        .filter_map(|l| {
            let (what, rest) = l.split_once(": ")?;
            let per_second: f64 = rest.split_whitespace().next()?.parse().ok()?;
            Some(json!({ "what": what, "verifications_per_second": per_second }))
        })
        .collect();
    eprintln!("xtask: writ-verify {rows:?}");
    Ok(rows)
}

/// Everything a run measured.
struct Report {
    tokens: Vec<Value>,
    endpoints: Vec<Value>,
    verify: Vec<Value>,
    /// `cargo xtask bench --client-auth`'s rows, kept across the other runs.
    client_auth: Vec<Value>,
    /// `cargo xtask bench --delegated`'s rows, likewise.
    delegated: Vec<Value>,
}

/// The report as last written, from docs/benchmarks.json.
fn last_report() -> Result<Report, String> {
    let text = std::fs::read_to_string(root().join("docs/benchmarks.json")).map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let rows = |k: &str| doc[k].as_array().cloned().unwrap_or_default();
    Ok(Report {
        tokens: rows("token_endpoint"),
        endpoints: rows("endpoints"),
        verify: rows("writ_verify"),
        client_auth: rows("client_authentication"),
        delegated: rows("delegated"),
    })
}

/// Writes `cargo xtask bench --client-auth`'s rows into the report, the rest as it was.
pub(crate) fn record_client_auth(rows: Vec<Value>) -> Result<(), String> {
    report(&Report { client_auth: rows, ..last_report()? })
}

/// Writes `cargo xtask bench --delegated`'s rows into the report, the rest as it was.
pub(crate) fn record_delegated(rows: Vec<Value>) -> Result<(), String> {
    report(&Report { delegated: rows, ..last_report()? })
}

fn report(report: &Report) -> Result<(), String> {
    let rows = &report.tokens;
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let doc = json!({
        "machine": { "cpu": machine, "cores": cores },
        "token_endpoint": rows,
        "endpoints": report.endpoints,
        "writ_verify": report.verify,
        "client_authentication": report.client_auth,
        "delegated": report.delegated,
    });
    let json_path = root().join("docs/benchmarks.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n")
        .map_err(|e| e.to_string())?;
    let mut md = String::from(
        "# Benchmarks\n\nWritten by `cargo xtask bench` (machine-readable: `benchmarks.json`). The token endpoint under \
         wrk on loopback, the load generator on the same machine; each client authenticates with HTTP Basic and is \
         picked at random per request from the active clients (the seeded clients' first 20,000 at most). Each run \
         first warms up by walking every active client in turn (cold client cache: the `warm-up tok/s` column), \
         waits for the audit writer to catch up, then measures. CPU is the server process's user + system time over \
         the run (from /proc), divided by the tokens issued. Peak RSS is each row's own (warm-up and run); `cached \
         clients` is the client cache's size after the run (`writ_client_cache_entries`).\n\n",
    );
    md.push_str(&format!("Machine: {machine}, {cores} cores.\n\n"));
    md.push_str("| configuration | clients | active | connections | tokens/s | p50 ms | p99 ms | p99.9 ms | CPU µs/token | server cores | peak RSS MiB | cached clients | errors | warm-up tok/s |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.0} | {} | {} | {:.0} |\n",
            r["config"].as_str().unwrap_or(""),
            r["clients"],
            r["active_clients"],
            r["connections"],
            load_cells(r),
            r["server_cpu_cores"].as_f64().unwrap_or(0.0),
            r["peak_rss_mib"].as_f64().unwrap_or(0.0),
            r["cached_clients"].as_f64().map_or("–".to_owned(), |n| format!("{n:.0}")),
            r["errors"],
            r["warm_up_tokens_per_second"].as_f64().unwrap_or(0.0),
        ));
    }
    md.push_str(&ratios(rows));
    md.push_str(&endpoints(&report.endpoints));
    if !report.verify.is_empty() {
        md.push_str(
            "\n## writ-verify\n\nA resource server verifying ES256 tokens in process, on one thread \
             (`cargo run --release -p writ-verify --example bench`): a fresh token costs a signature check, a \
             token seen before is a cache hit.\n\n| what | verifications/s |\n|---|---|\n",
        );
        for r in &report.verify {
            md.push_str(&format!(
                "| {} | {:.0} |\n",
                r["what"].as_str().unwrap_or(""),
                r["verifications_per_second"].as_f64().unwrap_or(0.0)
            ));
        }
    }
    md.push_str(&client_auth(&report.client_auth));
    md.push_str(&delegated(&report.delegated));
    md.push_str(
        "\nWhere the time goes, the targets and what would close the gaps: [performance.md](performance.md).\n",
    );
    std::fs::write(root().join("docs/benchmarks.md"), md).map_err(|e| e.to_string())?;
    eprintln!("xtask: wrote docs/benchmarks.md and docs/benchmarks.json");
    let errors: u64 = rows
        .iter()
        .chain(&report.endpoints)
        .chain(&report.client_auth)
        .chain(&report.delegated)
        .map(|r| r["errors"].as_u64().unwrap_or(0))
        .sum();
    if errors == 0 { Ok(()) } else { Err(format!("{errors} requests failed")) }
}

/// The client-authentication section: each method's rate and cost beside the secret path's.
fn client_auth(rows: &[Value]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let secret = rows
        .iter()
        .find(|r| r["method"] == "client_secret_basic")
        .and_then(|r| r["tokens_per_second"].as_f64())
        .unwrap_or(0.0);
    let mut md = String::from(
        "\n## Client authentication\n\n`cargo xtask bench --client-auth`: one embedded `writ serve`, 1,000 clients per \
         method, 32 connections, then node-oidc-provider in the same run. `private_key_jwt` sends a new ES256 \
         assertion per request (each `jti` once, walked in turn); `federated` sends a Kubernetes-style ES256 token \
         that its client reuses (a trusted issuer with `single_use` off, as for projected service-account tokens). \
         Compare within this table: it is its own run, on the day's machine, apart from the table above.\n\n\
         | server | method | tokens/s | vs secret | p50 ms | p99 ms | p99.9 ms | CPU µs/token | errors |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
        md.push_str(&format!(
            "| {} | {} | {:.0} | {:.0}% | {:.2} | {:.2} | {:.2} | {:.0} | {} |\n",
            r["config"].as_str().unwrap_or(""),
            r["method"].as_str().unwrap_or(""),
            f("tokens_per_second"),
            100.0 * f("tokens_per_second") / secret.max(1.0),
            f("p50_ms"),
            f("p99_ms"),
            f("p999_ms"),
            f("cpu_us_per_token"),
            r["errors"],
        ));
    }
    md
}

/// The section of the grants acting for a person, and of the pages.
fn delegated(rows: &[Value]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "\n## Acting for a person\n\n`cargo xtask bench --delegated`: 1,000 people who consented to one public agent \
         (its per-client rate limit off: it serves them all), 32 connections; the embedded `writ serve`, then \
         node-oidc-provider in the same run (its in-memory store unbounded: the quick-start one keeps 1,000 entries), \
         then `writ-issuer` on Postgres + Redis. The refresh grant sends each answer's new refresh token next (both \
         servers rotate them; a chain per person); the code exchange walks codes seeded straight into the database, \
         each once, with their PKCE verifier. Pages: the login form (a CSRF token and its cookie each time) and the \
         consent page of a logged-in person (the session, the request, the agent and the scopes' words read each \
         time). Compare within this table: it is its own run.\n\n| server | what | requests/s | p50 ms | p99 ms | \
         p99.9 ms | CPU µs/request | errors |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r["config"].as_str().unwrap_or(""),
            r["what"].as_str().unwrap_or(""),
            load_cells(r),
            r["errors"],
        ));
    }
    let refresh = |config: &str| {
        rows.iter()
            .find(|r| r["config"] == config && r["what"] == "refresh_token (rotated)")
            .and_then(|r| r["tokens_per_second"].as_f64())
    };
    if let (Some(writ), Some(peer)) = (refresh(EMBEDDED), refresh(PEER)) {
        md.push_str(&format!(
            "\nThe refresh grant, Writ ÷ node-oidc-provider: **{:.1}×**.\n",
            writ / peer.max(1.0)
        ));
    }
    md
}

/// A row's rate, latency percentiles and CPU per request, as table cells.
fn load_cells(r: &Value) -> String {
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    format!(
        "{:.0} | {:.2} | {:.2} | {:.2} | {:.0}",
        f("tokens_per_second"),
        f("p50_ms"),
        f("p99_ms"),
        f("p999_ms"),
        f("cpu_us_per_token")
    )
}

/// The JWKS, discovery and introspection rows.
fn endpoints(rows: &[Value]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n## Other endpoints\n\nThe same server and load generator. Introspection: each of 1,000 clients introspects \
         one of its own tokens (HTTP Basic, then signature, revocation and client checks).\n\n| configuration | \
         path | connections | requests/s | p50 ms | p99 ms | p99.9 ms | CPU µs/request | errors |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            r["config"].as_str().unwrap_or(""),
            r["path"].as_str().unwrap_or(""),
            r["connections"],
            load_cells(r),
            r["errors"],
        ));
    }
    out
}

/// Writ's embedded default against the peer, measured in the same run with the same clients and
/// connections: throughput (higher is better for Writ), p99 and CPU per token (peer ÷ Writ).
fn ratios(rows: &[Value]) -> String {
    let mut out = String::from(
        "\n## Writ ÷ peer\n\nThe embedded default against node-oidc-provider, same run, same clients and connections \
         (each ratio above 1 is Writ's advantage).\n\n| clients | connections | throughput | p99 (peer ÷ Writ) | \
         CPU per token (peer ÷ Writ) |\n|---|---|---|---|---|\n",
    );
    let find = |config: &str, r: &Value| {
        rows.iter().find(|x| {
            x["config"] == config && x["clients"] == r["clients"] && x["connections"] == r["connections"]
        })
    };
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    for writ in rows.iter().filter(|r| r["config"] == EMBEDDED) {
        if let Some(peer) = find(PEER, writ) {
            out.push_str(&format!(
                "| {} | {} | {:.1}× | {:.1}× | {:.1}× |\n",
                writ["clients"],
                writ["connections"],
                f(writ, "tokens_per_second") / f(peer, "tokens_per_second").max(1.0),
                f(peer, "p99_ms") / f(writ, "p99_ms").max(0.001),
                f(peer, "cpu_us_per_token") / f(writ, "cpu_us_per_token").max(1.0),
            ));
        }
    }
    out
}
