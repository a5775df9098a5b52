//! The committed OpenAPI specs are generated files: they must match what the code generates.

#[test]
fn committed_specs_match_the_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi");
    for (name, doc) in writ::openapi_documents() {
        let fresh = doc.to_pretty_json().unwrap() + "\n";
        let committed = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap_or_default();
        assert!(committed == fresh, "openapi/{name}.json is out of date: run `cargo xtask openapi`");
    }
}
