//! `GET /oauth/login` (the form, or off to the vendor's login page), `POST /oauth/login` (log in),
//! `GET /oauth/login/callback` (back from the vendor's login page) and `POST /oauth/logout`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use writ_app::Context;
use writ_app::people::vendor;
use writ_app::people::{self, LoginAttempt, PersonError};
use writ_core::{LoginMode, Org};
use writ_http::RequestOrigin;

use super::text::Text;
use super::{
    Cookies, Csrf, SESSION, encoded, field, message, page, posted_form, query_param, safe_return, see_other,
    session_cookie, status_of, text,
};

/// Where a person goes after logging in when nothing asked them to log in.
pub(super) const HOME: &str = "/oauth/account";

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    t: &'static Text,
    title: &'a str,
    csrf: &'a str,
    return_to: &'a str,
    org: &'a str,
    email: &'a str,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
    org: Option<String>,
}

/// The login form, or, where the org (or the deployment) logs in on the vendor's page, off to
/// it; `return_to` (a path of Writ's) is where a successful login goes, `org` names the
/// organization.
#[get("/oauth/login")]
pub(super) async fn show(
    req: HttpRequest,
    ctx: web::Data<Context>,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let return_to = query.return_to.as_deref().and_then(safe_return).unwrap_or(HOME);
    let org = match query.org.as_deref() {
        Some(slug) => match vendor::org_named(&ctx, slug).await {
            Ok(org) => org,
            Err(e) => return message(&req, status_of(&e), &e.to_string(), None),
        },
        None => None,
    };
    if vendor::mode_of(&ctx, org.as_ref()) == LoginMode::Redirect {
        return depart(&req, &ctx, org.as_ref(), return_to);
    }
    let csrf = Csrf::for_page(&ctx, &req);
    let t = text(&req);
    let form = Login {
        t,
        title: t.login_title,
        csrf: &csrf.token,
        return_to,
        org: query.org.as_deref().unwrap_or(""),
        email: "",
        error: None,
    };
    with_cookie(&ctx, &csrf, page(StatusCode::OK, &form))
}

#[post("/oauth/login")]
pub(super) async fn submit(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    payload: web::Payload,
) -> HttpResponse {
    let t = text(&req);
    let fields = match posted_form(&req, &ctx, payload, Some("/oauth/login")).await {
        Ok(fields) => fields,
        Err(page) => return page,
    };
    let return_to = safe_return(field(&fields, "return_to")).unwrap_or(HOME);
    let (org, email) = (field(&fields, "org"), field(&fields, "email"));
    let attempt = LoginAttempt { org, email, password: field(&fields, "password") };
    match people::log_in(&ctx, attempt, &origin).await {
        Ok(session) => see_other(return_to).insert_header(session_cookie(&ctx, &session)).finish(),
        // A link, not a redirect: the form may only lead to Writ (`form-action`), and the org's
        // login page is elsewhere.
        Err(PersonError::LoginElsewhere) => {
            let link = format!("/oauth/login?org={}&return_to={}", encoded(org.trim()), encoded(return_to));
            page(
                StatusCode::OK,
                &Continue { t, title: t.login_title, message: t.login_elsewhere, link: &link },
            )
        }
        Err(e) => {
            let csrf = Csrf::for_page(&ctx, &req);
            let again = Login {
                t,
                title: t.login_title,
                csrf: &csrf.token,
                return_to,
                org: truncated(org),
                email: truncated(email),
                error: Some(e.to_string()),
            };
            let mut res = page(status_of(&e), &again);
            if let PersonError::TooManyAttempts { retry_after } = e
                && let Ok(v) = retry_after.to_string().parse()
            {
                res.headers_mut().insert(actix_web::http::header::RETRY_AFTER, v);
            }
            res
        }
    }
}

#[derive(Template)]
#[template(path = "continue.html")]
struct Continue<'a> {
    t: &'static Text,
    title: &'a str,
    message: &'a str,
    link: &'a str,
}

/// The cookie that binds the vendor's login response to the browser that went to get it.
const LOGIN_STATE: &str = "writ_login";

/// Off to the vendor's login page with a signed login request, remembering it in a cookie.
fn depart(req: &HttpRequest, ctx: &Context, org: Option<&Org>, return_to: &str) -> HttpResponse {
    match vendor::depart(ctx, org, return_to) {
        Ok(departure) => {
            let cookie = Cookies::of(ctx).set(LOGIN_STATE, &departure.state, "Lax", 600);
            see_other(&departure.url).insert_header(cookie).finish()
        }
        Err(e) => message(req, status_of(&e), &e.to_string(), None),
    }
}

/// Back from the vendor's login page: `response` (a signed login response) logs the person in
/// and sends them where they were going; `error` means they did not log in there.
#[get("/oauth/login/callback")]
pub(super) async fn callback(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
) -> HttpResponse {
    let t = text(&req);
    let param = |name: &str| query_param(&req, name);
    let cookies = Cookies::of(&ctx);
    let forget = cookies.set(LOGIN_STATE, "", "Lax", 0);
    let start_again = Some("/oauth/login");
    let Some(response) = param("response") else {
        let why = if param("error").is_some() { t.login_cancelled } else { t.form_expired };
        let mut res = message(&req, StatusCode::BAD_REQUEST, why, start_again);
        res.headers_mut().append(forget.0, forget.1);
        return res;
    };
    let state = cookies.get(&req, LOGIN_STATE);
    let mut res = match vendor::arrive(&ctx, &response, state, &origin).await {
        Ok((session, return_to)) => see_other(safe_return(&return_to).unwrap_or(HOME))
            .insert_header(session_cookie(&ctx, &session))
            .finish(),
        Err(e) => message(&req, status_of(&e), &e.to_string(), start_again),
    };
    res.headers_mut().append(forget.0, forget.1);
    res
}

/// Ends the session and forgets its cookie.
#[post("/oauth/logout")]
pub(super) async fn log_out(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    payload: web::Payload,
) -> HttpResponse {
    if let Err(page) = posted_form(&req, &ctx, payload, Some(HOME)).await {
        return page;
    }
    let cookies = Cookies::of(&ctx);
    if let Some(cookie) = cookies.get(&req, SESSION)
        && let Err(e) = people::log_out(&ctx, cookie, &origin).await
    {
        return message(&req, status_of(&e), &e.to_string(), Some(HOME));
    }
    see_other("/oauth/login").insert_header(cookies.set(SESSION, "", "Lax", 0)).finish()
}

/// The page with the CSRF cookie set, when the browser had none.
pub(super) fn with_cookie(ctx: &Context, csrf: &Csrf, mut res: HttpResponse) -> HttpResponse {
    if let Some((name, value)) = csrf.set_cookie(ctx) {
        res.headers_mut().append(name, value);
    }
    res
}

/// What a person typed, shown back to them, bounded.
fn truncated(s: &str) -> &str {
    match s.char_indices().nth(254) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
