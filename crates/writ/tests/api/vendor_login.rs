//! The `redirect` login mode (docs/delegation.md): Writ sends the browser to the vendor's login
//! page with a signed login request, and the vendor sends it back with a login response signed by
//! a key the operator registered. A response logs in once, only the browser that went to get it,
//! only for an org that logs in this way and only an active user of it (or one created just in
//! time where the org allows it); everything else is refused and leaves no session.

use std::sync::LazyLock;

use serde_json::{Value, json};
use writ_testkit::browser::{Answer, Browser};
use writ_testkit::{TestApp, on_every_backend_with};

use super::private_key_jwt::Key;

on_every_backend_with!(super::redirect_mode; a_login_response_logs_the_person_in_once);
on_every_backend_with!(super::redirect_mode; login_responses_that_must_log_nobody_in);
on_every_backend_with!(super::redirect_mode; people_are_created_just_in_time_where_the_org_allows);
on_every_backend_with!(super::org_override; an_org_can_log_in_on_its_own_page_and_only_the_operator_says_so);

const LOGIN_URL: &str = "http://127.0.0.1:9/vendor/login?tenant=all";
const OWN_URL: &str = "https://acme.example.com/writ-login";
const REQUEST_TYPE: &str = "writ-login-request+jwt";
const RESPONSE_TYPE: &str = "writ-login-response+jwt";
const BILLING: &str = "https://api.example.com/billing";

/// The vendor's signing key (its public half is the deployment's `login_keys`).
static VENDOR: LazyLock<Key> = LazyLock::new(|| Key::new("ES256", "vendor-1"));

fn redirect_mode(s: &mut writ_app::Settings) {
    s.login_mode = writ_core::LoginMode::Redirect;
    s.login_url = Some(LOGIN_URL.into());
    s.login_keys = Some(json!({ "keys": [VENDOR.public] }).to_string());
}

/// Passwords for the deployment; orgs may log in on the vendor's page.
fn org_override(s: &mut writ_app::Settings) {
    s.login_keys = Some(json!({ "keys": [VENDOR.public] }).to_string());
}

/// Org `acme` (entitled to billing) with `ada@acme.example`, whose vendor id is `v-ada`; the
/// operator token, the org and the user.
async fn acme(app: &TestApp) -> (String, String, String) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read"])]).await;
    let (status, user) = app
        .post(
            "/admin/v1/users",
            &op,
            &json!({"email": "ada@acme.example", "org_id": org, "external_id": "v-ada"}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    (op, org, user["id"].as_str().unwrap().to_owned())
}

/// Sends `browser` off to log in (as a page needing a session does) and returns the login
/// request it carries to the vendor, verified with Writ's published keys.
async fn depart(app: &TestApp, browser: &mut Browser, login: &str) -> Value {
    let off = browser.get(login).await;
    assert_eq!(off.status, 303, "{}", off.body);
    let to = off.location().to_owned();
    let request = to.split("request=").nth(1).unwrap_or_else(|| panic!("no login request in {to}"));
    let jwks = app.http.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
    let jwks: Value = jwks.json().await.unwrap();
    let (keys, _) = writ_token::PublicKeys::from_jwks(&jwks, &[app.ctx.settings.signing_alg]).unwrap();
    let typ = writ_token::Typ { accepted: &[REQUEST_TYPE], rejected: &[], refusal: "typ" };
    let verified = keys.verify_jws(request, &typ).expect("the login request verifies with Writ's JWKS");
    let claims: Value = serde_json::from_slice(&verified.payload).unwrap();
    assert!(browser.cookies.contains_key("writ_login"), "the request is remembered in the browser");
    claims
}

/// Good response claims answering `request` for the user with external id `external`.
fn answer(app: &TestApp, request: &Value, org: &str, external: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": "https://app.vendor.example", "aud": app.ctx.issuer, "iat": now, "exp": now + 120,
        "jti": writ_core::id::new_token_id(), "in_response_to": request["jti"],
        "org": org, "external_id": external,
    })
}

async fn back(browser: &mut Browser, response: &str) -> Answer {
    browser.get(&format!("/oauth/login/callback?response={response}")).await
}

