//! writ-verify against a real Writ over a real socket: discovery, the checks, scopes, key
//! rotation, forged key ids, and the token cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;
use writ_core::SigningAlg;
use writ_testkit::{Backend, TestApp, spawn_app};
use writ_token::{AccessClaims, Audience};
use writ_verify::{SetupError, Verifier, VerifierConfig, VerifyError};

const BILLING: &str = "https://api.example.com/billing";

/// A Writ with a billing API and a client of it: (app, client id, secret).
async fn writ() -> (TestApp, String, String) {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    let (id, secret) = app.create_org_client(&op, &org, &[(BILLING, &["invoices:read"])]).await;
    (app, id, secret)
}

async fn verifier(app: &TestApp, adjust: impl FnOnce(&mut VerifierConfig)) -> Verifier {
    let mut config = VerifierConfig::new(app.ctx.issuer.clone(), BILLING);
    adjust(&mut config);
    Verifier::new(config).await.unwrap()
}

fn signed(app: &TestApp, f: impl FnOnce(&mut AccessClaims)) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = AccessClaims {
        iss: app.ctx.issuer.clone(),
        sub: "cli_x".into(),
        client_id: "cli_x".into(),
        aud: Audience::One(BILLING.into()),
        scope: "invoices:read".into(),
        iat: now,
        nbf: now,
        exp: now + 600,
        jti: "j1".into(),
        oid: None,
        uid: None,
        cred: None,
    };
    f(&mut claims);
    app.ctx.keys().sign(SigningAlg::ES256, writ_token::TOKEN_TYPE, &claims).unwrap().0
}

