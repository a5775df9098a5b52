//! `GET /oauth/authorize` (RFC 6749 §4.1.1: check and keep the request, then ask the person),
//! `GET`/`POST /oauth/consent` (the consent page and the person's answer), and the person's list
//! of consents (`/oauth/account/consents`). The rules are `writ_app::delegation`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use writ_app::Context;
use writ_app::delegation::authorize::{self, AuthorizeError};
use writ_app::delegation::{consent, consents};
use writ_core::{RequestId, ScopeDef};
use writ_http::RequestOrigin;

use super::account::person;
use super::login::with_cookie;
use super::text::Text;
use super::{Csrf, field, message, page, posted_form, see_other, status_of, text};

/// Starts an authorization: the request is checked and kept, and the person is asked.
#[get("/oauth/authorize")]
pub(super) async fn start(req: HttpRequest, ctx: web::Data<Context>, origin: RequestOrigin) -> HttpResponse {
    match authorize::begin(&ctx, writ_http::query_of(&req).as_bytes(), &origin).await {
        Ok(id) => see_other(&format!("/oauth/consent?request={id}")).finish(),
        Err(e) => refused(&req, e),
    }
}

/// Where a request that cannot go on ends: the client's redirect URI, or Writ's page.
fn refused(req: &HttpRequest, e: AuthorizeError) -> HttpResponse {
    let t = text(req);
    match e {
        AuthorizeError::Redirect(r) => see_other(&r.url()).finish(),
        AuthorizeError::Page(why) => message(req, StatusCode::BAD_REQUEST, &why, None),
        AuthorizeError::Expired => message(req, StatusCode::BAD_REQUEST, t.request_expired, None),
        AuthorizeError::TooMany { retry_after } => {
            let mut res = message(req, StatusCode::TOO_MANY_REQUESTS, t.too_many_requests, None);
            if let Ok(v) = retry_after.to_string().parse() {
                res.headers_mut().insert(actix_web::http::header::RETRY_AFTER, v);
            }
            res
        }
        AuthorizeError::Unavailable => message(req, StatusCode::SERVICE_UNAVAILABLE, t.unavailable, None),
    }
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    t: &'static Text,
    title: &'a str,
    csrf: &'a str,
    request: &'a str,
    client_name: &'a str,
    /// Where a client known by its metadata document publishes it.
    client_host: Option<&'a str>,
    /// It introduced itself: nobody vouches for its name.
    introduced: bool,
    redirect_host: &'a str,
    local_app: bool,
    resources: &'a [(String, Vec<ScopeDef>)],
    email: &'a str,
    org: &'a str,
    device: bool,
}

#[derive(serde::Deserialize)]
struct ConsentQuery {
    request: String,
}

