//! Clients known by their metadata documents (Client ID Metadata Documents, docs/mcp.md), served
//! over HTTPS on loopback by a CA Writ trusts through `fetch_ca_file`: the whole authorization
//! with a URL for a `client_id`, what a document must be, each org's say, what a document fetch
//! costs (nothing while it is cached), and a slow document host that stalls nobody else.

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde_json::{Value, json};
use writ_testkit::{TestApp, on_every_backend_with};

use super::delegation::{
    BILLING, NATIVE, authorize, authorize_url, challenge, claims, param, query_of, token, world,
};
use super::tls::TestCa;

pub(crate) static CA: LazyLock<TestCa> = LazyLock::new(TestCa::new);

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more-entropy";

pub(crate) fn trusting_the_test_ca(s: &mut writ_app::settings::Settings) {
    s.fetch_ca_file = Some(CA.ca_file.clone());
}

on_every_backend_with!(super::trusting_the_test_ca;
    a_client_known_by_its_document_acts_for_a_person,
    what_a_document_must_be_and_what_an_org_allows);

/// An HTTPS server publishing `document(url)` at `/client.json`, where `url` is the document's
/// own URL; the URL and the count of requests it got.
fn publish(
    document: impl Fn(&str) -> Value + Send + Sync + 'static,
) -> (String, Arc<std::sync::atomic::AtomicU64>) {
    let url = Arc::new(std::sync::OnceLock::<String>::new());
    let own = url.clone();
    let (base, hits) = CA.serve(Duration::ZERO, move |_| {
        let body = document(own.get().map_or("", String::as_str)).to_string();
        super::fetch::ok(&body, "max-age=3600")
    });
    let _ = url.set(format!("{base}/client.json"));
    (url.get().unwrap().clone(), hits)
}

fn claude(url: &str) -> Value {
    json!({"client_id": url, "client_name": "Claude Desktop", "redirect_uris": [NATIVE],
           "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none"})
}

async fn a_client_known_by_its_document_acts_for_a_person(app: TestApp) {
    let (url, hits) = publish(claude);
    let (_, metadata) = app.get("/.well-known/oauth-authorization-server", "").await;
    assert_eq!(metadata["client_id_metadata_document_supported"], true);
    let mut w = world(&app).await;

    // The consent page names the client as it names itself, and where it is published, and warns
    // that a loopback-only client is whatever runs on the person's machine.
    let start = w
        .browser
        .get(&authorize_url(&[
            ("response_type", "code"),
            ("client_id", &url),
            ("redirect_uri", "http://127.0.0.1:53682/callback"),
            ("state", "s-1"),
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
            ("resource", BILLING),
        ]))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let page = w.browser.get(start.location()).await;
    assert_eq!(page.status, 200, "{} {}", page.location(), page.body);
    for shown in ["Claude Desktop", "describes itself on <strong>127.0.0.1</strong>", "anyone can publish"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let (csrf, request) = (page.field("csrf").unwrap(), page.field("request").unwrap());
    let allowed = w
        .browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")])
        .await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    let back = query_of(allowed.location());
    assert_eq!(param(&back, "state"), Some("s-1"));
    let code = param(&back, "code").unwrap().to_owned();

    // The token endpoint knows the client by the same URL; the person's token holds what the
    // org and the person hold (Ada may only read), nothing registered for the client.
    let (status, tokens) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &url),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:53682/callback"),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        (access["sub"].as_str(), access["scope"].as_str()),
        (Some(w.user.as_str()), Some("invoices:read"))
    );
    assert_eq!((access["aud"].as_str(), access["oid"].as_str()), (Some(BILLING), Some(w.org.as_str())));
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = token(
        &app,
        &[("grant_type", "refresh_token"), ("client_id", &url), ("refresh_token", &refresh_token)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    // Another URL's client, or the registered id's neighbour, cannot use the code's family.
    let (status, body) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &w.native),
            ("refresh_token", refreshed["refresh_token"].as_str().unwrap()),
        ],
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // Authorization, consent, code exchange and two refreshes fetched the document once.
    assert_eq!(hits.load(Ordering::Relaxed), 1, "the document is fetched once while it is cached");
    assert_eq!(app.ctx.fetcher.fetches(), 1);

    // The operator sees the client Writ keeps for the URL, registered by Writ itself (audited).
    let (_, listed) = app.get("/admin/v1/clients?limit=100", &w.op).await;
    let client =
        listed["data"].as_array().unwrap().iter().find(|c| c["metadata_url"] == url.as_str()).unwrap();
    assert_eq!((client["kind"].as_str(), client["name"].as_str()), (Some("service"), Some("Claude Desktop")));
    assert_eq!(client["token_endpoint_auth_methods"], json!(["none"]));
    assert_eq!(client["redirect_uris"], json!([NATIVE]));
    let id = client["client_id"].as_str().unwrap().to_owned();
    assert_eq!(access["client_id"].as_str(), Some(id.as_str()));
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?action=client.created&client_id={id}"), &w.op).await;
    let event = &events["data"][0];
    assert_eq!(event["actor"]["kind"], "system", "{events}");
    assert_eq!(event["details"]["metadata_url"].as_str(), Some(url.as_str()));

    // The operator disables it: the next authorization is refused, whatever the document says.
    let (status, body) =
        app.patch(&format!("/admin/v1/clients/{id}"), &w.op, &json!({"status": "disabled"})).await;
    assert_eq!(status, 200, "{body}");
    let refused = w.browser.get(&authorize_url(&[("response_type", "code"), ("client_id", &url)])).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
}

