//! The OpenAPI documents: generated from the code, committed, complete, and served.

use writ_testkit::{TestApp, on_every_backend};

on_every_backend!(documents_and_the_reference_page_are_served);

#[test]
fn committed_specs_match_the_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi");
    for (name, doc) in writ::openapi_documents() {
        let fresh = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        let committed = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap_or_default();
        assert!(committed == fresh, "openapi/{name}.json is out of date: run `cargo xtask openapi`");
    }
}

/// Every operation of every document: a summary, its security (bearer routes naming their scope),
/// its error answers, and an example on each request and response body.
#[test]
fn every_operation_is_fully_described() {
    let mut operations = 0;
    for (name, doc) in writ::openapi_documents() {
        assert_eq!(doc["openapi"], "3.1.0", "{name}");
        let gaps = writ_http::openapi::gaps(&doc);
        assert!(gaps.is_empty(), "openapi/{name}.json:\n{}", gaps.join("\n"));
        operations +=
            doc["paths"].as_object().unwrap().values().map(|i| i.as_object().unwrap().len()).sum::<usize>();
    }
    assert!(operations >= 39, "only {operations} operations documented");
}

async fn documents_and_the_reference_page_are_served(app: TestApp) {
    for (name, doc) in writ::openapi_documents() {
        let res = app.http.get(app.url(&format!("/openapi/{name}.json"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.json::<serde_json::Value>().await.unwrap(), doc);
    }
    let page = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/openapi/"));
    assert!(!html.contains("https://"), "the reference page loads nothing from elsewhere");
    assert_eq!(app.http.get(app.url("/openapi/nothing.json")).send().await.unwrap().status(), 404);
}

/// The request schemas state the limits the validators enforce, so generated clients and fuzzers
/// know them (issue 17, point 7).
#[test]
fn request_schemas_state_the_limits() {
    let docs = writ::openapi_documents();
    let admin = &docs.iter().find(|(n, _)| *n == "admin").unwrap().1;
    let property =
        |schema: &str, name: &str| admin["components"]["schemas"][schema]["properties"][name].clone();
    assert_eq!(property("CreateOrg", "name")["maxLength"], writ_core::Name::MAX_CHARS);
    assert_eq!(property("CreateOrg", "slug")["maxLength"], 63);
    assert_eq!(property("CreateOrg", "metadata")["maxProperties"], writ_core::Metadata::MAX_KEYS);
    assert_eq!(property("UpdateClient", "token_ttl_seconds")["maximum"], writ_core::TokenTtl::MAX);
    assert_eq!(property("CreateClient", "org_id")["pattern"], "^org_[0-7][0-9a-hjkmnp-tv-z]{25}$");
    assert_eq!(property("ScopeDto", "name")["maxLength"], writ_core::ScopeName::MAX_LEN);
    assert!(property("GrantDto", "scopes")["items"]["pattern"].is_string());
    // Every operation that reads input says what it answers when it cannot.
    for (path, item) in admin["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(op["responses"].get(status).is_some(), "{method} {path} lacks {status}");
                }
            }
        }
    }
}
