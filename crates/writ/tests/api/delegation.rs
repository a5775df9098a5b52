//! Agents acting for people, over a real socket: the authorization request, login, consent, the
//! code exchange with PKCE, refresh-token rotation with reuse detection, PAR, the errors of
//! RFC 6749 §4.1.2.1 and §5.2, and ending access (consent withdrawn by the person or an admin, the
//! person disabled).

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;
use writ_testkit::browser::Browser;
use writ_testkit::{TestApp, on_every_backend};

pub(crate) const BILLING: &str = "https://api.example.com/billing";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const NATIVE: &str = "http://127.0.0.1/callback";
const WEB: &str = "https://agent.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more-entropy";

on_every_backend!(a_public_agent_gets_a_persons_token_with_pkce_and_refreshes_it);
on_every_backend!(a_reused_code_or_refresh_token_revokes_its_authorization);
on_every_backend!(authorization_errors_go_to_the_right_place);
on_every_backend!(token_errors_follow_rfc_6749);
on_every_backend!(pushed_requests_and_confidential_clients);
on_every_backend!(withdrawing_consent_or_disabling_the_person_ends_access);
on_every_backend!(clients_for_people_are_checked_when_registered);
on_every_backend!(refresh_tokens_are_introspected_and_revoked);
on_every_backend!(a_device_gets_a_persons_token_through_the_device_flow);

/// A person, logged in, and agents that may act for them.
pub(crate) struct World {
    pub op: String,
    pub org: String,
    pub user: String,
    pub browser: Browser,
    /// A public client (`none`) with a loopback redirect URI.
    pub native: String,
    /// A confidential client with a secret and an https redirect URI.
    pub web: (String, String),
}