fn invalid(r: Result<writ_verify::Claims, VerifyError>) -> String {
    match r {
        Err(VerifyError::InvalidToken(why)) => why,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_and_scopes_required() {
    let (app, id, secret) = writ().await;
    let v = verifier(&app, |_| {}).await;
    let token = app.token(&id, &secret, &[]).await;
    let claims = v.verify(&token).await.unwrap();
    assert_eq!(claims.client_id, id);
    assert!(claims.require(&["invoices:read"]).is_ok());
    let refused = claims.require(&["invoices:read", "invoices:write"]).unwrap_err();
    assert_eq!(
        refused,
        VerifyError::InsufficientScope("invoices:read invoices:write".into()),
        "every scope the route needs, not only the missing one (step-up)"
    );
    assert_eq!(refused.status(), 403);
    let header = v.verify_header(Some(&format!("Bearer {token}"))).await.unwrap();
    assert_eq!(header.jti, claims.jti);
    assert_eq!(v.verify_header(None).await.unwrap_err(), VerifyError::MissingToken);
    assert_eq!(v.verify_header(Some("Basic abc")).await.unwrap_err(), VerifyError::MissingToken);

    // Another audience, expired, not yet valid, another issuer: each invalid_token, with a reason.
    assert!(
        invalid(v.verify(&signed(&app, |c| c.aud = Audience::One("https://other.example".into()))).await)
            .contains("audience")
    );
    assert!(invalid(v.verify(&signed(&app, |c| c.exp -= 3600)).await).contains("expired"));
    assert!(invalid(v.verify(&signed(&app, |c| c.nbf += 3600)).await).contains("not yet valid"));
    assert!(
        invalid(v.verify(&signed(&app, |c| c.iss = "https://evil.example".into())).await).contains("issuer")
    );
    // Tampered payload, `alg: none`, and a header without typ.
    let good = signed(&app, |_| {});
    let parts: Vec<&str> = good.split('.').collect();
    let raised = B64.encode(
        String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap().replace("invoices:read", "invoices:write"),
    );
    assert!(invalid(v.verify(&format!("{}.{raised}.{}", parts[0], parts[2])).await).contains("signature"));
    let kid = writ_token::PublicKeys::kid_of(&good).unwrap();
    let none = B64.encode(json!({"alg": "none", "typ": "at+jwt", "kid": kid}).to_string());
    invalid(v.verify(&format!("{none}.{}.", parts[1])).await);
    let untyped = B64.encode(json!({"alg": "ES256", "kid": kid}).to_string());
    invalid(v.verify(&format!("{untyped}.{}.{}", parts[1], parts[2])).await);
    invalid(v.verify("not-a-jwt").await);

    // The issuer must be the one the metadata names.
    let wrong = Verifier::new(VerifierConfig::new(format!("{}/", app.ctx.issuer), BILLING)).await;
    assert!(wrong.is_ok(), "a trailing slash is the same issuer");
    let wrong = Verifier::new(VerifierConfig::new(app.url("/nothing"), BILLING)).await;
    assert!(matches!(wrong, Err(SetupError::Unreachable { .. })), "{wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_keys_are_fetched_once_and_forged_kids_do_not_flood() {
    let (app, id, secret) = writ().await;
    let v = verifier(&app, |c| c.min_refetch_interval = Duration::from_secs(1)).await;
    assert_eq!(v.jwks_fetches(), 1);
    v.verify(&app.token(&id, &secret, &[]).await).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // A thousand tokens naming made-up keys, at once: exactly one fetch (the first unknown kid
    // past the interval; the others wait for it, then find the interval not yet over), every
    // token refused.
    let forged: Vec<String> = (0..1000)
        .map(|i| {
            let header = B64
                .encode(json!({"alg": "ES256", "typ": "at+jwt", "kid": format!("forged-{i}")}).to_string());
            format!("{header}.e30.c2ln")
        })
        .collect();
    let results = futures_join(&v, &forged).await;
    assert!(results.iter().all(|r| matches!(r, Err(VerifyError::InvalidToken(_)))));
    assert_eq!(v.jwks_fetches(), 2);
    futures_join(&v, &forged).await;
    assert_eq!(v.jwks_fetches(), 2, "and none more within the interval");

    // A rotation the verifier has not seen: the new kid is fetched once, then known.
    let v = verifier(&app, |c| c.min_refetch_interval = Duration::from_millis(0)).await;
    let op = app.operator_token().await;
    let (status, key) = app.post("/admin/v1/keys/rotate", &op, &json!({"immediate": true})).await;
    assert_eq!(status, 201, "{key}");
    let rotated = app.token(&id, &secret, &[]).await;
    assert_eq!(writ_token::PublicKeys::kid_of(&rotated).as_deref(), key["kid"].as_str());
    let before = v.jwks_fetches();
    let claims = v.verify(&rotated).await.unwrap();
    assert_eq!(claims.client_id, id);
    assert_eq!(v.jwks_fetches(), before + 1);
    v.verify(&rotated).await.unwrap();
    assert_eq!(v.jwks_fetches(), before + 1, "known now: no more fetches");
}

async fn futures_join(v: &Verifier, tokens: &[String]) -> Vec<Result<writ_verify::Claims, VerifyError>> {
    let mut tasks = Vec::new();
    for t in tokens {
        let (v, t) = (v.clone(), t.clone());
        tasks.push(tokio::spawn(async move { v.verify(&t).await }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_never_outlives_a_withdrawn_key() {
    let (app, id, secret) = writ().await;
    let v = verifier(&app, |c| c.max_key_age = Duration::from_millis(100)).await;
    let token = app.token(&id, &secret, &[]).await;
    v.verify(&token).await.unwrap();
    v.verify(&token).await.unwrap();
    assert_eq!(v.cached_tokens(), 1);

    // The key is revoked in an emergency: once the verifier's keys refresh, the cached token goes.
    let op = app.operator_token().await;
    let kid = writ_token::PublicKeys::kid_of(&token).unwrap();
    assert_eq!(app.post(&format!("/admin/v1/keys/{kid}/revoke"), &op, &json!({})).await.0, 200);
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if v.verify(&token).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "a token of a withdrawn key still verifies");
    assert_eq!(v.cached_tokens(), 0);
}

/// A follower starts from a snapshot and, when revocations push its cursor out of the feed's
/// window (3 entries here), is told so and takes a snapshot again: a token revoked among entries
/// it never read is still refused. Memory, and Redis when `WRIT_TEST_REDIS_URL` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_behind_the_feed_resyncs_from_a_snapshot() {
    use writ_verify::{RevocationFollower, TokenSource};

    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = writ_testkit::spawn_app_with(backend, |s| s.revocation_feed_length = 3).await else {
            continue;
        };
        let op = app.operator_token().await;
        app.create_resource(&op, BILLING, &["invoices:read"]).await;
        let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read"])]).await;
        let (id, secret) = app.create_org_client(&op, &org, &[(BILLING, &["invoices:read"])]).await;
        let body = json!({"name": "guard", "kind": "service",
                          "grants": [{"resource": "urn:writ:guard", "scopes": ["guard:revocations:read"]}]});
        let (_, guard) = app.post("/admin/v1/clients", &op, &body).await;
        let (guard_id, guard_secret) =
            (guard["client_id"].as_str().unwrap(), guard["client_secret"].as_str().unwrap());
        let issuer = app.ctx.issuer.clone();
        let v = verifier(&app, |_| {}).await;

        // A revocation from before the follower started, already out of the window.
        let early = app.token(&id, &secret, &[]).await;
        let early_jti = v.verify(&early).await.unwrap().jti.clone();
        assert_eq!(app.post("/admin/v1/revocations", &op, &json!({"jti": early_jti})).await.0, 201);
        for _ in 0..3 {
            let filler = writ_core::id::new_token_id();
            assert_eq!(app.post("/admin/v1/revocations", &op, &json!({"jti": filler})).await.0, 201);
        }
        let token_url = format!("{issuer}/oauth/token");
        let source = TokenSource::new(&token_url, guard_id, guard_secret, Some("urn:writ:guard"), None);
        let follower = RevocationFollower::start(&issuer, source);
        v.follow_revocations(follower.clone());
        assert!(follower.caught_up(Duration::from_secs(5)).await);
        assert_eq!(follower.snapshots(), 1);
        assert!(v.verify(&early).await.is_err(), "{backend:?}: the snapshot held it");

        // A burst longer than the window: whether the follower reads it page by page or finds
        // itself behind and takes a snapshot, it ends up refusing the token.
        let late = app.token(&id, &secret, &[]).await;
        let late_jti = v.verify(&late).await.unwrap().jti.clone();
        assert_eq!(app.post("/admin/v1/revocations", &op, &json!({"jti": late_jti})).await.0, 201);
        for _ in 0..3 {
            let filler = writ_core::id::new_token_id();
            assert_eq!(app.post("/admin/v1/revocations", &op, &json!({"jti": filler})).await.0, 201);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while v.verify(&late).await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "{backend:?}: the late revocation never arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Discovery, keys and the feed are fetched from the issuer itself: a redirect is an error, never
/// followed (issue 17, point 9), even to the real issuer's metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    use actix_web::{App, HttpResponse, HttpServer, web};

    let (app, _, _) = writ().await;
    let real = format!("{}/.well-known/oauth-authorization-server", app.ctx.issuer);
    let server = HttpServer::new(move || {
        let real = real.clone();
        App::new().default_service(web::to(move || {
            let real = real.clone();
            async move { HttpResponse::Found().insert_header(("Location", real)).finish() }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    let err = Verifier::new(VerifierConfig::new(&url, BILLING)).await.unwrap_err().to_string();
    assert!(err.contains("302"), "the redirect itself is the error, not where it led: {err}");
}

/// Plain HTTP only to loopback, and no body read past its bound, announced or not (issue 17,
/// point 9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_elsewhere_and_huge_bodies_are_refused() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use writ_verify::SetupError;

    let insecure = Verifier::new(VerifierConfig::new("http://auth.example.com", BILLING)).await.unwrap_err();
    assert!(matches!(insecure, SetupError::Insecure(_)), "{insecure}");
    let source =
        writ_verify::TokenSource::new("http://auth.example.com/oauth/token", "cli_x", "s", None, None);
    assert!(matches!(source.token().await, Err(writ_verify::TokenSourceError::Insecure(_))));

    // 300 KiB of JSON, once with its length announced and once chunked without one.
    let huge = format!("{{\"issuer\": \"{}\"}}", "x".repeat(300 * 1024));
    let server = HttpServer::new(move || {
        let huge = huge.clone();
        App::new().default_service(web::to(move |req: actix_web::HttpRequest| {
            let huge = huge.clone();
            async move {
                if req.path().starts_with("/chunked") {
                    let chunks = huge
                        .into_bytes()
                        .chunks(8192)
                        .map(|c| Ok::<_, actix_web::Error>(web::Bytes::copy_from_slice(c)))
                        .collect::<Vec<_>>();
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .streaming(futures_util::stream::iter(chunks))
                } else {
                    HttpResponse::Ok().content_type("application/json").body(huge)
                }
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    for issuer in [base.clone(), format!("{base}/chunked")] {
        let err = Verifier::new(VerifierConfig::new(&issuer, BILLING)).await.unwrap_err().to_string();
        assert!(err.contains("exceeds 262144 bytes"), "{issuer}: {err}");
    }
}

#[path = "../examples/billing/app.rs"]
mod billing;
#[path = "../examples/payments/client.rs"]
mod payments;

/// The examples end to end: payments calls billing with a token from its source; billing verifies
/// it locally, per-route scopes, and follows the revocation feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_calls_billing_and_revocation_reaches_it() {
    use actix_web::{App, HttpServer};
    use writ_verify::actix::Protection;
    use writ_verify::{RevocationFollower, TokenSource};

    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let op = app.operator_token().await;
    app.create_resource(&op, billing::BILLING, &["invoices:read", "invoices:write"]).await;
    app.create_resource(&op, "https://api.example.com/ledger", &["entries:read"]).await;
    let service = |name: &str, grants: serde_json::Value| {
        let (app, op) = (&app, &op);
        let body = json!({"name": name, "kind": "service", "grants": grants});
        async move {
            let (status, c) = app.post("/admin/v1/clients", op, &body).await;
            assert_eq!(status, 201, "{c}");
            (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned())
        }
    };
    let (pay_id, pay_secret) = service(
        "payments",
        json!([{"resource": billing::BILLING, "scopes": ["invoices:read", "invoices:write"]},
               {"resource": "https://api.example.com/ledger", "scopes": ["entries:read"]}]),
    )
    .await;
    let (guard_id, guard_secret) = service(
        "billing-guard",
        json!([{"resource": "urn:writ:guard", "scopes": ["guard:revocations:read"]}]),
    )
    .await;

    // The billing API, as its example runs it.
    let issuer = app.ctx.issuer.clone();
    let verifier = Verifier::new(VerifierConfig::new(&issuer, billing::BILLING)).await.unwrap();
    let token_url = format!("{issuer}/oauth/token");
    let guard = TokenSource::new(&token_url, &guard_id, &guard_secret, Some("urn:writ:guard"), None);
    let follower = RevocationFollower::start(&issuer, guard);
    verifier.follow_revocations(follower.clone());
    assert!(follower.caught_up(Duration::from_secs(5)).await);
    let metadata = billing::metadata(&issuer);
    let protection = Protection::new(verifier).described_by(&metadata);
    let routes = metadata.clone();
    let server = HttpServer::new(move || {
        App::new().app_data(protection.clone()).configure(billing::routes).configure(routes.routes())
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let billing_url = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());

    // Payments: three calls, one token.
    let http = writ_verify::http_client();
    let source = TokenSource::new(&token_url, &pay_id, &pay_secret, Some(billing::BILLING), None);
    for amount in [1200, 4500, 990] {
        let (status, body) = payments::invoice(&http, &source, &billing_url, amount).await.unwrap();
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["created_by"], pay_id.as_str());
    }
    assert_eq!(source.fetches(), 1);

    // Scope per route: a read-only token may list, not create.
    let read_only =
        TokenSource::new(&token_url, &pay_id, &pay_secret, Some(billing::BILLING), Some("invoices:read"));
    let token = read_only.token().await.unwrap();
    let res = http.get(format!("{billing_url}/billing/invoices")).bearer_auth(&*token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .post(format!("{billing_url}/billing/invoices"))
        .bearer_auth(&*token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"invoices:write\""),
        "{challenge}"
    );

    // A token for another API is refused, and the challenge points at billing's RFC 9728 metadata.
    let ledger =
        TokenSource::new(&token_url, &pay_id, &pay_secret, Some("https://api.example.com/ledger"), None);
    let res = http
        .get(format!("{billing_url}/billing/invoices"))
        .bearer_auth(&*ledger.token().await.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(
        "resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/billing\""
    ));
    let res =
        http.get(format!("{billing_url}/.well-known/oauth-protected-resource/billing")).send().await.unwrap();
    let doc: serde_json::Value = res.json().await.unwrap();
    assert_eq!(doc["resource"], billing::BILLING);
    assert_eq!(doc["authorization_servers"], json!([issuer]));
    let anonymous = http.get(format!("{billing_url}/billing/invoices")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/billing\", \
         scope=\"invoices:read\"",
        "no token: where to get one, and the scope this route needs"
    );

    // Fifty callers at once with no token held: one fetch, one token for all.
    let fresh = TokenSource::new(&token_url, &pay_id, &pay_secret, Some(billing::BILLING), None);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let f = fresh.clone();
            tokio::spawn(async move { f.token().await.unwrap() })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for c in calls {
        tokens.insert(c.await.unwrap().to_string());
    }
    assert_eq!((tokens.len(), fresh.fetches()), (1, 1));

    // One token revoked by its client (RFC 7009): refused by jti, the client's other tokens not.
    let one = tokens.into_iter().next().unwrap();
    let res = http
        .post(format!("{issuer}/oauth/revoke"))
        .basic_auth(&pay_id, Some(&pay_secret))
        .form(&[("token", one.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list = |t: String| {
        let http = http.clone();
        let url = format!("{billing_url}/billing/invoices");
        async move { http.get(url).bearer_auth(t).send().await.unwrap().status().as_u16() }
    };
    let mut waited = 0;
    while list(one.clone()).await != 401 {
        assert!(waited < 500, "the revoked jti is still accepted after 10 s");
        waited += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(list(source.token().await.unwrap().to_string()).await, 200);

    // Revoked in Writ: billing refuses the (cached, locally verified) token soon after, with no
    // call to Writ per request. The note reports how soon.
    let token = source.token().await.unwrap();
    let revoke = json!({"client_id": pay_id});
    assert_eq!(app.post("/admin/v1/revocations", &op, &revoke).await.0, 201);
    let revoked_at = std::time::Instant::now();
    let refused_after = loop {
        let res =
            http.get(format!("{billing_url}/billing/invoices")).bearer_auth(&*token).send().await.unwrap();
        if res.status() == 401 {
            break revoked_at.elapsed();
        }
        assert!(revoked_at.elapsed() < Duration::from_secs(10), "still accepted after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("revocation reached the billing API after {refused_after:?}");
    // The client's next token (issued after the watermark) is accepted again.
    source.invalidate();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = payments::invoice(&http, &source, &billing_url, 100).await.unwrap();
    assert_eq!(status, 201);
}

/// A resource server links writ-verify and nothing of Writ's storage: no database or Redis crate,
/// and of Writ's own crates only the token and core ones (which depend on neither).
#[test]
fn depends_on_no_database_or_redis_crate() {
    let manifest = include_str!("../Cargo.toml");
    let deps = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split(['=', '.']).next().map(str::trim))
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    for forbidden in
        ["sea-orm", "sqlx", "redis", "writ-store", "writ-guard-store", "writ-http", "writ-migration"]
    {
        assert!(!names.contains(&forbidden), "writ-verify depends on {forbidden}");
    }
    for ours in names.iter().filter(|n| n.starts_with("writ-")) {
        assert!(["writ-core", "writ-token"].contains(ours), "writ-verify depends on {ours}");
    }
    for (crate_manifest, allowed) in [(include_str!("../../writ-token/Cargo.toml"), ["writ-core"])] {
        let deps = crate_manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
        for line in deps.lines().filter(|l| l.starts_with("writ-")) {
            assert!(allowed.iter().any(|a| line.starts_with(a)), "writ-token depends on {line}");
        }
        assert!(!deps.contains("sea-orm") && !deps.contains("redis"));
    }
}

/// Issue 18, point 5: a token source that holds a private key signs a new assertion for every
/// renewal (a replayed one would be refused), and a key Writ does not know is `invalid_client`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_source_authenticates_with_a_private_key() {
    use writ_verify::{AssertionSigner, Credential, TokenSource, TokenSourceError};
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let op = app.operator_token().await;
    let p256 = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let key = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&p256).unwrap()).unwrap();
    let mut jwk = writ_token::public_jwk_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
    jwk["kid"] = "svc-1".into();
    let body = json!({"name": "svc", "kind": "service", "jwks": {"keys": [jwk]},
                      "grants": [{"resource": "urn:writ:guard", "scopes": ["guard:revocations:read"]}]});
    let (status, created) = app.post("/admin/v1/clients", &op, &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap();
    let token_url = format!("{}/oauth/token", app.ctx.issuer);
    let pem = key.private_key_to_pem_pkcs8().unwrap();
    let signer = AssertionSigner::from_pem(&pem, Some("svc-1"), false).unwrap();
    let source = TokenSource::with_credential(
        &token_url,
        id,
        Credential::PrivateKey(signer),
        Some("urn:writ:guard"),
        None,
    );
    let first = source.token().await.unwrap();
    source.invalidate();
    let second = source.token().await.unwrap();
    assert_ne!(first, second);
    assert_eq!(source.fetches(), 2, "each renewal with its own assertion");
    let verifier = Verifier::new(VerifierConfig::new(&app.ctx.issuer, "urn:writ:guard")).await.unwrap();
    assert_eq!(verifier.verify(&second).await.unwrap().sub, id);

    let stranger = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&p256).unwrap()).unwrap();
    let signer =
        AssertionSigner::from_pem(&stranger.private_key_to_pem_pkcs8().unwrap(), Some("svc-1"), false)
            .unwrap();
    let refused = TokenSource::with_credential(&token_url, id, Credential::PrivateKey(signer), None, None);
    assert!(matches!(
        refused.token().await,
        Err(TokenSourceError::Refused { status: 401, ref error, .. }) if error == "invalid_client"
    ));
}

/// Issue 18, point 5: a token source with a federated token file reads it on every renewal, as a
/// kubelet rotates a projected service-account token on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_source_reads_its_federated_token_file_on_every_renewal() {
    use writ_verify::{AssertionSigner, Credential, TokenSource, TokenSourceError};
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let op = app.operator_token().await;
    let p256 = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let cluster = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&p256).unwrap()).unwrap();
    let mut jwk = writ_token::public_jwk_from_pem(&cluster.public_key_to_pem().unwrap()).unwrap();
    jwk["kid"] = "cluster-1".into();
    let iss = "https://oidc.cluster.example.com";
    let body = json!({"issuer": iss, "name": "cluster", "jwks": {"keys": [jwk]}, "single_use": false});
    assert_eq!(app.post("/admin/v1/trusted-issuers", &op, &body).await.0, 201);
    let body = json!({"name": "svc", "kind": "service", "token_endpoint_auth_methods": ["federated"],
                      "grants": [{"resource": "urn:writ:guard", "scopes": ["guard:revocations:read"]}]});
    let (_, created) = app.post("/admin/v1/clients", &op, &body).await;
    let id = created["client_id"].as_str().unwrap();
    let credential = json!({"issuer": iss, "name": "pods", "subject": "system:serviceaccount:payments:api"});
    assert_eq!(
        app.post(&format!("/admin/v1/clients/{id}/federated-credentials"), &op, &credential).await.0,
        201
    );

    let signer =
        AssertionSigner::from_pem(&cluster.private_key_to_pem_pkcs8().unwrap(), Some("cluster-1"), false)
            .unwrap();
    let token_url = format!("{}/oauth/token", app.ctx.issuer);
    let projected = |namespace: &str| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({"iss": iss, "sub": format!("system:serviceaccount:{namespace}:api"), "aud": [token_url],
                            "iat": now, "nbf": now, "exp": now + 3600, "kubernetes.io": {"namespace": namespace}});
        signer.sign(&claims).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, projected("payments")).unwrap();
    let source = TokenSource::with_credential(
        &token_url,
        id,
        Credential::FederatedTokenFile(file.clone()),
        Some("urn:writ:guard"),
        None,
    );
    source.token().await.unwrap();
    // The kubelet writes another token: the next renewal reads it (this one stands for nobody).
    std::fs::write(&file, projected("billing")).unwrap();
    source.invalidate();
    assert!(matches!(source.token().await, Err(TokenSourceError::Refused { status: 401, .. })));
    std::fs::write(&file, format!("{}\n", projected("payments"))).unwrap();
    source.token().await.unwrap();
    assert_eq!(source.fetches(), 3);
    std::fs::remove_file(&file).unwrap();
    source.invalidate();
    assert!(matches!(source.token().await, Err(TokenSourceError::Credential(_))));
}
