//! The pages a person sees (docs/delegation.md): server-rendered from templates compiled into the
//! binary (`templates/`), one stylesheet served by Writ itself, no script, no other asset. Every
//! answer carries the same security headers (a strict Content-Security-Policy with
//! `frame-ancestors 'none'`, no referrer, no caching); every form carries a CSRF token, and cookies
//! are `HttpOnly` and `SameSite` (`Secure` and `__Host-` when the issuer is HTTPS).
//!
//! A handler reads the form, calls one use case (`writ_app::people`), renders a page. The words
//! are in `text.rs`.

mod account;
mod consent;
mod csrf;
mod device;
mod invitation;
mod login;
pub mod text;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, get, web};
use askama::Template;
use writ_app::Context;
use writ_app::people::PersonError;

pub use csrf::Csrf;
use text::{EN, Text};

/// The routes of the pages. They are not API operations, so they are not in the OpenAPI
/// document.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(stylesheet)
        .service(login::show)
        .service(login::submit)
        .service(login::log_out)
        .service(login::callback)
        .service(invitation::show)
        .service(invitation::submit)
        .service(account::show)
        .service(account::password_form)
        .service(account::change_password)
        .service(consent::start)
        .service(consent::show)
        .service(consent::decide)
        .service(consent::list)
        .service(consent::withdraw)
        .service(device::show)
        .service(device::submit);
}

/// The words of a request's page (English until there is another language).
fn text(_req: &HttpRequest) -> &'static Text {
    &EN
}

const STYLESHEET: &str = include_str!("../../assets/writ.css");

#[get("/oauth/assets/writ.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}

/// The headers of every page: nothing but Writ's own stylesheet may load, nothing may frame it,
/// forms post only to Writ, no referrer leaves it (`same-origin`: with `no-referrer`, browsers
/// send `Origin: null` with Writ's own forms, which the CSRF check refuses), and nothing is cached.
fn secure(mut res: HttpResponseBuilder) -> HttpResponseBuilder {
    res.insert_header((header::CONTENT_SECURITY_POLICY, policy("'self'")))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Cross-Origin-Opener-Policy", "same-origin"))
        .insert_header(("Permissions-Policy", "interest-cohort=()"));
    res
}

/// The Content-Security-Policy of a page whose forms may lead to `form_action`.
fn policy(form_action: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A page: `template` rendered with `status` and the security headers.
fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(html) => secure(HttpResponse::build(status)).content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            secure(HttpResponse::InternalServerError())
                .content_type("text/plain; charset=utf-8")
                .body("error")
        }
    }
}

/// A `303 See Other` to a path of Writ's, with the security headers.
fn see_other(location: &str) -> HttpResponseBuilder {
    let mut res = secure(HttpResponse::SeeOther());
    res.insert_header((header::LOCATION, location));
    res
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    t: &'static Text,
    title: &'a str,
    message: &'a str,
    link: Option<&'a str>,
}

/// A page that says one thing: an error, with a way back.
fn message(req: &HttpRequest, status: StatusCode, message: &str, link: Option<&str>) -> HttpResponse {
    let t = text(req);
    page(status, &Message { t, title: t.error_title, message, link })
}

/// A page that says one thing that went right.
fn notice(req: &HttpRequest, title: &str, message: &str) -> HttpResponse {
    page(StatusCode::OK, &Message { t: text(req), title, message, link: None })
}

/// The status a person's error answers with.
fn status_of(e: &PersonError) -> StatusCode {
    match e {
        PersonError::InvalidCredentials | PersonError::NoSession => StatusCode::UNAUTHORIZED,
        PersonError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        PersonError::InvalidLink => StatusCode::GONE,
        PersonError::NoSuchConsent => StatusCode::NOT_FOUND,
        PersonError::BadPassword(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PersonError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        PersonError::LoginElsewhere => StatusCode::OK,
        PersonError::LoginRefused => StatusCode::BAD_REQUEST,
        PersonError::NoAccount => StatusCode::FORBIDDEN,
    }
}

/// The cookies Writ sets for people, named `__Host-…` (which browsers keep to exactly this
/// host, over HTTPS, for every path) when the issuer is HTTPS.
struct Cookies {
    secure: bool,
}

impl Cookies {
    fn of(ctx: &Context) -> Self {
        Self { secure: ctx.issuer.starts_with("https://") }
    }

    fn name(&self, base: &'static str) -> String {
        if self.secure { format!("__Host-{base}") } else { base.to_owned() }
    }

    /// The value of cookie `base` in the request, if it has one.
    fn get<'r>(&self, req: &'r HttpRequest, base: &'static str) -> Option<&'r str> {
        let name = self.name(base);
        req.headers()
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// `Set-Cookie` for `base` = `value`, for `max_age` seconds (0 deletes it).
    fn set(
        &self,
        base: &'static str,
        value: &str,
        same_site: &str,
        max_age: u32,
    ) -> (header::HeaderName, HeaderValue) {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}",
            self.name(base)
        );
        (header::SET_COOKIE, HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static("")))
    }
}

/// The session cookie's name (before any `__Host-`).
const SESSION: &str = "writ_session";

/// Where a page may send a person after logging in: a path of Writ's own pages, never another
/// site (an open redirect would lend Writ's name to phishing).
fn safe_return(path: &str) -> Option<&str> {
    let ok = path.len() <= 4096
        && (path.starts_with("/oauth/") || path == "/device" || path.starts_with("/device?"))
        && !path.contains(['\\', '\r', '\n'])
        && !path.starts_with("//");
    ok.then_some(path)
}

/// The fields of a posted form (at most 16 KiB, like the token endpoint's) whose CSRF token
/// holds; otherwise the page to answer instead (`back`: where to start again), having changed
/// nothing.
async fn posted_form(
    req: &HttpRequest,
    ctx: &Context,
    payload: web::Payload,
    back: Option<&str>,
) -> Result<Vec<(String, String)>, HttpResponse> {
    let t = text(req);
    let Ok(body) = crate::request::read_body(payload).await else {
        return Err(message(req, StatusCode::BAD_REQUEST, t.form_expired, back));
    };
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    if !Csrf::verify(ctx, req, field(&fields, "csrf")) {
        return Err(message(req, StatusCode::FORBIDDEN, t.form_expired, back));
    }
    Ok(fields)
}

/// The `Set-Cookie` of a new login session.
fn session_cookie(
    ctx: &Context,
    session: &writ_app::people::NewSession,
) -> (header::HeaderName, HeaderValue) {
    Cookies::of(ctx).set(SESSION, session.cookie.expose(), "Lax", ctx.settings.session_ttl_seconds)
}

/// The value of `name` in the request's query (a credential there included: `query_of`).
fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    let query = writ_http::query_of(req);
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `s` percent-encoded for a query.
fn encoded(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The value of `name` in a decoded form ("" when missing).
fn field<'f>(form: &'f [(String, String)], name: &str) -> &'f str {
    form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writ_paths_are_places_to_return_to() {
        assert_eq!(safe_return("/oauth/account"), Some("/oauth/account"));
        assert_eq!(safe_return("/device?user_code=ABCD-EFGH"), Some("/device?user_code=ABCD-EFGH"));
        for hostile in [
            "https://evil.example/",
            "//evil.example/oauth/",
            "/\\evil.example",
            "/oauth/\r\nSet-Cookie: x=y",
            "javascript:alert(1)",
            "/admin/v1/orgs",
            "",
        ] {
            assert_eq!(safe_return(hostile), None, "{hostile:?}");
        }
    }
}
