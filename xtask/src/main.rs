//! `cargo xtask`: project automation.
//!
//! - `cargo xtask ci` runs what CI runs: fmt, clippy, the tests, and the OpenAPI drift check.
//! - `cargo xtask openapi [--check]` writes (or checks) the committed specs in `openapi/`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("openapi") => openapi(args.iter().any(|a| a == "--check")),
        _ => Err("usage: cargo xtask <ci | openapi [--check]>".to_owned()),
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
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo {} failed", args.join(" "))) }
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    openapi(true)?;
    let (passed, failed) = test()?;
    // One closing line for the whole run: cargo prints a result per test binary, the last of
    // which is usually an empty doc-test run.
    println!("tests: {passed} passed, {failed} failed");
    if failed == 0 { Ok(()) } else { Err("tests failed".into()) }
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
