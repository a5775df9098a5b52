//! `cargo xtask`: project automation.
//!
//! - `cargo xtask ci` runs what CI runs: fmt, clippy, the Helm chart's checks, the OpenAPI drift
//!   check, the tests, and the SDK scenarios.
//! - `cargo xtask openapi [--check]` writes (or checks) the committed specs in `openapi/`.
//! - `cargo xtask bench` measures the token endpoint under load (docs/benchmarks.md).
//! - `cargo xtask sdk` generates the Python and Rust clients from the committed specs and runs each
//!   one's scenario against a live `writ serve` on the embedded default.

mod bench;
mod client_auth;
mod delegated;
mod flood;
mod fuzz;
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("openapi") => openapi(args.iter().any(|a| a == "--check")),
        Some("sdk") => sdk(),
        Some("schemathesis") => fuzz::schemathesis(),
        Some("bench") => bench::bench(&args[1..]),
        _ => Err("usage: cargo xtask <ci | openapi [--check] | sdk | bench [--clients N,…] [--connections C,…] [--seconds S] | bench --flood N | schemathesis>"
            .to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn cargo(args: &[&str]) -> Result<(), String> {
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args(args))
}

/// Runs `cmd` in the repository root; an error names it unless it succeeds.
fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    );
    eprintln!("xtask: {shown}");
    let status = cmd.current_dir(root()).status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{shown} failed")) }
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    openapi(true)?;
    // Lint, render and validate the Helm chart (deploy/requirements.txt).
    run(Command::new("python3").arg("deploy/check.py"))?;
    let (passed, failed) = test()?;
    // One closing line for the whole run: cargo prints a result per test binary, the last of
    // which is usually an empty doc-test run.
    println!("tests: {passed} passed, {failed} failed");
    if failed != 0 {
        return Err("tests failed".into());
    }
    sdk()?;
    fuzz::schemathesis()
}

/// `cargo test --workspace` (the README's test command), passing its output through and adding up
/// its `test result:` lines.
fn test() -> Result<(u64, u64), String> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask: cargo test --workspace");
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--workspace"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let count = |word: &str| -> u64 {
                    rest.split(['.', ';'])
                        .find_map(|part| part.trim().strip_suffix(word)?.trim().parse().ok())
                        .unwrap_or(0)
                };
                passed += count("passed");
                failed += count("failed");
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() && failed == 0 {
        return Err("cargo test failed".into());
    }
    Ok((passed, failed))
}

fn openapi(check: bool) -> Result<(), String> {
    let dir = root().join("openapi");
    let mut stale = Vec::new();
    for (name, doc) in writ::openapi_documents() {
        let path = dir.join(format!("{name}.json"));
        let fresh = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n";
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == fresh {
            continue;
        }
        if check {
            stale.push(path.display().to_string());
        } else {
            std::fs::write(&path, fresh).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("xtask: wrote {}", path.display());
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!("out of date: {} — run `cargo xtask openapi`", stale.join(", ")))
    }
}

/// A `writ serve` on the embedded default in a temporary directory, stopped and removed when dropped.
struct LiveWrit {
    // Fields drop in order: the server is stopped before its directory goes.
    server: server::Server,
    dir: RemovedOnDrop,
}

/// A directory removed when dropped.
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl LiveWrit {
    fn start() -> Result<Self, String> {
        cargo(&["build", "-p", "writ"])?;
        let dir = std::env::temp_dir().join(format!("writ-sdk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let env = [("WRIT_DATA_DIR", dir.join("data").display().to_string())];
        let binary = server::target_dir().join("debug/writ");
        let server = server::Server::start(&binary, &["serve"], &env, &dir.join("serve.log"), "/readyz")?;
        // Ready may come a moment before the operator's credential is written.
        for _ in 0..100 {
            if dir.join("data/operator.json").exists() {
                return Ok(Self { server, dir: RemovedOnDrop(dir) });
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err("writ serve wrote no operator.json".into())
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// The operator's (client id, client secret).
    fn operator(&self) -> Result<(String, String), String> {
        let path = self.dir.0.join("data/operator.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let field = |k: &str| v[k].as_str().map(str::to_owned).ok_or(format!("operator.json has no {k}"));
        Ok((field("client_id")?, field("client_secret")?))
    }
}

/// Generates the SDKs from the committed specs and runs their scenarios against a live Writ.
fn sdk() -> Result<(), String> {
    let manifest = root().join("crates/writ-sdk/Cargo.toml");
    let manifest = manifest.to_string_lossy();
    cargo(&["fmt", "--manifest-path", &manifest, "--", "--check"])?;
    cargo(&["clippy", "--manifest-path", &manifest, "--all-targets", "--", "-D", "warnings"])?;
    let writ = LiveWrit::start()?;
    let (id, secret) = writ.operator()?;
    let url = writ.url();
    let env = [
        ("WRIT_URL", url.as_str()),
        ("WRIT_CLIENT_ID", id.as_str()),
        ("WRIT_CLIENT_SECRET", secret.as_str()),
    ];

    // Python: openapi-python-client, one package per document.
    let py = writ.dir.0.join("python");
    for name in ["admin", "issuer"] {
        run(Command::new("openapi-python-client")
            .args(["generate", "--overwrite", "--meta", "none", "--path"])
            .arg(root().join(format!("openapi/{name}.json")))
            .arg("--output-path")
            .arg(py.join(format!("writ_{name}"))))?;
    }
    run(Command::new("python3").arg("crates/writ-sdk/python/scenario.py").arg(&py).envs(env))?;

    // Rust: progenitor, generated by the crate's build script.
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--quiet", "--manifest-path", &manifest, "--example", "scenario"])
        .envs(env))
}