/// The clients the operator sees.
async fn clients(app: &TestApp, op: &str) -> Vec<Value> {
    let (status, listed) = app.get("/admin/v1/clients?limit=100", op).await;
    assert_eq!(status, 200, "{listed}");
    listed["data"].as_array().unwrap().clone()
}

async fn what_a_document_must_be_and_what_an_org_allows(app: TestApp) {
    let mut w = world(&app).await;
    let before = clients(&app, &w.op).await.len();
    let start = |client_id: &str, redirect_uri: &str| {
        authorize_url(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "invoices:read"),
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ])
    };
    // Documents Writ refuses, each told on Writ's own page (never sent to a redirect URI).
    let (other, _) =
        publish(|_| json!({"client_id": "https://elsewhere.example/client.json", "redirect_uris": [NATIVE]}));
    let (evil_redirect, _) =
        publish(|url| json!({"client_id": url, "redirect_uris": ["http://evil.example/cb"]}));
    let (secret, _) =
        publish(|url| json!({"client_id": url, "redirect_uris": [NATIVE], "client_secret": "s"}));
    let (not_json, _) = CA.serve(Duration::ZERO, |_| super::fetch::ok("<html>", "max-age=60"));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("https://127.0.0.1:{}/client.json", l.local_addr().unwrap().port())
    };
    for (client_id, why) in [
        (other.as_str(), "client_id"),
        (evil_redirect.as_str(), "http is allowed only on a loopback host"),
        (secret.as_str(), "secret"),
        (&format!("{not_json}/client.json"), "could not be fetched"),
        (&closed, "could not be fetched"),
        ("https://127.0.0.1/", "path"),
    ] {
        let page = w.browser.get(&start(client_id, NATIVE)).await;
        assert_eq!(page.status, 400, "{client_id}: {}", page.body);
        assert!(page.body.contains(why), "{client_id}: {why}: {}", page.body);
        assert!(page.location().is_empty(), "{client_id}: nothing goes to a redirect URI");
    }
    // Why a fetch failed is logged, never shown: it would say what names resolve to inside.
    let page = w.browser.get(&start(&closed, NATIVE)).await;
    assert!(
        !page.body.contains("Connection refused") && !page.body.contains("error sending"),
        "{}",
        page.body
    );
    // A plain-HTTP URL is not a document's URL, so not a client Writ knows.
    let page = w.browser.get(&start("http://127.0.0.1:1/client.json", NATIVE)).await;
    assert!(page.body.contains("not known"), "{}", page.body);
    // At the token endpoint, any such client is `invalid_client`.
    let (status, body) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &other),
            ("code", "x"),
            ("redirect_uri", NATIVE),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(clients(&app, &w.op).await.len(), before, "no client was made for a refused document");

    // A good document: only its redirect URIs are allowed.
    let (url, _) = publish(claude);
    let page = w.browser.get(&start(&url, "https://agent.example.com/cb")).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("redirect_uri"), "{}", page.body);
    let redirect = authorize(&mut w.browser, &url, "http://127.0.0.1:4000/callback", "invoices:read").await;
    assert!(param(&query_of(&redirect), "code").is_some(), "{redirect}");

    // The org narrows the hosts, then refuses such clients: the person is told, and the client
    // hears access_denied; a tenant's policy is validated.
    for (policy, allowed) in [
        (json!({"hosts": ["*.example.com"]}), false),
        (json!({"hosts": ["127.0.0.1", "claude.ai"]}), true),
        (json!({"allowed": false}), false),
    ] {
        let (status, org) =
            app.patch(&format!("/admin/v1/orgs/{}", w.org), &w.op, &json!({"url_clients": policy})).await;
        assert_eq!(status, 200, "{org}");
        let start = w.browser.get(&start(&url, NATIVE)).await;
        assert_eq!(start.status, 303, "{}", start.body);
        let next = w.browser.get(start.location()).await;
        let error = param(&query_of(next.location()), "error").map(str::to_owned);
        match allowed {
            true => assert!(error.is_none(), "{policy}: {}", next.location()),
            false => assert_eq!(error.as_deref(), Some("access_denied"), "{policy}: {}", next.body),
        }
    }
    let (status, body) = app
        .patch(&format!("/admin/v1/orgs/{}", w.org), &w.op, &json!({"url_clients": {"hosts": ["HTTPS://x"]}}))
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?action=org.updated&org_id={}", w.org), &w.op).await;
    let last = events["data"].as_array().unwrap().last().unwrap();
    assert_eq!(last["details"]["url_clients"], json!({"allowed": false, "hosts": []}), "{events}");

    // The document changes: Writ follows it when it fetches it again (audited as its own change).
    let (status, _) =
        app.patch(&format!("/admin/v1/orgs/{}", w.org), &w.op, &json!({"url_clients": {}})).await;
    assert_eq!(status, 200);
    let name = Arc::new(std::sync::Mutex::new("First name"));
    let named = name.clone();
    let (url, _) = publish(
        move |url| json!({"client_id": url, "redirect_uris": [NATIVE], "client_name": *named.lock().unwrap()}),
    );
    authorize(&mut w.browser, &url, NATIVE, "invoices:read").await;
    *name.lock().unwrap() = "Second name";
    app.ctx.fetcher.forget(&url);
    let start = w.browser.get(&start(&url, NATIVE)).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let all = clients(&app, &w.op).await;
    let client = all.iter().find(|c| c["metadata_url"] == url.as_str()).unwrap();
    assert_eq!(client["name"], "Second name");
    let target = client["client_id"].as_str().unwrap();
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?action=client.updated&client_id={target}"), &w.op).await;
    assert_eq!(events["data"][0]["details"]["name"], "Second name", "{events}");
    assert_eq!(all.iter().filter(|c| c["metadata_url"] == url.as_str()).count(), 1, "one client per URL");
}

