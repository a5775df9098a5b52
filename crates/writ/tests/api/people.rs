//! People on Writ's pages, over a real socket: an admin invites a user, the person sets a password
//! through the link and is logged in; logins that fail say nothing about which part was wrong and
//! are limited per account (whether it exists or not) and per address; forms need their CSRF token
//! from Writ's own origin; a password change or a disabled user ends sessions; every page carries
//! the security headers.

use serde_json::json;
use writ_testkit::browser::{Answer, Browser};
use writ_testkit::{TestApp, on_every_backend, on_every_backend_with};

const PASSWORD: &str = "correct horse battery staple";

on_every_backend!(an_invitation_sets_a_password_once_and_logs_the_person_in);
on_every_backend!(a_failed_login_never_says_what_was_wrong);
on_every_backend_with!(super::no_address_limit; an_account_locks_after_ten_failures_whether_it_exists_or_not);
on_every_backend_with!(super::no_lockout; an_address_is_limited_across_accounts);
on_every_backend!(forms_need_their_csrf_token_from_writs_origin);
on_every_backend!(changing_the_password_ends_other_sessions);
on_every_backend!(disabling_or_deleting_a_person_ends_their_sessions);
on_every_backend!(pages_carry_the_security_headers_and_no_secret_in_their_links);
on_every_backend!(expired_invitations_and_sessions_are_purged);

/// A browser of the app's pages, at the issuer's address (what `Origin` says).
fn new_browser(app: &TestApp) -> Browser {
    Browser::new(&app.ctx.issuer)
}

fn no_address_limit(s: &mut writ_app::Settings) {
    s.login_failures_per_address_per_minute = 0;
}

fn no_lockout(s: &mut writ_app::Settings) {
    s.login_failures_per_address_per_minute = 3;
    s.login_failures_per_account = 0;
}

/// An org `acme` with user `ada@acme.example`; the operator token, the org and the user's id.
async fn acme(app: &TestApp) -> (String, String, String) {
    let op = app.operator_token().await;
    let org = app.create_org(&op, "acme", &[]).await;
    let (status, user) =
        app.post("/admin/v1/users", &op, &json!({"email": "ada@acme.example", "org_id": org})).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["has_password"], false);
    (op, org, user["id"].as_str().unwrap().to_owned())
}

/// Invites `user` and sets `password` through the link in `browser`; the answer to the form.
async fn accept(app: &TestApp, op: &str, user: &str, browser: &mut Browser, password: &str) -> Answer {
    let (status, inv) = app.post(&format!("/admin/v1/users/{user}/invitations"), op, &json!({})).await;
    assert_eq!(status, 201, "{inv}");
    let url = inv["url"].as_str().unwrap();
    let form = browser.get(url).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let (csrf, token) = (form.field("csrf").unwrap(), form.field("token").unwrap());
    browser
        .post(
            "/oauth/invitation",
            &[("csrf", &csrf), ("token", &token), ("password", password), ("confirm", password)],
        )
        .await
}