pub(crate) async fn world(app: &TestApp) -> World {
    let op = app.operator_token().await;
    let (status, body) = app
        .post(
            "/admin/v1/resources",
            &op,
            &json!({"identifier": BILLING, "name": "Billing", "scopes": [
                {"name": "invoices:read", "description": "Read your invoices"},
                {"name": "invoices:write", "description": "Create and change invoices"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    let (status, user) = app
        .post(
            "/admin/v1/users",
            &op,
            &json!({"email": "ada@acme.example", "org_id": org,
                    "grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let user = user["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app.ctx.issuer);
    let (_, inv) = app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &json!({})).await;
    let form = browser.get(inv["url"].as_str().unwrap()).await;
    let (csrf, token) = (form.field("csrf").unwrap(), form.field("token").unwrap());
    let set = browser
        .post(
            "/oauth/invitation",
            &[("csrf", &csrf), ("token", &token), ("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(set.status, 303);
    let grants = json!([{"resource": BILLING, "scopes": ["invoices:read", "invoices:write"]}]);
    let (status, native) = app
        .post(
            "/admin/v1/clients",
            &op,
            &json!({"name": "Ada's CLI", "kind": "org", "org_id": org, "client_type": "public",
                    "redirect_uris": [NATIVE], "grants": grants}),
        )
        .await;
    assert_eq!(status, 201, "{native}");
    assert!(native.get("client_secret").is_none(), "a public client has no secret");
    assert_eq!(native["token_endpoint_auth_methods"], json!(["none"]));
    assert_eq!(native["grant_types"], json!(["authorization_code", "refresh_token"]));
    let (status, web) = app
        .post(
            "/admin/v1/clients",
            &op,
            &json!({"name": "Acme assistant", "kind": "org", "org_id": org, "redirect_uris": [WEB],
                    "grant_types": ["authorization_code", "refresh_token"], "grants": grants}),
        )
        .await;
    assert_eq!(status, 201, "{web}");
    World {
        op,
        org,
        user,
        browser,
        native: native["client_id"].as_str().unwrap().to_owned(),
        web: (
            web["client_id"].as_str().unwrap().to_owned(),
            web["client_secret"].as_str().unwrap().to_owned(),
        ),
    }
}

pub(crate) fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// `/oauth/authorize` with these parameters (percent-encoded).
pub(crate) fn authorize_url(params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("/oauth/authorize?{}", q.finish())
}

/// The query parameters of a redirect.
pub(crate) fn query_of(location: &str) -> Vec<(String, String)> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

pub(crate) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Runs an authorization for `client` through consent (allowing it when asked); the redirect the
/// browser is sent to at the end.
pub(crate) async fn authorize(browser: &mut Browser, client: &str, redirect: &str, scope: &str) -> String {
    let challenge = challenge(VERIFIER);
    let start = browser
        .get(&authorize_url(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("scope", scope),
            ("state", "xyz"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let consent = browser.get(start.location()).await;
    if consent.status == 303 {
        return consent.location().to_owned();
    }
    assert_eq!(consent.status, 200, "{}", consent.body);
    let (csrf, request) = (consent.field("csrf").unwrap(), consent.field("request").unwrap());
    let allowed = browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")])
        .await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    allowed.location().to_owned()
}

pub(crate) async fn token(app: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = app.http.post(app.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The claims of a JWT, unverified (its signature is `writ-verify`'s and the interop tests' job).
pub(crate) fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

async fn exchange(app: &TestApp, client: &str, code: &str) -> (u16, Value) {
    token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("redirect_uri", NATIVE),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await
}

async fn refresh(app: &TestApp, client: &str, refresh_token: &str) -> (u16, Value) {
    token(
        app,
        &[("grant_type", "refresh_token"), ("client_id", client), ("refresh_token", refresh_token)],
        None,
    )
    .await
}

async fn a_public_agent_gets_a_persons_token_with_pkce_and_refreshes_it(app: TestApp) {
    let mut w = world(&app).await;
    // The loopback redirect URI matches on any port (RFC 8252 §7.3).
    let redirect = "http://127.0.0.1:51004/callback";
    let challenge = challenge(VERIFIER);
    let start = w
        .browser
        .get(&authorize_url(&[
            ("response_type", "code"),
            ("client_id", &w.native),
            ("redirect_uri", redirect),
            ("scope", "invoices:read"),
            ("state", "s-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", BILLING),
        ]))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    assert!(start.location().starts_with("/oauth/consent?request=arq_"), "{}", start.location());
    let page = w.browser.get(start.location()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in ["Ada&#39;s CLI", "Read your invoices", "127.0.0.1", "ada@acme.example", BILLING] {
        assert!(
            page.body.contains(shown) || page.body.contains(&shown.replace("&#39;", "'")),
            "{shown}: {}",
            page.body
        );
    }
    assert!(page.body.contains("runs on your own computer"), "every redirect URI is local: the page warns");
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:*"), "{csp}");
    let (csrf, request) = (page.field("csrf").unwrap(), page.field("request").unwrap());
    let allowed = w
        .browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")])
        .await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    let location = allowed.location().to_owned();
    assert!(location.starts_with(redirect), "{location}");
    let q = query_of(&location);
    assert_eq!(param(&q, "state"), Some("s-1"));
    assert_eq!(param(&q, "iss"), Some(app.ctx.issuer.as_str()), "RFC 9207");
    let code = param(&q, "code").unwrap().to_owned();
    assert!(code.starts_with("writ_ac_"));

    let (status, body) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &w.native),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], w.user.as_str());
    assert_eq!(access["uid"], w.user.as_str());
    assert_eq!(access["oid"], w.org.as_str());
    assert_eq!(access["client_id"], w.native.as_str());
    assert_eq!(access["aud"], BILLING);
    assert_eq!(access["scope"], "invoices:read");
    assert!(access["cred"].as_str().unwrap().starts_with("azn_"));
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(refresh_token.starts_with("writ_rt_"));

    // Refresh: a new access token and a new refresh token, for the same person and authorization.
    let (status, refreshed) = refresh(&app, &w.native, &refresh_token).await;
    assert_eq!(status, 200, "{refreshed}");
    let again = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(
        (again["sub"].clone(), again["cred"].clone()),
        (access["sub"].clone(), access["cred"].clone())
    );
    let next = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, refresh_token);
    // A narrower scope may be asked; a wider one may not.
    let (status, body) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &w.native),
            ("refresh_token", &next),
            ("scope", "invoices:write"),
        ],
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    // The person is granted more later: a refresh still gets what they allowed then, no more
    // (RFC 6749 §6), and does not fail for it.
    let more = json!([{"resource": BILLING, "scopes": ["invoices:read", "invoices:write"]}]);
    let (status, body) =
        app.patch(&format!("/admin/v1/users/{}", w.user), &w.op, &json!({"grants": more})).await;
    assert_eq!(status, 200, "{body}");
    let (status, grown) = refresh(&app, &w.native, &next).await;
    assert_eq!(status, 200, "{grown}");
    assert_eq!(claims(grown["access_token"].as_str().unwrap())["scope"], "invoices:read");

    // The consent is remembered: the next authorization asks nothing.
    let location = authorize(&mut w.browser, &w.native, NATIVE, "invoices:read").await;
    assert!(param(&query_of(&location), "code").is_some(), "{location}");

    app.ctx.audit.flush().await;
    let (_, events) = app.get(&format!("/admin/v1/audit-events?actor={}", w.user), &w.op).await;
    let actions: Vec<&str> =
        events["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "consent.granted").count(), 1, "{actions:?}");
}

async fn a_reused_code_or_refresh_token_revokes_its_authorization(app: TestApp) {
    let mut w = world(&app).await;
    let location = authorize(&mut w.browser, &w.native, NATIVE, "invoices:read").await;
    let code = param(&query_of(&location), "code").unwrap().to_owned();
    let (status, first) = exchange(&app, &w.native, &code).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = exchange(&app, &w.native, &code).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")), "{second}");
    // The first exchange's refresh token went with it.
    let (status, body) = refresh(&app, &w.native, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(revoked(&app, first["access_token"].as_str().unwrap()).await, "its access token is revoked");

    // A refresh token used twice: the family goes, the newest member included.
    let location = authorize(&mut w.browser, &w.native, NATIVE, "invoices:read").await;
    let code = param(&query_of(&location), "code").unwrap().to_owned();
    let (_, issued) = exchange(&app, &w.native, &code).await;
    let old = issued["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = refresh(&app, &w.native, &old).await;
    assert_eq!(status, 200);
    let (status, body) = refresh(&app, &w.native, &old).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, _) = refresh(&app, &w.native, rotated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400, "the rotated token went with its family");
    assert!(revoked(&app, rotated["access_token"].as_str().unwrap()).await);
}

/// Whether introspection (by the operator, which may introspect any token) says the token is no
/// longer active: what a resource server asking Writ learns.
async fn revoked(app: &TestApp, jwt: &str) -> bool {
    let res = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(&app.operator_id, Some(&app.operator_secret))
        .form(&[("token", jwt)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["active"] == false
}

async fn authorization_errors_go_to_the_right_place(app: TestApp) {
    let mut w = world(&app).await;
    let challenge = challenge(VERIFIER);
    let base = |client: &str, redirect: &str| {
        vec![
            ("response_type".to_owned(), "code".to_owned()),
            ("client_id".to_owned(), client.to_owned()),
            ("redirect_uri".to_owned(), redirect.to_owned()),
            ("state".to_owned(), "st".to_owned()),
            ("code_challenge".to_owned(), challenge.clone()),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
        ]
    };
    let url = |params: &[(String, String)]| {
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        authorize_url(&refs)
    };
    // Never redirected: an unknown client, an unregistered redirect URI.
    for params in [
        base("cli_01jd8x4c2v9q0m7k3n5p6r8s0t", NATIVE),
        base(&w.native, "https://evil.example/cb"),
        base(&w.native, "http://127.0.0.1/other"),
    ] {
        let page = w.browser.get(&url(&params)).await;
        assert_eq!(page.status, 400, "{params:?}: {}", page.body);
        assert!(page.location().is_empty());
    }
    // Sent back to the client with `state` and `iss`.
    let cases: Vec<(Vec<(String, String)>, &str)> = vec![
        (
            {
                let mut p = base(&w.native, NATIVE);
                p.retain(|(k, _)| k != "code_challenge" && k != "code_challenge_method");
                p
            },
            "invalid_request",
        ),
        (
            {
                let mut p = base(&w.native, NATIVE);
                p[5].1 = "plain".into();
                p
            },
            "invalid_request",
        ),
        (
            {
                let mut p = base(&w.native, NATIVE);
                p[0].1 = "token".into();
                p
            },
            "unsupported_response_type",
        ),
        (
            {
                let mut p = base(&w.native, NATIVE);
                p.push(("scope".into(), "a  b".into()));
                p
            },
            "invalid_scope",
        ),
        (
            {
                let mut p = base(&w.native, NATIVE);
                p.push(("resource".into(), "not a uri".into()));
                p
            },
            "invalid_target",
        ),
    ];
    for (params, error) in cases {
        let answer = w.browser.get(&url(&params)).await;
        assert_eq!(answer.status, 303, "{params:?}: {}", answer.body);
        let q = query_of(answer.location());
        assert!(answer.location().starts_with(NATIVE));
        assert_eq!(param(&q, "error"), Some(error), "{params:?}");
        assert_eq!((param(&q, "state"), param(&q, "iss")), (Some("st"), Some(app.ctx.issuer.as_str())));
    }
    // A client that may not use the grant, told at its own (registered) redirect URI.
    let (status, machine) = app
        .post(
            "/admin/v1/clients",
            &w.op,
            &json!({"name": "m", "kind": "org", "org_id": w.org, "redirect_uris": [WEB]}),
        )
        .await;
    assert_eq!(status, 201, "{machine}");
    let answer = w.browser.get(&url(&base(machine["client_id"].as_str().unwrap(), WEB))).await;
    assert_eq!(param(&query_of(answer.location()), "error"), Some("unauthorized_client"), "{}", answer.body);
    // Beyond what the person holds: decided at consent, sent back as invalid_scope.
    let mut params = base(&w.native, NATIVE);
    params.push(("scope".into(), "invoices:write".into()));
    let start = w.browser.get(&url(&params)).await;
    let consent = w.browser.get(start.location()).await;
    assert_eq!(param(&query_of(consent.location()), "error"), Some("invalid_scope"), "{}", consent.body);
    // Denied.
    let start = w.browser.get(&url(&base(&w.native, NATIVE))).await;
    let page = w.browser.get(start.location()).await;
    let (csrf, request) = (page.field("csrf").unwrap(), page.field("request").unwrap());
    let denied = w
        .browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "deny")])
        .await;
    let q = query_of(denied.location());
    assert_eq!((param(&q, "error"), param(&q, "state")), (Some("access_denied"), Some("st")));
    let again = w
        .browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")])
        .await;
    assert_eq!(again.status, 400, "an answered request cannot be answered again");
    // Not logged in: the consent page sends the person to log in, and back.
    let mut stranger = Browser::new(&app.ctx.issuer);
    let start = stranger.get(&url(&base(&w.native, NATIVE))).await;
    let login = stranger.get(start.location()).await;
    assert_eq!(login.status, 303);
    assert!(
        login.location().starts_with("/oauth/login?return_to=%2Foauth%2Fconsent%3Frequest%3Darq_"),
        "{}",
        login.location()
    );
}

async fn token_errors_follow_rfc_6749(app: TestApp) {
    let mut w = world(&app).await;
    let location = authorize(&mut w.browser, &w.native, NATIVE, "invoices:read").await;
    let code = param(&query_of(&location), "code").unwrap().to_owned();
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &w.native),
                ("code", &code),
                ("redirect_uri", NATIVE),
                ("code_verifier", "wrong-verifier-wrong-verifier-wrong-verifier-x"),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &w.native),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1/other"),
                ("code_verifier", VERIFIER),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &w.native),
                ("code", &code),
                ("code_verifier", VERIFIER),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &w.native),
                ("code", &code),
                ("redirect_uri", NATIVE),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &w.native),
                ("code", "writ_ac_nope"),
                ("redirect_uri", NATIVE),
                ("code_verifier", VERIFIER),
            ],
            400,
            "invalid_grant",
        ),
        (vec![("grant_type", "client_credentials"), ("client_id", &w.native)], 400, "unauthorized_client"),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &w.native),
                ("refresh_token", "writ_rt_nope"),
            ],
            400,
            "invalid_grant",
        ),
        (vec![("grant_type", "password"), ("client_id", &w.native)], 400, "unsupported_grant_type"),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &w.web.0),
                ("code", &code),
                ("redirect_uri", NATIVE),
                ("code_verifier", VERIFIER),
            ],
            401,
            "invalid_client",
        ),
    ];
    for (form, status, error) in cases {
        let (got, body) = token(&app, &form, None).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{form:?}: {body}");
    }
    // The code was for the public client: another client cannot use it, even authenticated.
    let (status, body) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", NATIVE),
            ("code_verifier", VERIFIER),
        ],
        Some((&w.web.0, &w.web.1)),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // After all that, the code still works for its own client with its verifier.
    let (status, body) = exchange(&app, &w.native, &code).await;
    assert_eq!(status, 200, "{body}");
}

