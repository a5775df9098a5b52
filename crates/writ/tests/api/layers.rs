//! The direction of dependencies (docs/architecture.md): binaries → service libraries → writ-http
//! → writ-app → store, token, guard store → core. Read from `cargo metadata`, so a new dependency
//! that breaks a layer fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};

/// Every package of the build graph, with its dependencies (by name).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    // Only this machine's platform: the others' packages may not be downloaded.
    let rustc = std::process::Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(rustc.stdout).unwrap();
    let host = host.lines().find_map(|l| l.strip_prefix("host: ")).unwrap().to_owned();
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                // Normal dependencies only: what a crate's tests use is not part of its layer.
                .filter(|d| d["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null()))
                .map(|d| name_of[d["pkg"].as_str().unwrap()].to_owned())
                .collect();
            (name_of[node["id"].as_str().unwrap()].to_owned(), deps)
        })
        .collect()
}

/// Everything `root` depends on, directly or not.
fn closure(graph: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_owned()];
    while let Some(next) = todo.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

/// The layers, lowest first. A crate may depend on crates of lower layers only: never on one of
/// its own layer (the service crates never on each other) or above.
const LAYERS: &[&[&str]] = &[
    &["writ-core"],
    &["writ-token", "writ-guard-store", "writ-migration"],
    &["writ-store"],
    &["writ-app"],
    &["writ-http"],
    &["writ-issuer", "writ-admin", "writ-guard"],
];

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let graph = graph();
    for (level, layer) in LAYERS.iter().enumerate() {
        let below: Vec<&str> = LAYERS[..level].iter().flat_map(|l| l.iter().copied()).collect();
        for krate in *layer {
            for dep in closure(&graph, krate).iter().filter(|d| *d == "writ" || d.starts_with("writ-")) {
                assert!(below.contains(&dep.as_str()), "{krate} depends on {dep}, which is not below it");
            }
        }
    }
}

#[test]
fn the_use_cases_know_no_http() {
    let graph = graph();
    for krate in ["writ-app", "writ-store", "writ-token", "writ-guard-store", "writ-core"] {
        let http: Vec<String> = closure(&graph, krate)
            .into_iter()
            .filter(|d| d.starts_with("actix") || d == "utoipa" || d.starts_with("tracing-actix"))
            .collect();
        assert!(http.is_empty(), "{krate} depends on {http:?}");
    }
}

/// Handlers read the request, call one use case and render its answer: none of them reaches a
/// repository. The files that hold handlers are read for any repository of `writ-store`.
#[test]
fn no_handler_calls_a_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<std::path::PathBuf> = ["writ-admin/src/routes", "writ-issuer/src", "writ-guard/src"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().path()))
        .collect();
    files.push(root.join("writ-http/src/health.rs"));
    let repositories =
        ["Orgs", "Users", "Clients", "Resources", "Keys", "Audit", "SystemState", "IdempotencyKeys"];
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for repo in repositories {
            assert!(
                !text.contains(&format!("{repo}::new(")),
                "{} reaches the repository {repo}",
                file.display()
            );
        }
        assert!(!text.contains("load_credentials"), "{} reads client credentials itself", file.display());
    }
}
