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
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo(args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed", args.join(" ")))
    }
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    cargo(&["test", "--workspace"])?;
    openapi(true)
}

fn openapi(check: bool) -> Result<(), String> {
    let dir = root().join("openapi");
    let mut stale = Vec::new();
    for (name, doc) in writ::openapi_documents() {
        let path = dir.join(format!("{name}.json"));
        let fresh = doc.to_pretty_json().map_err(|e| e.to_string())? + "\n";
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
        Err(format!(
            "out of date: {} — run `cargo xtask openapi`",
            stale.join(", ")
        ))
    }
}