async fn a_login_response_logs_the_person_in_once(app: TestApp) {
    let (op, org, user) = acme(&app).await;
    let mut browser = Browser::new(&app.ctx.issuer);
    let account = browser.get("/oauth/account").await;
    assert_eq!(account.status, 303);
    let request = depart(&app, &mut browser, account.location()).await;
    assert_eq!(request["iss"], app.ctx.issuer.as_str());
    assert_eq!(request["aud"], LOGIN_URL, "the request names the vendor's page");
    assert_eq!(request["return_to"], format!("{}/oauth/login/callback", app.ctx.issuer));
    assert_eq!(request["exp"].as_i64().unwrap() - request["iat"].as_i64().unwrap(), 600);
    assert!(request["jti"].as_str().unwrap().starts_with("lrq_"));
    assert!(request.get("org").is_none(), "no org was named on the way");

    let response =
        VENDOR.sign_with(&answer(&app, &request, &org, "v-ada"), Some("vendor-1"), Some(RESPONSE_TYPE));
    let replayed_state = browser.cookies.clone();
    let done = back(&mut browser, &response).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/oauth/account", "back where the person was going");
    assert!(!browser.cookies.contains_key("writ_login"), "the request's cookie is spent");
    let page = browser.get("/oauth/account").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ada@acme.example"), "{}", page.body);

    // The same response again, even with the request's cookie put back, logs nobody in.
    let mut thief = Browser::new(&app.ctx.issuer);
    thief.cookies = replayed_state;
    let again = back(&mut thief, &response).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(!thief.cookies.contains_key("writ_session"));

    let (_, events) = app.get(&format!("/admin/v1/audit-events?actor={user}"), &op).await;
    let login = events["data"].as_array().unwrap().iter().find(|e| e["action"] == "user.logged_in");
    assert_eq!(login.expect("the login is audited")["details"]["method"], "redirect", "{events}");
    assert!(!events.to_string().contains(&response), "no login response in the audit log");

    // Password logins are off: no invitation to set one, no form.
    let mut other = Browser::new(&app.ctx.issuer);
    let (status, body) = app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &json!({})).await;
    assert_eq!(status, 409, "no password to set for a redirect org: {body}");
    let form = other.get("/oauth/login?org=nobody").await;
    assert_eq!(form.status, 303, "the deployment's mode is redirect, whatever the org typed");
}

