//! `GET /oauth/invitation?token=…` (the link an admin sent: a form to set a password) and
//! `POST /oauth/invitation` (set it, and log in). The token never reaches a log: the request's
//! query is taken out of its URI before the request is traced (`writ_http::server`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use writ_app::Context;
use writ_app::people::{self, PersonError};
use writ_http::RequestOrigin;

use super::login::{HOME, with_cookie};
use super::text::Text;
use super::{
    Csrf, field, message, page, posted_form, query_param, see_other, session_cookie, status_of, text,
};

#[derive(Template)]
#[template(path = "invitation.html")]
struct Invitation<'a> {
    t: &'static Text,
    title: &'a str,
    csrf: &'a str,
    token: &'a str,
    email: &'a str,
    org: &'a str,
    error: Option<String>,
}

#[get("/oauth/invitation")]
pub(super) async fn show(req: HttpRequest, ctx: web::Data<Context>) -> HttpResponse {
    let token = query_param(&req, "token").unwrap_or_default();
    render(&req, &ctx, &token, None).await
}

#[post("/oauth/invitation")]
pub(super) async fn submit(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    payload: web::Payload,
) -> HttpResponse {
    let t = text(&req);
    let fields = match posted_form(&req, &ctx, payload, None).await {
        Ok(fields) => fields,
        Err(page) => return page,
    };
    let token = field(&fields, "token");
    let password = field(&fields, "password");
    if password != field(&fields, "confirm") {
        return render(&req, &ctx, token, Some(PersonError::BadPassword(t.passwords_differ.into()))).await;
    }
    match people::accept_invitation(&ctx, token, password, &origin).await {
        Ok(session) => see_other(HOME).insert_header(session_cookie(&ctx, &session)).finish(),
        Err(e) => render(&req, &ctx, token, Some(e)).await,
    }
}

/// The form for the invitation `token`, with `error` when the last try failed; an invalid link
/// is a page that says so.
async fn render(req: &HttpRequest, ctx: &Context, token: &str, error: Option<PersonError>) -> HttpResponse {
    let t = text(req);
    let (user, org) = match people::invitation(ctx, token).await {
        Ok(found) => found,
        Err(e) => return message(req, status_of(&e), &e.to_string(), None),
    };
    let csrf = Csrf::for_page(ctx, req);
    let status = error.as_ref().map_or(StatusCode::OK, status_of);
    let form = Invitation {
        t,
        title: t.invitation_title,
        csrf: &csrf.token,
        token,
        email: user.email.as_str(),
        org: org.name.as_str(),
        error: error.map(|e| e.to_string()),
    };
    with_cookie(ctx, &csrf, page(status, &form))
}