/// The consent page of a request; a consent the person already gave answers at once.
#[get("/oauth/consent")]
pub(super) async fn show(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    query: web::Query<ConsentQuery>,
) -> HttpResponse {
    let t = text(&req);
    let Ok(id) = RequestId::parse(&query.request) else {
        return message(&req, StatusCode::BAD_REQUEST, t.request_expired, None);
    };
    let person = match person(&ctx, &req, &format!("/oauth/consent?request={id}")).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let review = match consent::review(&ctx, &person, &id).await {
        Ok(r) => r,
        Err(e) => return refused(&req, e),
    };
    if review.remembered {
        return answered(&req, consent::approve(&ctx, &person, &id, &origin).await, true);
    }
    let csrf = Csrf::for_page(&ctx, &req);
    let request = id.to_string();
    let form = ConsentPage {
        t,
        title: t.consent_title,
        csrf: &csrf.token,
        request: &request,
        client_name: &review.client_name,
        client_host: review.client_host.as_deref(),
        introduced: review.introduced,
        redirect_host: &review.redirect_host,
        local_app: review.local_app,
        resources: &review.resources,
        email: person.user.email.as_str(),
        org: person.org.name.as_str(),
        device: review.device,
    };
    let mut res = with_cookie(&ctx, &csrf, page(StatusCode::OK, &form));
    // Browsers hold a redirect after a form to `form-action`: the answer goes to the client.
    if let Some(source) = csp_source(&review.redirect_uri)
        && let Ok(v) = HeaderValue::from_str(&super::policy(&format!("'self' {source}")))
    {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The CSP source that allows a redirect to `uri`: its origin, any port on a loopback host, or
/// its private-use scheme.
fn csp_source(uri: &str) -> Option<String> {
    let redirect = writ_core::delegation::RedirectUri::parse(uri).ok()?;
    let (scheme, rest) = uri.split_once(':')?;
    if !matches!(scheme, "http" | "https") {
        return Some(format!("{scheme}:"));
    }
    let authority = rest.strip_prefix("//")?.split(['/', '?']).next()?;
    if redirect.is_loopback() {
        return Some(format!("{scheme}://{}:*", redirect.host()));
    }
    Some(format!("{scheme}://{authority}"))
}

/// The person's answer to a consent page.
#[post("/oauth/consent")]
pub(super) async fn decide(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    payload: web::Payload,
) -> HttpResponse {
    let t = text(&req);
    let fields = match posted_form(&req, &ctx, payload, None).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let Ok(id) = RequestId::parse(field(&fields, "request")) else {
        return message(&req, StatusCode::BAD_REQUEST, t.request_expired, None);
    };
    let person = match person(&ctx, &req, &format!("/oauth/consent?request={id}")).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    match field(&fields, "decision") {
        "allow" => answered(&req, consent::approve(&ctx, &person, &id, &origin).await, true),
        "deny" => answered(&req, consent::deny(&ctx, &person, &id).await, false),
        _ => message(&req, StatusCode::BAD_REQUEST, t.form_expired, None),
    }
}

/// Where an answer leads: back to the client, or (a device) a page saying what happens next.
fn answered(
    req: &HttpRequest,
    answer: Result<consent::Answered, AuthorizeError>,
    allowed: bool,
) -> HttpResponse {
    let t = text(req);
    match answer {
        Ok(consent::Answered::Redirect(url)) => see_other(&url).finish(),
        Ok(consent::Answered::Device) => {
            let said = if allowed { t.device_allowed } else { t.device_denied };
            super::notice(req, t.device_done_title, said)
        }
        Err(e) => refused(req, e),
    }
}

/// One consent as the person's list shows it.
struct Listed {
    id: String,
    client_name: String,
    grants: Vec<String>,
}

#[derive(Template)]
#[template(path = "consents.html")]
struct ConsentsPage<'a> {
    t: &'static Text,
    title: &'a str,
    csrf: &'a str,
    consents: Vec<Listed>,
    notice: Option<&'a str>,
}

#[derive(serde::Deserialize)]
struct ConsentsQuery {
    revoked: Option<String>,
}

#[get("/oauth/account/consents")]
pub(super) async fn list(
    req: HttpRequest,
    ctx: web::Data<Context>,
    query: web::Query<ConsentsQuery>,
) -> HttpResponse {
    let person = match person(&ctx, &req, "/oauth/account/consents").await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let t = text(&req);
    let given = match consents::of_person(&ctx, &person).await {
        Ok(g) => g,
        Err(e) => return message(&req, status_of(&e), &e.to_string(), None),
    };
    let consents = given
        .into_iter()
        .map(|g| Listed {
            id: g.consent.id.to_string(),
            client_name: g.client_name,
            grants: g.consent.grants.iter().map(|(r, s)| format!("{r}: {s}")).collect(),
        })
        .collect();
    let csrf = Csrf::for_page(&ctx, &req);
    let list = ConsentsPage {
        t,
        title: t.consents_title,
        csrf: &csrf.token,
        consents,
        notice: query.revoked.as_ref().map(|_| t.consent_revoked),
    };
    with_cookie(&ctx, &csrf, page(StatusCode::OK, &list))
}

/// The person withdraws a consent.
#[post("/oauth/account/consents")]
pub(super) async fn withdraw(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    payload: web::Payload,
) -> HttpResponse {
    let fields = match posted_form(&req, &ctx, payload, Some("/oauth/account/consents")).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let person = match person(&ctx, &req, "/oauth/account/consents").await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let Ok(id) = writ_core::ConsentId::parse(field(&fields, "consent")) else {
        let e = writ_app::people::PersonError::NoSuchConsent;
        return message(&req, status_of(&e), &e.to_string(), Some("/oauth/account/consents"));
    };
    match consents::withdraw_own(&ctx, &person, &id, &origin).await {
        Ok(()) => see_other("/oauth/account/consents?revoked=1").finish(),
        Err(e) => message(&req, status_of(&e), &e.to_string(), Some("/oauth/account/consents")),
    }
}
