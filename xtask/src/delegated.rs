//! `cargo xtask bench --delegated`: the grants that act for a person, on one embedded `writ serve`
//! — the refresh grant (each answer's new refresh token sent next, as a rotating client does) and
//! the code exchange (each code once) — beside node-oidc-provider's refresh grant, rotating too,
//! in the same run; and the CPU a page costs (the login form, and the consent page of a logged-in
//! person). People, consents, refresh tokens and codes are seeded straight into the database
//! (`writ bench-seed-people`). The rows go into `docs/benchmarks.json` (`delegated`) and
//! `docs/benchmarks.md`.

use std::path::Path;

use serde_json::Value;

use crate::bench::{self, Load, Order};
use crate::server::{Server, target_dir};

/// Refresh chains per server: each person's authorization rotates its own.
const PEOPLE: usize = 1_000;
const CONNECTIONS: u32 = 32;

pub fn run(seconds: u32) -> Result<(), String> {
    bench::ensure_wrk()?;
    crate::cargo(&["build", "--release", "-p", "writ", "-p", "writ-issuer"])?;
    let work = std::env::temp_dir().join(format!("writ-bench-delegated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let dir = work.join("embedded");
    let env =
        vec![("WRIT_DATA_DIR", dir.join("data").display().to_string()), ("WRIT_LOG", "info".to_owned())];
    let mut rows = measure_writ(bench::EMBEDDED, "writ", &["serve"], &dir, &env, seconds, true)?;

    // The peer: as many people, each with a refresh token of a public agent, rotated on use.
    let peer_tokens = work.join("peer-refresh.txt");
    let peer_env =
        vec![("PEOPLE", (2 * PEOPLE).to_string()), ("PEOPLE_OUT", peer_tokens.display().to_string())];
    let peer = bench::start_peer(&work, &peer_env, &work.join("peer.log"))?;
    let (peer_warm, peer_refresh) = split(&work, "peer-refresh.txt", PEOPLE)?;
    rows.push(with_what(
        bench::measure(
            bench::PEER,
            &peer,
            &Load {
                requests: Some(&peer_refresh),
                warm: Some(&peer_warm),
                order: Order::Chain,
                path: "/token",
                body: "grant_type=refresh_token",
            },
            PEOPLE,
            CONNECTIONS,
            seconds,
        )?,
        REFRESH,
    ));
    drop(peer);

    // Production: the split issuer on Postgres and Redis, the grants only.
    if bench::postgres_and_redis() {
        let dir = work.join("production");
        let env = vec![
            ("WRIT_DATA_DIR", dir.join("data").display().to_string()),
            ("WRIT_DATABASE_URL", bench::fresh_database("writ_bench_delegated")?),
            ("WRIT_REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
            ("WRIT_REDIS_PREFIX", format!("writbench{}:", std::process::id())),
            ("WRIT_LOG", "info".to_owned()),
        ];
        rows.extend(measure_writ(bench::PRODUCTION, "writ-issuer", &[], &dir, &env, seconds, false)?);
    } else {
        eprintln!("xtask: Postgres or Redis is not reachable; skipping the production configuration");
    }
    let _ = std::fs::remove_dir_all(&work);
    bench::record_delegated(rows)
}

const REFRESH: &str = "refresh_token (rotated)";

/// Seeds a deployment (`env`) and measures `binary`'s refresh grant and code exchange, and with
/// `pages` its login and consent pages.
fn measure_writ(
    config: &str,
    binary: &str,
    args: &[&str],
    dir: &Path,
    env: &[(&str, String)],
    seconds: u32,
    pages: bool,
) -> Result<Vec<Value>, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    // Codes enough for a generous rate over the warm-up and the run, each used once.
    let codes = 8_000 * (seconds as usize + 5);
    crate::run(
        std::process::Command::new(target_dir().join("release/writ"))
            .args(["bench-seed-people", "--people", &(2 * PEOPLE).to_string(), "--codes", &codes.to_string()])
            .arg("--out")
            .arg(dir)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str()))),
    )?;
    // Half the chains warm up, the other half are measured; likewise the codes.
    let (refresh_warm, refresh) = split(dir, "refresh.txt", PEOPLE)?;
    let (codes_warm, codes) = split(dir, "codes.txt", 2 * PEOPLE)?;
    let server = Server::start(
        &target_dir().join("release").join(binary),
        args,
        env,
        &dir.join("server.log"),
        "/readyz",
    )?;
    let token = |requests, warm, order, body| Load {
        requests: Some(requests),
        warm,
        order,
        path: "/oauth/token",
        body,
    };
    let mut rows = vec![
        with_what(
            bench::measure(
                config,
                &server,
                &token(&refresh, Some(&refresh_warm), Order::Chain, "grant_type=refresh_token"),
                PEOPLE,
                CONNECTIONS,
                seconds,
            )?,
            REFRESH,
        ),
        with_what(
            bench::measure(
                config,
                &server,
                &token(&codes, Some(&codes_warm), Order::Once, "grant_type=authorization_code"),
                PEOPLE,
                CONNECTIONS,
                seconds,
            )?,
            "authorization_code (PKCE)",
        ),
    ];
    if pages {
        let page = dir.join("page.txt");
        rows.push(with_what(
            bench::measure(config, &server, &Load::get("/oauth/login"), 1, CONNECTIONS, seconds)?,
            "page: login form",
        ));
        let consent =
            Load { requests: Some(&page), warm: None, order: Order::Page, path: "/oauth/consent", body: "" };
        rows.push(with_what(
            bench::measure(config, &server, &consent, 1, CONNECTIONS, seconds)?,
            "page: consent (logged in)",
        ));
    }
    Ok(rows)
}

/// `name` cut after its first `first` lines: (those, the rest), as two files.
fn split(dir: &Path, name: &str, first: usize) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    let text = std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= first {
        return Err(format!("{name}: {} lines, more than {first} needed", lines.len()));
    }
    let (a, b) = lines.split_at(first);
    let write = |suffix: &str, part: &[&str]| {
        let path = dir.join(format!("{name}.{suffix}"));
        std::fs::write(&path, part.join("\n") + "\n").map(|()| path).map_err(|e| e.to_string())
    };
    Ok((write("warm", a)?, write("run", b)?))
}

fn with_what(mut row: Value, what: &str) -> Value {
    row["what"] = what.into();
    row
}
