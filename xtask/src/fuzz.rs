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
        run(&mut cmd)?;
    }
    Ok(())
}