/// A document host slower than the fetcher waits (5 s) holds up only the requests that need its
/// document, and them only until the fetcher gives up; they share one fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_document_host_stalls_nobody() {
    let app =
        writ_testkit::spawn_app_with(writ_testkit::Backend::Sqlite, trusting_the_test_ca).await.unwrap();
    let mut w = world(&app).await;
    let (fast, _) = publish(claude);
    let (slow_base, slow_hits) = CA.serve(Duration::from_secs(8), |_| super::fetch::ok("{}", "max-age=60"));
    let slow = app.url(&authorize_url(&[
        ("response_type", "code"),
        ("client_id", &format!("{slow_base}/client.json")),
    ]));
    let waiting: Vec<_> = (0..10)
        .map(|_| {
            let (http, slow) = (app.http.clone(), slow.clone());
            tokio::spawn(async move { http.get(slow).send().await.unwrap().status().as_u16() })
        })
        .collect();
    while slow_hits.load(Ordering::Relaxed) == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Meanwhile a person authorizes a client whose document is quick, and a machine gets a token.
    let redirect = authorize(&mut w.browser, &fast, NATIVE, "invoices:read").await;
    assert!(param(&query_of(&redirect), "code").is_some(), "{redirect}");
    let (id, secret) = app.create_org_client(&w.op, &w.org, &[(BILLING, &["invoices:read"])]).await;
    app.token(&id, &secret, &[]).await;
    assert!(waiting.iter().all(|t| !t.is_finished()), "all this while the slow host had not answered");
    for t in waiting {
        assert_eq!(t.await.unwrap(), 400, "the fetcher gave up on the slow host");
    }
    assert_eq!(slow_hits.load(Ordering::Relaxed), 1, "ten requests for one document: one fetch");
}

/// Documents that cannot be used count against the address naming them: past the limit, that
/// address is refused before anything more is resolved or fetched for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_documents_are_limited_per_address() {
    let settings = |s: &mut writ_app::settings::Settings| {
        trusting_the_test_ca(s);
        s.failed_auth_per_address_per_minute = 3;
    };
    let app = writ_testkit::spawn_app_with(writ_testkit::Backend::Sqlite, settings).await.unwrap();
    let (bad, hits) = CA.serve(Duration::ZERO, |_| super::fetch::ok("{}", "max-age=60"));
    let start = |url: String| app.url(&authorize_url(&[("response_type", "code"), ("client_id", &url)]));
    for i in 0..3 {
        let res = app.http.get(start(format!("{bad}/made-up-{i}.json"))).send().await.unwrap();
        assert_eq!(res.status(), 400);
    }
    assert_eq!(hits.load(Ordering::Relaxed), 3);
    let (good, _) = publish(claude);
    let res = app.http.get(start(good)).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    let res = app.http.get(start(format!("{bad}/made-up-4.json"))).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(hits.load(Ordering::Relaxed), 3, "nothing more was fetched for that address");
}