async fn pushed_requests_and_confidential_clients(app: TestApp) {
    let mut w = world(&app).await;
    let (id, secret) = w.web.clone();
    let challenge = challenge(VERIFIER);
    let form = [
        ("response_type", "code"),
        ("redirect_uri", WEB),
        ("scope", "invoices:read"),
        ("state", "p"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let res =
        app.http.post(app.url("/oauth/par")).basic_auth(&id, Some(&secret)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let pushed: Value = res.json().await.unwrap();
    let request_uri = pushed["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(pushed["expires_in"], 90);
    let res = app
        .http
        .post(app.url("/oauth/par"))
        .basic_auth(&id, Some("writ_cs_wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "PAR authenticates the client");
    // Someone else's client cannot use the request_uri.
    let stolen =
        w.browser.get(&authorize_url(&[("client_id", &w.native), ("request_uri", &request_uri)])).await;
    assert_eq!(stolen.status, 400);
    let start = w.browser.get(&authorize_url(&[("client_id", &id), ("request_uri", &request_uri)])).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let page = w.browser.get(start.location()).await;
    assert!(page.body.contains("agent.example.com"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action 'self' https://agent.example.com"), "{csp}");
    let (csrf, request) = (page.field("csrf").unwrap(), page.field("request").unwrap());
    let allowed = w
        .browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")])
        .await;
    let q = query_of(allowed.location());
    assert!(allowed.location().starts_with(WEB));
    let code = param(&q, "code").unwrap().to_owned();
    // A used request_uri is gone.
    let reused = w.browser.get(&authorize_url(&[("client_id", &id), ("request_uri", &request_uri)])).await;
    assert_eq!(reused.status, 400);
    // The confidential client must authenticate to exchange its code.
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&app, &[&exchange[..], &[("client_id", id.as_str())]].concat(), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let (status, body) = token(&app, &exchange, Some((&id, &secret))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["sub"], w.user.as_str());

    // A client that must push: a plain request is refused, back to it.
    let (status, _) = app
        .patch(
            &format!("/admin/v1/clients/{id}"),
            &w.op,
            &json!({"require_pushed_authorization_requests": true}),
        )
        .await;
    assert_eq!(status, 200);
    let plain = w
        .browser
        .get(&authorize_url(&[
            ("response_type", "code"),
            ("client_id", &id),
            ("redirect_uri", WEB),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    assert_eq!(param(&query_of(plain.location()), "error"), Some("invalid_request"), "{}", plain.body);
}

async fn withdrawing_consent_or_disabling_the_person_ends_access(app: TestApp) {
    let mut w = world(&app).await;
    let issue = |code: String| {
        let (app, native) = (&app, w.native.clone());
        async move { exchange(app, &native, &code).await.1 }
    };
    // The person withdraws it on their account page.
    let location = authorize(&mut w.browser, &w.native, NATIVE, "invoices:read").await;
    let tokens = issue(param(&query_of(&location), "code").unwrap().to_owned()).await;
    let list = w.browser.get("/oauth/account/consents").await;
    assert!(list.body.contains("Ada&#39;s CLI") || list.body.contains("Ada's CLI"), "{}", list.body);
    let (csrf, consent) = (list.field("csrf").unwrap(), list.field("consent").unwrap());
    let gone = w.browser.post("/oauth/account/consents", &[("csrf", &csrf), ("consent", &consent)]).await;
    assert_eq!((gone.status, gone.location()), (303, "/oauth/account/consents?revoked=1"));
    assert_eq!(refresh(&app, &w.native, tokens["refresh_token"].as_str().unwrap()).await.0, 400);
    assert!(revoked(&app, tokens["access_token"].as_str().unwrap()).await);

    // An admin withdraws it.
    let location = authorize(&mut w.browser, &w.native, NATIVE, "invoices:read").await;
    let tokens = issue(param(&query_of(&location), "code").unwrap().to_owned()).await;
    let (status, list) = app.get(&format!("/admin/v1/users/{}/consents", w.user), &w.op).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"][0]["client_name"], "Ada's CLI");
    let consent = list["data"][0]["id"].as_str().unwrap();
    let (status, _) = app.delete(&format!("/admin/v1/users/{}/consents/{consent}", w.user), &w.op).await;
    assert_eq!(status, 204);
    assert_eq!(refresh(&app, &w.native, tokens["refresh_token"].as_str().unwrap()).await.0, 400);
    assert!(revoked(&app, tokens["access_token"].as_str().unwrap()).await);

    // The person is disabled.
    let location = authorize(&mut w.browser, &w.native, NATIVE, "invoices:read").await;
    let tokens = issue(param(&query_of(&location), "code").unwrap().to_owned()).await;
    let (status, _) =
        app.patch(&format!("/admin/v1/users/{}", w.user), &w.op, &json!({"status": "disabled"})).await;
    assert_eq!(status, 200);
    assert!(revoked(&app, tokens["access_token"].as_str().unwrap()).await);
    app.patch(&format!("/admin/v1/users/{}", w.user), &w.op, &json!({"status": "active"})).await;
    assert_eq!(
        refresh(&app, &w.native, tokens["refresh_token"].as_str().unwrap()).await.0,
        400,
        "re-enabling brings nothing back"
    );
}

async fn clients_for_people_are_checked_when_registered(app: TestApp) {
    let w = world(&app).await;
    let create = |body: Value| {
        let (app, op) = (&app, w.op.clone());
        async move { app.post("/admin/v1/clients", &op, &body).await }
    };
    let org = w.org.clone();
    for (body, field) in [
        (
            json!({"name": "x", "kind": "org", "org_id": org, "client_type": "public", "grant_types": ["client_credentials"], "redirect_uris": [NATIVE]}),
            "grant_types",
        ),
        (
            json!({"name": "x", "kind": "org", "org_id": org, "grant_types": ["authorization_code"]}),
            "redirect_uris",
        ),
        (json!({"name": "x", "kind": "org", "org_id": org, "grant_types": ["refresh_token"]}), "grant_types"),
        (
            json!({"name": "x", "kind": "org", "org_id": org, "grant_types": ["authorization_code"], "redirect_uris": ["http://agent.example.com/cb"]}),
            "redirect_uris[0]",
        ),
        (
            json!({"name": "x", "kind": "org", "org_id": org, "token_endpoint_auth_methods": ["none"]}),
            "token_endpoint_auth_methods",
        ),
        (
            json!({"name": "x", "kind": "org", "org_id": org, "client_type": "public", "token_endpoint_auth_methods": ["client_secret_basic"], "redirect_uris": [NATIVE]}),
            "token_endpoint_auth_methods",
        ),
        (
            json!({"name": "x", "kind": "user", "org_id": org, "user_id": w.user, "grant_types": ["authorization_code"], "redirect_uris": [NATIVE]}),
            "grant_types",
        ),
        (json!({"name": "x", "kind": "org", "org_id": org, "client_type": "sometimes"}), "client_type"),
        (
            json!({"name": "x", "kind": "org", "org_id": org, "grant_types": ["authorization_code"], "redirect_uris": [NATIVE], "refresh_token_idle_seconds": 10}),
            "refresh_token_idle_seconds",
        ),
    ] {
        let (status, problem) = create(body.clone()).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{body}: {problem}");
    }
    // A client that could not act for people now can, once told how.
    let (_, client) = create(json!({"name": "m", "kind": "org", "org_id": org})).await;
    let id = client["client_id"].as_str().unwrap();
    assert_eq!(
        client["grant_types"],
        json!(["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"])
    );
    let (status, body) = app
        .patch(
            &format!("/admin/v1/clients/{id}"),
            &w.op,
            &json!({"grant_types": ["client_credentials", "authorization_code"], "redirect_uris": [WEB]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["redirect_uris"], json!([WEB]));
    // Discovery says what is served.
    let (_, meta) = app.get("/.well-known/oauth-authorization-server", "").await;
    assert_eq!(meta["authorization_endpoint"], format!("{}/oauth/authorize", app.ctx.issuer));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert!(meta["grant_types_supported"].as_array().unwrap().contains(&json!("refresh_token")));
    assert!(meta["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("none")));
}

async fn introspect(app: &TestApp, basic: (&str, &str), token: &str) -> Value {
    let res = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(basic.0, Some(basic.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn refresh_tokens_are_introspected_and_revoked(app: TestApp) {
    let mut w = world(&app).await;
    let (id, secret) = w.web.clone();
    let location = authorize(&mut w.browser, &id, WEB, "invoices:read").await;
    let code = param(&query_of(&location), "code").unwrap().to_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = token(&app, &form, Some((&id, &secret))).await;
    assert_eq!(status, 200, "{tokens}");
    let (access, refresh_token) =
        (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());

    let own = introspect(&app, (&id, &secret), refresh_token).await;
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(
        (own["token_type"].as_str(), own["sub"].as_str(), own["client_id"].as_str()),
        (Some("refresh_token"), Some(w.user.as_str()), Some(id.as_str()))
    );
    assert_eq!((own["scope"].as_str(), own["aud"].as_str()), (Some("invoices:read"), Some(BILLING)));
    let operator = introspect(&app, (&app.operator_id, &app.operator_secret), refresh_token).await;
    assert_eq!(operator["active"], true, "the operator may introspect any token");
    let (other, other_secret) = app.create_org_client(&w.op, &w.org, &[(BILLING, &["invoices:read"])]).await;
    let stranger = introspect(&app, (&other, &other_secret), refresh_token).await;
    assert_eq!(stranger, json!({"active": false}), "another client learns nothing");

    // Only its client revokes it; revoking it ends the authorization's access tokens too.
    let revoke = |basic: (String, String), token: String| {
        let app = &app;
        async move {
            let res = app
                .http
                .post(app.url("/oauth/revoke"))
                .basic_auth(&basic.0, Some(&basic.1))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = revoke((other.clone(), other_secret.clone()), refresh_token.to_owned()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
    assert_eq!(revoke((id.clone(), secret.clone()), refresh_token.to_owned()).await.0, 200);
    assert_eq!(introspect(&app, (&id, &secret), refresh_token).await, json!({"active": false}));
    assert_eq!(introspect(&app, (&id, &secret), access).await["active"], false);
    let (status, body) = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // Unknown and malformed refresh tokens: nothing to do.
    assert_eq!(revoke((id.clone(), secret.clone()), "writ_rt_nope".into()).await.0, 200);
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn device_authorization(app: &TestApp, client: &str) -> (u16, Value) {
    let res = app
        .http
        .post(app.url("/oauth/device_authorization"))
        .form(&[("client_id", client), ("scope", "invoices:read"), ("resource", BILLING)])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn poll(app: &TestApp, client: &str, device_code: &str) -> (u16, Value) {
    token(app, &[("grant_type", DEVICE_GRANT), ("client_id", client), ("device_code", device_code)], None)
        .await
}

/// Forgets when devices last polled, as if they had waited their interval.
async fn waited(app: &TestApp) {
    use writ_store::ConnectionTrait as _;
    app.ctx
        .store
        .conn()
        .execute_unprepared("UPDATE authorization_requests SET last_polled_at = NULL")
        .await
        .unwrap();
}

async fn a_device_gets_a_persons_token_through_the_device_flow(app: TestApp) {
    let mut w = world(&app).await;
    let grants = json!([{"resource": BILLING, "scopes": ["invoices:read"]}]);
    let (status, cli) = app
        .post(
            "/admin/v1/clients",
            &w.op,
            &json!({"name": "Acme CLI", "kind": "org", "org_id": w.org, "client_type": "public",
                    "grant_types": [DEVICE_GRANT, "refresh_token"], "grants": grants}),
        )
        .await;
    assert_eq!(status, 201, "{cli}");
    let cli = cli["client_id"].as_str().unwrap().to_owned();
    let (_, meta) = app.get("/.well-known/oauth-authorization-server", "").await;
    assert_eq!(
        meta["device_authorization_endpoint"],
        format!("{}/oauth/device_authorization", app.ctx.issuer)
    );
    assert!(meta["grant_types_supported"].as_array().unwrap().contains(&json!(DEVICE_GRANT)));

    // The person refuses the first device: it hears access_denied.
    let (status, refused) = device_authorization(&app, &cli).await;
    assert_eq!(status, 200, "{refused}");
    let form = w.browser.get("/device").await;
    let found = w
        .browser
        .post(
            "/device",
            &[("csrf", &form.field("csrf").unwrap()), ("user_code", refused["user_code"].as_str().unwrap())],
        )
        .await;
    let page = w.browser.get(found.location()).await;
    let (csrf, request) = (page.field("csrf").unwrap(), page.field("request").unwrap());
    let done = w
        .browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "deny")])
        .await;
    assert!(done.body.contains("was not connected"), "{}", done.body);
    let (status, body) = poll(&app, &cli, refused["device_code"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("access_denied")), "{body}");

    let (status, started) = device_authorization(&app, &cli).await;
    assert_eq!(status, 200, "{started}");
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    assert!(device_code.starts_with("writ_dc_"));
    assert_eq!((user_code.len(), &user_code[4..5]), (9, "-"), "{user_code}");
    assert_eq!(started["verification_uri"], format!("{}/device", app.ctx.issuer));
    assert_eq!(
        started["verification_uri_complete"],
        format!("{}/device?user_code={user_code}", app.ctx.issuer)
    );
    assert_eq!((started["interval"].as_i64(), started["expires_in"].as_i64()), (Some(5), Some(600)));

    // The device polls before the person answers, then too fast.
    let (status, body) = poll(&app, &cli, &device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("authorization_pending")), "{body}");
    let (status, body) = poll(&app, &cli, &device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")), "{body}");

    // The person follows the device's link (the code filled in), types it (any case, no dash),
    // and allows.
    let form = w.browser.get(started["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.field("user_code").as_deref(), Some(user_code.as_str()));
    let csrf = form.field("csrf").unwrap();
    let wrong = w.browser.post("/device", &[("csrf", &csrf), ("user_code", "BBBB-BBBB")]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("not valid"), "{}", wrong.body);
    let typed = user_code.replace('-', "").to_lowercase();
    let found = w.browser.post("/device", &[("csrf", &csrf), ("user_code", &typed)]).await;
    assert_eq!(found.status, 303, "{}", found.body);
    assert!(found.location().starts_with("/oauth/consent?request=arq_"));
    let page = w.browser.get(found.location()).await;
    assert!(page.body.contains("the device that showed you the code"), "{}", page.body);
    let (csrf, request) = (page.field("csrf").unwrap(), page.field("request").unwrap());
    let done = w
        .browser
        .post("/oauth/consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("The device is connected"));

    waited(&app).await;
    let (status, tokens) = poll(&app, &cli, &device_code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        (access["sub"].as_str(), access["client_id"].as_str()),
        (Some(w.user.as_str()), Some(cli.as_str()))
    );
    assert!(tokens["refresh_token"].as_str().unwrap().starts_with("writ_rt_"));
    let (status, body) = poll(&app, &cli, &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a device code gives tokens once"
    );
    let (status, _) = refresh(&app, &cli, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);

    // The consent is remembered: the next device is connected as soon as its code is typed.
    let (_, second) = device_authorization(&app, &cli).await;
    let form = w.browser.get("/device").await;
    let found = w
        .browser
        .post(
            "/device",
            &[("csrf", &form.field("csrf").unwrap()), ("user_code", second["user_code"].as_str().unwrap())],
        )
        .await;
    let done = w.browser.get(found.location()).await;
    assert!(done.body.contains("The device is connected"), "{}", done.body);
    waited(&app).await;
    assert_eq!(poll(&app, &cli, second["device_code"].as_str().unwrap()).await.0, 200);

    // Expired.
    let (_, third) = device_authorization(&app, &cli).await;
    {
        use writ_store::ConnectionTrait as _;
        app.ctx
            .store
            .conn()
            .execute_unprepared("UPDATE authorization_requests SET expires_at = created_at")
            .await
            .unwrap();
    }
    let (status, body) = poll(&app, &cli, third["device_code"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired_token")), "{body}");
    // A client without the grant may not start one.
    let (status, body) = device_authorization(&app, &w.native).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
}

/// A consent of `user` for `client`, written straight to the store: for walks over the admin
/// routes that need one to exist, without a browser.
pub(crate) async fn stored_consent(app: &TestApp, org: &str, user: &str, client: &str) -> String {
    let now = writ_core::now();
    let consent = writ_store::Consent {
        id: writ_core::ConsentId::generate(),
        user_id: writ_core::UserId::parse(user).unwrap(),
        client_id: writ_core::ClientId::parse(client).unwrap(),
        org_id: writ_core::OrgId::parse(org).unwrap(),
        grants: writ_core::Grants::new(),
        created_at: now,
        updated_at: now,
    };
    writ_store::Consents::new(app.ctx.store.conn(), &writ_store::Tenant::Operator)
        .save(&consent)
        .await
        .unwrap();
    consent.id.to_string()
}
