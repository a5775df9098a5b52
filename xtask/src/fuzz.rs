//! `cargo xtask schemathesis`: schemathesis (PyPI, `xtask/schemathesis/requirements.txt`) against a
//! live `writ serve`, every document, every phase — examples, coverage, fuzzing and stateful (links
//! inferred from the answers) — within a time budget per run. A server error, an answer that breaks
//! its schema, an undocumented status, content type or header fails the run.
//!
//! The fuzzer calls as the operator and may do anything the operator may, its own lockout included:
//! it can add a secret, delete the operator's original one, and revoke the signing key. So the two
//! operations that can end the operator's access run last, on their own, and every request takes a
//! token fetched at most a second earlier (`xtask/schemathesis/hooks.py`), as revocations cover
//! the second they are made in.

use std::process::Command;

use crate::{LiveWrit, root, run};

/// What a run checks: everything that says the server and its documents agree.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

/// The operations that can lock the operator out of its own deployment.
const SELF_LOCKING: &str =
    "^/admin/v1/(keys/\\{kid\\}/revoke|clients/\\{client_id\\}/secrets/\\{secret_id\\})$";

pub fn schemathesis() -> Result<(), String> {
    let writ = LiveWrit::start()?;
    let (id, secret) = writ.operator()?;
    let url = writ.url();
    // (document, the audience of its tokens, seconds, which operations)
    let runs: [(&str, &str, u32, &[&str]); 4] = [
        ("guard", "urn:writ:guard", 30, &[]),
        ("issuer", "", 30, &[]),
        ("admin", "urn:writ:admin", 60, &["--exclude-path-regex", SELF_LOCKING]),
        ("admin", "urn:writ:admin", 15, &["--include-path-regex", SELF_LOCKING]),
    ];
    for (name, resource, seconds, filter) in runs {
        let command = || {
            let mut cmd = Command::new("schemathesis");
            cmd.arg("run")
                .arg(format!("{url}/openapi/{name}.json"))
                .args(["--url", &url, "--checks", CHECKS, "--workers", "2", "--seed", "1"])
                .args(["--phases", "examples,coverage,fuzzing,stateful", "--max-time", &seconds.to_string()])
                .args(filter)
                .env("SCHEMATHESIS_HOOKS", "hooks")
                .env("PYTHONPATH", root().join("xtask/schemathesis"))
                .env("WRIT_ST_URL", &url)
                .env("WRIT_ST_CLIENT_ID", &id)
                .env("WRIT_ST_CLIENT_SECRET", &secret)
                .env("WRIT_ST_RESOURCE", resource);
            cmd
        };
        run_once_more_on_interpreter_crash(command)?;
    }
    Ok(())
}

/// What CPython 3.11 raises when two threads parse Python source at once (hypothesis does, to
/// describe its own lambdas, while schemathesis runs two workers): a crash inside the fuzzer, not
/// a finding about Writ.
const INTERPRETER_CRASH: &str = "AST constructor recursion depth mismatch";

/// Runs a fuzzing run; if it failed only because the interpreter crashed as above, runs it once
/// more (with the same seed, so it covers the same ground). Any other failure stands.
fn run_once_more_on_interpreter_crash(command: impl Fn() -> Command) -> Result<(), String> {
    let mut cmd = command();
    eprintln!("xtask: {:?}", cmd.get_args().collect::<Vec<_>>());
    let out = cmd.current_dir(root()).output().map_err(|e| format!("cannot run schemathesis: {e}"))?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let only_the_crash = text.contains(INTERPRETER_CRASH) && !text.contains("= FAILURES =");
    if !only_the_crash {
        return Err("schemathesis found a problem (above)".into());
    }
    eprintln!(
        "xtask: schemathesis crashed inside the Python interpreter ({INTERPRETER_CRASH}); running it once more"
    );
    run(&mut command())
}