async fn login_responses_that_must_log_nobody_in(app: TestApp) {
    let (op, org, user) = acme(&app).await;
    let (status, other) = app
        .post(
            "/admin/v1/orgs",
            &op,
            &json!({"name": "Globex", "slug": "globex", "login": {"mode": "password"}}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let other = other["id"].as_str().unwrap().to_owned();
    let (status, hank) = app
        .post(
            "/admin/v1/users",
            &op,
            &json!({"email": "hank@globex.example", "org_id": other, "external_id": "v-hank"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, bob) = app
        .post(
            "/admin/v1/users",
            &op,
            &json!({"email": "bob@acme.example", "org_id": org, "external_id": "v-bob"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .patch(
            &format!("/admin/v1/users/{}", bob["id"].as_str().unwrap()),
            &op,
            &json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(status, 200);
    let stranger = Key::new("ES256", "vendor-1");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    type Tamper = fn(&mut Value, i64);
    let cases: &[(&str, Tamper, Option<&str>, &Key, u16)] = &[
        ("no typ", |_, _| {}, None, &VENDOR, 400),
        ("a plain JWT", |_, _| {}, Some("JWT"), &VENDOR, 400),
        ("an access token's typ", |_, _| {}, Some("at+jwt"), &VENDOR, 400),
        ("another key", |_, _| {}, Some(RESPONSE_TYPE), &stranger, 400),
        (
            "another audience",
            |c, _| c["aud"] = "https://other.example".into(),
            Some(RESPONSE_TYPE),
            &VENDOR,
            400,
        ),
        (
            "no audience",
            |c, _| c.as_object_mut().unwrap().remove("aud").map(drop).unwrap_or(()),
            Some(RESPONSE_TYPE),
            &VENDOR,
            400,
        ),
        ("expired", |c, now| c["exp"] = (now - 120).into(), Some(RESPONSE_TYPE), &VENDOR, 400),
        ("too long-lived", |c, now| c["exp"] = (now + 3600).into(), Some(RESPONSE_TYPE), &VENDOR, 400),
        ("issued in the future", |c, now| c["iat"] = (now + 3600).into(), Some(RESPONSE_TYPE), &VENDOR, 400),
        (
            "another request",
            |c, _| c["in_response_to"] = "lrq_someone_elses".into(),
            Some(RESPONSE_TYPE),
            &VENDOR,
            400,
        ),
        (
            "no org",
            |c, _| c.as_object_mut().unwrap().remove("org").map(drop).unwrap_or(()),
            Some(RESPONSE_TYPE),
            &VENDOR,
            400,
        ),
        (
            "an unknown org",
            |c, _| c["org"] = "org_01jd8x4c2v9q0m7k3n5p6r8s0t".into(),
            Some(RESPONSE_TYPE),
            &VENDOR,
            400,
        ),
        (
            "no user",
            |c, _| c.as_object_mut().unwrap().remove("external_id").map(drop).unwrap_or(()),
            Some(RESPONSE_TYPE),
            &VENDOR,
            400,
        ),
        (
            "an unknown user id",
            |c, _| c["user_id"] = "usr_01jd8x4c2v9q0m7k3n5p6r8s0t".into(),
            Some(RESPONSE_TYPE),
            &VENDOR,
            400,
        ),
        (
            "nobody's external id (no creation)",
            |c, _| c["external_id"] = "v-nobody".into(),
            Some(RESPONSE_TYPE),
            &VENDOR,
            403,
        ),
        ("a disabled user", |c, _| c["external_id"] = "v-bob".into(), Some(RESPONSE_TYPE), &VENDOR, 403),
    ];
    for (what, tamper, typ, key, status) in cases {
        let mut browser = Browser::new(&app.ctx.issuer);
        let request = depart(&app, &mut browser, "/oauth/login").await;
        let mut claims = answer(&app, &request, &org, "v-ada");
        tamper(&mut claims, now);
        let response = key.sign_with(&claims, Some("vendor-1"), *typ);
        let refused = back(&mut browser, &response).await;
        assert_eq!(refused.status, *status, "{what}: {}", refused.body);
        assert!(!browser.cookies.contains_key("writ_session"), "{what}: no session");
        assert!(!browser.cookies.contains_key("writ_login"), "{what}: the request is spent");
    }

    // An org that logs in with passwords is not logged in through the vendor.
    let mut browser = Browser::new(&app.ctx.issuer);
    let request = depart(&app, &mut browser, "/oauth/login").await;
    let claims = answer(&app, &request, &other, "v-hank");
    let refused = back(&mut browser, &VENDOR.sign_with(&claims, Some("vendor-1"), Some(RESPONSE_TYPE))).await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    // Nor is another org's user logged in under this one's name.
    let mut browser = Browser::new(&app.ctx.issuer);
    let request = depart(&app, &mut browser, "/oauth/login").await;
    let mut claims = answer(&app, &request, &org, "ignored");
    claims.as_object_mut().unwrap().remove("external_id");
    claims["user_id"] = hank["id"].clone();
    let refused = back(&mut browser, &VENDOR.sign_with(&claims, Some("vendor-1"), Some(RESPONSE_TYPE))).await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    // Login CSRF: a good response obtained in one browser does not log in another.
    let mut attacker = Browser::new(&app.ctx.issuer);
    let request = depart(&app, &mut attacker, "/oauth/login").await;
    let mut victim = Browser::new(&app.ctx.issuer);
    let _ = depart(&app, &mut victim, "/oauth/login").await;
    let response =
        VENDOR.sign_with(&answer(&app, &request, &org, "v-ada"), Some("vendor-1"), Some(RESPONSE_TYPE));
    let planted = back(&mut victim, &response).await;
    assert_eq!(planted.status, 400, "{}", planted.body);
    let mut cold = Browser::new(&app.ctx.issuer);
    assert_eq!(back(&mut cold, &response).await.status, 400, "no cookie, no login");
    // …while the browser that asked still can, and a user named by id works too.
    let fine = back(&mut attacker, &response).await;
    assert_eq!(fine.status, 303, "{}", fine.body);
    let mut by_id = Browser::new(&app.ctx.issuer);
    let request = depart(&app, &mut by_id, "/oauth/login").await;
    let mut claims = answer(&app, &request, &org, "ignored");
    claims.as_object_mut().unwrap().remove("external_id");
    claims["user_id"] = user.as_str().into();
    assert_eq!(
        back(&mut by_id, &VENDOR.sign_with(&claims, Some("vendor-1"), Some(RESPONSE_TYPE))).await.status,
        303
    );

    // Garbage, a cancelled login, and nothing at all.
    let mut browser = Browser::new(&app.ctx.issuer);
    let _ = depart(&app, &mut browser, "/oauth/login").await;
    for query in ["response=eyJ.garbage.here", "response=", "error=access_denied", ""] {
        let answer = browser.get(&format!("/oauth/login/callback?{query}")).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert!(!browser.cookies.contains_key("writ_session"));
    }
}

async fn people_are_created_just_in_time_where_the_org_allows(app: TestApp) {
    let (op, org, _) = acme(&app).await;
    let grants = json!([{"resource": BILLING, "scopes": ["invoices:read"]}]);
    let (status, body) =
        app.patch(&format!("/admin/v1/orgs/{org}"), &op, &json!({"login": {"new_users": grants}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["login"]["new_users"], grants);
    let beyond = json!({"login": {"new_users": [{"resource": BILLING, "scopes": ["invoices:write"]}]}});
    let (status, body) = app.patch(&format!("/admin/v1/orgs/{org}"), &op, &beyond).await;
    assert_eq!(status, 422, "new people get no more than the org is entitled to: {body}");

    let log_in = |external: &'static str, email: Option<&'static str>| {
        let app = &app;
        let org = org.clone();
        async move {
            let mut browser = Browser::new(&app.ctx.issuer);
            let request = depart(app, &mut browser, "/oauth/login").await;
            let mut claims = answer(app, &request, &org, external);
            if let Some(email) = email {
                claims["email"] = email.into();
            }
            back(&mut browser, &VENDOR.sign_with(&claims, Some("vendor-1"), Some(RESPONSE_TYPE))).await
        }
    };
    assert_eq!(log_in("v-new", None).await.status, 400, "a new person needs an email");
    assert_eq!(log_in("v-new", Some("new@acme.example")).await.status, 303);
    assert_eq!(log_in("v-new", Some("new@acme.example")).await.status, 303, "the same person, again");
    let clash = log_in("v-other", Some("ada@acme.example")).await;
    assert_eq!(clash.status, 403, "an email someone has under another vendor id: {}", clash.body);

    let (_, users) = app.get(&format!("/admin/v1/users?org_id={org}"), &op).await;
    let created: Vec<&Value> =
        users["data"].as_array().unwrap().iter().filter(|u| u["external_id"] == "v-new").collect();
    assert_eq!(created.len(), 1, "{users}");
    assert_eq!(created[0]["email"], "new@acme.example");
    assert_eq!(created[0]["grants"], grants);
    assert_eq!(created[0]["has_password"], false);
    let id = created[0]["id"].as_str().unwrap();
    let (_, events) = app.get(&format!("/admin/v1/audit-events?actor={id}"), &op).await;
    let made = events["data"].as_array().unwrap().iter().find(|e| e["action"] == "user.created");
    assert_eq!(made.expect("the creation is audited")["details"]["just_in_time"], true, "{events}");
}

async fn an_org_can_log_in_on_its_own_page_and_only_the_operator_says_so(app: TestApp) {
    let (op, org, user) = acme(&app).await;
    // The deployment logs in with passwords: the form, for an org that does too.
    let mut browser = Browser::new(&app.ctx.issuer);
    assert_eq!(browser.get("/oauth/login?org=acme").await.status, 200);

    // A tenant admin may say who is created, but not where people log in.
    let admin_scopes: &[&str] = &["admin:orgs:read", "admin:orgs:write"];
    let entitlements = json!([{"resource": BILLING, "scopes": ["invoices:read"]},
                              {"resource": writ_core::ADMIN_AUDIENCE, "scopes": admin_scopes}]);
    let (status, body) =
        app.patch(&format!("/admin/v1/orgs/{org}"), &op, &json!({"entitlements": entitlements})).await;
    assert_eq!(status, 200, "{body}");
    let (admin, secret) =
        app.create_org_client(&op, &org, &[(writ_core::ADMIN_AUDIENCE, admin_scopes)]).await;
    let tenant = app.token(&admin, &secret, &[("resource", writ_core::ADMIN_AUDIENCE)]).await;
    let (status, body) = app
        .patch(
            &format!("/admin/v1/orgs/{org}"),
            &tenant,
            &json!({"login": {"mode": "redirect", "url": OWN_URL}}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let new_users = json!({"login": {"new_users": [{"resource": BILLING, "scopes": ["invoices:read"]}]}});
    let (status, body) = app.patch(&format!("/admin/v1/orgs/{org}"), &tenant, &new_users).await;
    assert_eq!(status, 200, "{body}");
    for (bad, why) in [
        (json!({"mode": "redirect"}), "no login page: the deployment has no login_url"),
        (json!({"mode": "redirect", "url": "http://acme.example.com/login"}), "http off loopback"),
        (json!({"mode": "redirect", "url": "javascript:alert(1)"}), "not a web page"),
        (json!({"mode": "redirect", "url": "https://user:pw@acme.example.com/"}), "user info"),
        (json!({"mode": "sso"}), "no such mode"),
        (json!({"mode": "redirect", "url": OWN_URL, "extra": 1}), "unknown field"),
    ] {
        let (status, body) = app.patch(&format!("/admin/v1/orgs/{org}"), &op, &json!({"login": bad})).await;
        assert_eq!(status, 422, "{why}: {body}");
    }
    let (status, body) = app
        .patch(&format!("/admin/v1/orgs/{org}"), &op, &json!({"login": {"mode": "redirect", "url": OWN_URL}}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["login"],
        json!({"mode": "redirect", "url": OWN_URL, "new_users": null}),
        "replaced whole"
    );

    // Its people now go to its own page, named in the request; the password form sends them on.
    let request = depart(&app, &mut browser, "/oauth/login?org=acme&return_to=/oauth/account").await;
    assert_eq!(request["aud"], OWN_URL);
    assert_eq!(request["org"], org.as_str());
    assert_eq!(request["org_slug"], "acme");
    let mut typed = Browser::new(&app.ctx.issuer);
    let form = typed.get("/oauth/login").await;
    assert_eq!(form.status, 200, "other orgs still see the form");
    let csrf = form.field("csrf").unwrap();
    let sent_on = typed
        .post(
            "/oauth/login",
            &[
                ("csrf", &csrf),
                ("return_to", "/oauth/account"),
                ("org", "ACME"),
                ("email", "x@y.z"),
                ("password", "whatever it is"),
            ],
        )
        .await;
    assert_eq!(sent_on.status, 200, "{}", sent_on.body);
    let link = "/oauth/login?org=ACME&return_to=%2Foauth%2Faccount";
    assert!(sent_on.body.replace("&#38;", "&").contains(link), "{}", sent_on.body);
    let followed = typed.get(link).await;
    assert_eq!(followed.status, 303);
    assert!(followed.location().starts_with(&format!("{OWN_URL}?request=")), "{}", followed.location());

    let response =
        VENDOR.sign_with(&answer(&app, &request, &org, "v-ada"), Some("vendor-1"), Some(RESPONSE_TYPE));
    let done = back(&mut browser, &response).await;
    assert_eq!(done.status, 303, "{}", done.body);

    // The change is audited with what it set.
    let (_, events) = app.get(&format!("/admin/v1/audit-events?org_id={org}&action=org.updated"), &op).await;
    let urls: Vec<&Value> =
        events["data"].as_array().unwrap().iter().map(|e| &e["details"]["login"]["url"]).collect();
    assert!(urls.contains(&&json!(OWN_URL)), "{events}");
    let (status, _) = app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &json!({})).await;
    assert_eq!(status, 409, "no password to set for an org that logs in on its own page");
}

/// docs/delegation.md carries the vendor-side handler that the Chromium test runs, word for word.
#[test]
fn the_docs_carry_the_handler_ci_runs() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/");
    let handler = std::fs::read_to_string(format!("{root}examples/vendor_login.py")).unwrap();
    let docs = std::fs::read_to_string(format!("{root}delegation.md")).unwrap();
    assert!(
        docs.contains(&format!("```python\n{handler}```")),
        "docs/delegation.md: paste docs/examples/vendor_login.py"
    );
}
