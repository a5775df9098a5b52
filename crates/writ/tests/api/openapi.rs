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