async fn an_invitation_sets_a_password_once_and_logs_the_person_in(app: TestApp) {
    let (op, _org, user) = acme(&app).await;
    let (status, inv) =
        app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &json!({"expires_in": 3600})).await;
    assert_eq!(status, 201, "{inv}");
    let url = inv["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/oauth/invitation?token=writ_inv_", app.ctx.issuer)), "{url}");
    for bad in [json!({"expires_in": 60}), json!({"expires_in": 2_592_001}), json!({"expires": 3600})] {
        let (status, body) = app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &bad).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }

    let mut browser = new_browser(&app);
    let form = browser.get(&url).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("ada@acme.example"), "the page greets the person");
    let (csrf, token) = (form.field("csrf").unwrap(), form.field("token").unwrap());
    // A short password, and two that differ, are refused with a reason; the link still works.
    let short = browser
        .post(
            "/oauth/invitation",
            &[("csrf", &csrf), ("token", &token), ("password", "short"), ("confirm", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("at least") || short.body.contains("12 to 256"), "{}", short.body);
    let differ = browser
        .post(
            "/oauth/invitation",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", PASSWORD),
                ("confirm", "another long password"),
            ],
        )
        .await;
    assert_eq!(differ.status, 422);
    assert!(differ.body.contains("not the same"));
    let email = browser
        .post(
            "/oauth/invitation",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", "Ada@Acme.Example"),
                ("confirm", "Ada@Acme.Example"),
            ],
        )
        .await;
    assert_eq!(email.status, 422, "the email is no password");

    let done = browser
        .post(
            "/oauth/invitation",
            &[("csrf", &csrf), ("token", &token), ("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!((done.status, done.location()), (303, "/oauth/account"), "{}", done.body);
    assert!(browser.cookies.contains_key("writ_session"));
    let account = browser.get("/oauth/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("ada@acme.example") && account.body.contains("acme"));

    // The link works once.
    let again = new_browser(&app).get(&url).await;
    assert_eq!(again.status, 410, "{}", again.body);
    let reused = browser
        .post(
            "/oauth/invitation",
            &[("csrf", &csrf), ("token", &token), ("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(reused.status, 410);
    let malformed = new_browser(&app).get("/oauth/invitation?token=writ_inv_nope").await;
    assert_eq!(malformed.status, 410);

    let (_, user_dto) = app.get(&format!("/admin/v1/users/{user}"), &op).await;
    assert_eq!(user_dto["has_password"], true);
    let mut other = new_browser(&app);
    let login = other.log_in("acme", "ada@acme.example", PASSWORD).await;
    assert_eq!((login.status, login.location()), (303, "/oauth/account"), "{}", login.body);

    // A new invitation replaces the earlier unused one.
    let (_, first) = app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &json!({})).await;
    let (_, second) = app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &json!({})).await;
    assert_eq!(new_browser(&app).get(first["url"].as_str().unwrap()).await.status, 410);
    assert_eq!(new_browser(&app).get(second["url"].as_str().unwrap()).await.status, 200);

    app.ctx.audit.flush().await;
    let (_, events) = app.get(&format!("/admin/v1/audit-events?actor={user}"), &op).await;
    let actions: Vec<&str> =
        events["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"user.password_set") && actions.contains(&"user.logged_in"), "{actions:?}");
    let text = events.to_string();
    assert!(!text.contains("writ_inv_") && !text.contains(PASSWORD), "no credential in the audit log");
}

async fn a_failed_login_never_says_what_was_wrong(app: TestApp) {
    let (op, _org, user) = acme(&app).await;
    let mut browser = new_browser(&app);
    // Before any password is set, the right-looking login fails like the others.
    let no_password = browser.log_in("acme", "ada@acme.example", PASSWORD).await;
    assert_eq!(no_password.status, 401);
    assert_eq!(accept(&app, &op, &user, &mut new_browser(&app), PASSWORD).await.status, 303);

    let mut answers = Vec::new();
    for (org, email, password) in [
        ("acme", "ada@acme.example", "wrong password here"),
        ("acme", "nobody@acme.example", PASSWORD),
        ("nowhere", "ada@acme.example", PASSWORD),
        ("Not A Slug!", "not an email", ""),
    ] {
        let a = new_browser(&app).log_in(org, email, password).await;
        assert_eq!(a.status, 401, "{org} {email}: {}", a.body);
        assert!(
            !a.headers.contains_key("set-cookie")
                || !a.header("set-cookie").unwrap().contains("writ_session")
        );
        answers.push(error_of(&a));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // A disabled person with the right password reads the same.
    let (status, _) =
        app.patch(&format!("/admin/v1/users/{user}"), &op, &json!({"status": "disabled"})).await;
    assert_eq!(status, 200);
    let disabled = new_browser(&app).log_in("acme", "ada@acme.example", PASSWORD).await;
    assert_eq!((disabled.status, error_of(&disabled)), (401, answers[0].clone()));
    app.patch(&format!("/admin/v1/users/{user}"), &op, &json!({"status": "active"})).await;
    let ok = new_browser(&app).log_in("ACME ", "Ada@Acme.Example", PASSWORD).await;
    assert_eq!(ok.status, 303, "slug and email are read as typed loosely: {}", ok.body);
}

/// The error line of a login page.
fn error_of(page: &Answer) -> String {
    let at = page.body.find("role=\"alert\"").expect("an error on the page");
    let rest = &page.body[at..];
    rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_owned()
}

async fn an_account_locks_after_ten_failures_whether_it_exists_or_not(app: TestApp) {
    let (op, _org, user) = acme(&app).await;
    assert_eq!(accept(&app, &op, &user, &mut new_browser(&app), PASSWORD).await.status, 303);
    for email in ["ada@acme.example", "ghost@acme.example"] {
        for i in 0..10 {
            let a = new_browser(&app).log_in("acme", email, "wrong password here").await;
            assert_eq!(a.status, 401, "{email} attempt {i}");
        }
        let locked = new_browser(&app).log_in("acme", email, PASSWORD).await;
        assert_eq!(locked.status, 429, "{email}: even the right password waits");
        let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        assert!(locked.body.contains("too many attempts"));
    }
}

async fn an_address_is_limited_across_accounts(app: TestApp) {
    let _ = acme(&app).await;
    for i in 0..3 {
        let a = new_browser(&app).log_in("acme", &format!("u{i}@acme.example"), "wrong password here").await;
        assert_eq!(a.status, 401);
    }
    let limited = new_browser(&app).log_in("acme", "u9@acme.example", "wrong password here").await;
    assert_eq!(limited.status, 429);
}

async fn forms_need_their_csrf_token_from_writs_origin(app: TestApp) {
    let (op, _org, user) = acme(&app).await;
    assert_eq!(accept(&app, &op, &user, &mut new_browser(&app), PASSWORD).await.status, 303);
    let mut browser = new_browser(&app);
    let form = browser.get("/oauth/login").await;
    let csrf = form.field("csrf").unwrap();
    let login = |csrf: String| {
        [
            ("csrf", csrf),
            ("org", "acme".into()),
            ("email", "ada@acme.example".into()),
            ("password", PASSWORD.into()),
        ]
    };
    // No token, a wrong one, another browser's, and the right one from another origin: refused.
    for (token, origin) in [
        (String::new(), Some(app.ctx.issuer.clone())),
        ("x".repeat(43), Some(app.ctx.issuer.clone())),
        (csrf.clone(), Some("https://evil.example".to_owned())),
    ] {
        browser.origin = origin;
        let fields = login(token);
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = browser.post("/oauth/login", &refs).await;
        assert_eq!(a.status, 403, "{}", a.body);
        assert!(!browser.cookies.contains_key("writ_session"));
    }
    let mut stranger = new_browser(&app);
    let fields = login(csrf.clone());
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(stranger.post("/oauth/login", &refs).await.status, 403, "a token without its cookie");
    // The right token from Writ's own origin, or with no Origin at all (older browsers), works.
    browser.origin = None;
    let a = browser.post("/oauth/login", &refs).await;
    assert_eq!(a.status, 303, "{}", a.body);
}

async fn changing_the_password_ends_other_sessions(app: TestApp) {
    let (op, _org, user) = acme(&app).await;
    let mut first = new_browser(&app);
    assert_eq!(accept(&app, &op, &user, &mut first, PASSWORD).await.status, 303);
    let mut second = new_browser(&app);
    assert_eq!(second.log_in("acme", "ada@acme.example", PASSWORD).await.status, 303);

    let form = first.get("/oauth/account/password").await;
    assert_eq!(form.status, 200);
    let csrf = form.field("csrf").unwrap();
    let new = "a brand new long passphrase";
    let wrong = first
        .post(
            "/oauth/account/password",
            &[("csrf", &csrf), ("current", "not the password"), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let done = first
        .post(
            "/oauth/account/password",
            &[("csrf", &csrf), ("current", PASSWORD), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!((done.status, done.location()), (303, "/oauth/account?changed=1"), "{}", done.body);
    assert_eq!(first.get("/oauth/account").await.status, 200, "the session that changed it stays");
    let ended = second.get("/oauth/account").await;
    assert_eq!((ended.status, ended.location()), (303, "/oauth/login?return_to=%2Foauth%2Faccount"));
    assert_eq!(new_browser(&app).log_in("acme", "ada@acme.example", PASSWORD).await.status, 401);
    assert_eq!(new_browser(&app).log_in("acme", "ada@acme.example", new).await.status, 303);

    // Logging out ends the session; its cookie is worth nothing afterwards.
    let account = first.get("/oauth/account").await;
    let stolen = first.cookies.clone();
    let out = first.post("/oauth/logout", &[("csrf", &account.field("csrf").unwrap())]).await;
    assert_eq!((out.status, out.location()), (303, "/oauth/login"));
    let mut thief = new_browser(&app);
    thief.cookies = stolen;
    assert_eq!(thief.get("/oauth/account").await.status, 303);
}

async fn disabling_or_deleting_a_person_ends_their_sessions(app: TestApp) {
    let (op, _org, user) = acme(&app).await;
    let mut browser = new_browser(&app);
    assert_eq!(accept(&app, &op, &user, &mut browser, PASSWORD).await.status, 303);
    assert_eq!(browser.get("/oauth/account").await.status, 200);
    app.patch(&format!("/admin/v1/users/{user}"), &op, &json!({"status": "disabled"})).await;
    assert_eq!(browser.get("/oauth/account").await.status, 303, "disabled: logged out");
    app.patch(&format!("/admin/v1/users/{user}"), &op, &json!({"status": "active"})).await;
    assert_eq!(browser.log_in("acme", "ada@acme.example", PASSWORD).await.status, 303);
    let (status, _) = app.delete(&format!("/admin/v1/users/{user}"), &op).await;
    assert_eq!(status, 204);
    assert_eq!(browser.get("/oauth/account").await.status, 303, "deleted: logged out");
    for table in ["login_sessions", "invitations"] {
        assert_eq!(writ_testkit::count_rows(app.ctx.store.conn(), table).await.unwrap(), 0, "{table}");
    }
}

async fn pages_carry_the_security_headers_and_no_secret_in_their_links(app: TestApp) {
    let mut browser = new_browser(&app);
    for path in ["/oauth/login", "/oauth/invitation?token=writ_inv_x", "/oauth/account"] {
        let page = browser.get(path).await;
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(page.header("referrer-policy"), Some("same-origin"), "{path}");
        assert_eq!(page.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{path}");
    }
    let login = new_browser(&app).get("/oauth/login").await;
    let set = login.header("set-cookie").unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(
        login.body.contains("<label for=\"email\">")
            && login.body.contains("autocomplete=\"current-password\"")
    );
    assert!(
        !login.body.contains("<script")
            && !login.body.contains("http://")
            && !login.body.contains("https://"),
        "no external asset"
    );
    let css = browser.get("/oauth/assets/writ.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    // A place to return to that is not Writ's is ignored.
    let hostile = browser.get("/oauth/login?return_to=https%3A%2F%2Fevil.example%2F").await;
    assert_eq!(hostile.field("return_to").as_deref(), Some("/oauth/account"));
}

async fn expired_invitations_and_sessions_are_purged(app: TestApp) {
    let (op, _org, user) = acme(&app).await;
    assert_eq!(accept(&app, &op, &user, &mut new_browser(&app), PASSWORD).await.status, 303);
    app.post(&format!("/admin/v1/users/{user}/invitations"), &op, &json!({"expires_in": 3600})).await;
    let conn = app.ctx.store.conn();
    let now = writ_core::now();
    // Nothing has ended yet.
    assert_eq!(writ_store::Invitations::new(conn).purge_expired(now).await.unwrap(), 0);
    assert_eq!(writ_store::LoginSessions::new(conn).purge_expired(now).await.unwrap(), 0);
    // An hour on, the invitation has; nine hours on, the 8-hour session too.
    let later = now + time::Duration::hours(9);
    assert_eq!(writ_store::Invitations::new(conn).purge_expired(later).await.unwrap(), 1);
    assert_eq!(writ_store::LoginSessions::new(conn).purge_expired(later).await.unwrap(), 1);
}
