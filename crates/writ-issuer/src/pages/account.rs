//! `GET /oauth/account` (who is logged in), and `GET`/`POST /oauth/account/password` (change the
//! password). Without a session, each sends the person to log in and come back.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use writ_app::Context;
use writ_app::people::{self, Person, PersonError};
use writ_http::RequestOrigin;

use super::login::with_cookie;
use super::text::Text;
use super::{Cookies, Csrf, SESSION, encoded, field, message, page, posted_form, see_other, status_of, text};

#[derive(Template)]
#[template(path = "account.html")]
struct Account<'a> {
    t: &'static Text,
    title: &'a str,
    csrf: &'a str,
    email: &'a str,
    org: &'a str,
    notice: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordForm<'a> {
    t: &'static Text,
    title: &'a str,
    csrf: &'a str,
    email: &'a str,
    error: Option<String>,
}

/// The person holding `req`'s session, or the answer to give instead: to log in and come back
/// to `here`, or an error page.
pub(super) async fn person(ctx: &Context, req: &HttpRequest, here: &str) -> Result<Person, HttpResponse> {
    let cookie = Cookies::of(ctx).get(req, SESSION).unwrap_or("");
    match people::session(ctx, cookie).await {
        Ok(person) => Ok(person),
        Err(PersonError::NoSession) => {
            let login = format!("/oauth/login?return_to={}", encoded(here));
            Err(see_other(&login).finish())
        }
        Err(e) => Err(message(req, status_of(&e), &e.to_string(), None)),
    }
}

#[derive(serde::Deserialize)]
struct AccountQuery {
    changed: Option<String>,
}

#[get("/oauth/account")]
pub(super) async fn show(
    req: HttpRequest,
    ctx: web::Data<Context>,
    query: web::Query<AccountQuery>,
) -> HttpResponse {
    let person = match person(&ctx, &req, "/oauth/account").await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let t = text(&req);
    let csrf = Csrf::for_page(&ctx, &req);
    let account = Account {
        t,
        title: t.account_title,
        csrf: &csrf.token,
        email: person.user.email.as_str(),
        org: person.org.name.as_str(),
        notice: query.changed.as_ref().map(|_| t.password_changed),
    };
    with_cookie(&ctx, &csrf, page(StatusCode::OK, &account))
}

#[get("/oauth/account/password")]
pub(super) async fn password_form(req: HttpRequest, ctx: web::Data<Context>) -> HttpResponse {
    match person(&ctx, &req, "/oauth/account/password").await {
        Ok(person) => render(&req, &ctx, &person, None),
        Err(res) => res,
    }
}

#[post("/oauth/account/password")]
pub(super) async fn change_password(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    payload: web::Payload,
) -> HttpResponse {
    let t = text(&req);
    let fields = match posted_form(&req, &ctx, payload, Some("/oauth/account/password")).await {
        Ok(fields) => fields,
        Err(page) => return page,
    };
    let person = match person(&ctx, &req, "/oauth/account/password").await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let new = field(&fields, "password");
    if new != field(&fields, "confirm") {
        return render(&req, &ctx, &person, Some(PersonError::BadPassword(t.passwords_differ.into())));
    }
    match people::change_password(&ctx, &person, field(&fields, "current"), new, &origin).await {
        Ok(()) => see_other("/oauth/account?changed=1").finish(),
        Err(e) => render(&req, &ctx, &person, Some(e)),
    }
}

fn render(req: &HttpRequest, ctx: &Context, person: &Person, error: Option<PersonError>) -> HttpResponse {
    let t = text(req);
    let csrf = Csrf::for_page(ctx, req);
    let status = error.as_ref().map_or(StatusCode::OK, status_of);
    let form = PasswordForm {
        t,
        title: t.change_password_title,
        csrf: &csrf.token,
        email: person.user.email.as_str(),
        error: error.map(|e| e.to_string()),
    };
    with_cookie(ctx, &csrf, page(status, &form))
}
