//! `GET /oauth/login` (the form), `POST /oauth/login` (log in) and `POST /oauth/logout`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use writ_app::Context;
use writ_app::people::{self, LoginAttempt, PersonError};
use writ_http::RequestOrigin;

use super::text::Text;
use super::{
    Cookies, Csrf, SESSION, field, message, page, posted_form, safe_return, see_other, session_cookie,
    status_of, text,
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

/// The login form; `return_to` (a path of Writ's) is where a successful login goes, `org`
/// fills in the organization.
#[get("/oauth/login")]
pub(super) async fn show(
    req: HttpRequest,
    ctx: web::Data<Context>,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let return_to = query.return_to.as_deref().and_then(safe_return).unwrap_or(HOME);
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
