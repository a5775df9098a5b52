//! `/device` (RFC 8628 §3.3): the person types the code their device shows (or follows the
//! device's link, which carries it), logs in if they are not, and lands on the consent page of
//! that device's request. Wrong codes are limited per address.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use writ_app::Context;
use writ_app::delegation::device;
use writ_http::RequestOrigin;

use super::account::person;
use super::login::with_cookie;
use super::text::Text;
use super::{Csrf, encoded, field, message, page, posted_form, see_other, status_of, text};

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    t: &'static Text,
    title: &'a str,
    csrf: &'a str,
    user_code: &'a str,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct DeviceQuery {
    user_code: Option<String>,
}

fn render(
    req: &HttpRequest,
    ctx: &Context,
    user_code: &str,
    status: StatusCode,
    error: Option<String>,
) -> HttpResponse {
    let t = text(req);
    let csrf = Csrf::for_page(ctx, req);
    let form = DevicePage { t, title: t.device_title, csrf: &csrf.token, user_code, error };
    with_cookie(ctx, &csrf, page(status, &form))
}

/// The form for the device's code, filled in when the device's link carried it.
#[get("/device")]
pub(super) async fn show(
    req: HttpRequest,
    ctx: web::Data<Context>,
    query: web::Query<DeviceQuery>,
) -> HttpResponse {
    let typed: String = query.user_code.as_deref().unwrap_or("").chars().take(16).collect();
    let here = match typed.as_str() {
        "" => "/device".to_owned(),
        code => format!("/device?user_code={}", encoded(code)),
    };
    if let Err(res) = person(&ctx, &req, &here).await {
        return res;
    }
    render(&req, &ctx, &typed, StatusCode::OK, None)
}

/// The typed code: on to the consent page of its request.
#[post("/device")]
pub(super) async fn submit(
    req: HttpRequest,
    ctx: web::Data<Context>,
    origin: RequestOrigin,
    payload: web::Payload,
) -> HttpResponse {
    let fields = match posted_form(&req, &ctx, payload, Some("/device")).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    if let Err(res) = person(&ctx, &req, "/device").await {
        return res;
    }
    let typed: String = field(&fields, "user_code").chars().take(16).collect();
    match device::find(&ctx, &typed, &origin).await {
        Ok(id) => see_other(&format!("/oauth/consent?request={id}")).finish(),
        Err(e) => {
            let status = status_of(&e);
            let shown = (status == StatusCode::UNAUTHORIZED).then(|| text(&req).user_code_unknown.to_owned());
            match shown {
                Some(error) => render(&req, &ctx, &typed, StatusCode::BAD_REQUEST, Some(error)),
                None => message(&req, status, &e.to_string(), Some("/device")),
            }
        }
    }
}
