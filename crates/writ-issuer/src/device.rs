//! `POST /oauth/device_authorization` (RFC 8628 §3.1): a device asks for a device code and a user
//! code to show. The rules are `writ_app::delegation::device`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use writ_app::Context;
use writ_app::delegation::device;
use writ_http::RequestOrigin;

use crate::oauth_error::{OAuthFailure, no_store};
use crate::request;
use crate::schema::{DeviceAuthorizationForm, DeviceAuthorizationResponse, OAuthErrorBody};

/// Start a device authorization
///
/// RFC 8628: a CLI or a device without a browser asks for a `device_code` (kept to poll the token
/// endpoint with `grant_type=urn:ietf:params:oauth:grant-type:device_code`) and a `user_code` the
/// person types at `verification_uri` (or follows `verification_uri_complete`), where they log in
/// and consent. Authenticate as at the token endpoint (a public client sends `client_id`); the
/// client's `grant_types` must include the device-code grant. Errors follow RFC 6749 §5.2.
#[utoipa::path(
    tag = "oauth",
    request_body(content = DeviceAuthorizationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The codes to show and poll with", body = DeviceAuthorizationResponse),
        (status = 400, description = "`invalid_request`, `invalid_scope`, `invalid_target` or `unauthorized_client`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
        (status = 413, description = "`invalid_request`: the body exceeds 16 KiB", body = OAuthErrorBody),
        (status = 415, description = "`invalid_request`: the body is neither a form nor JSON", body = OAuthErrorBody),
        (status = 429, description = "`rate_limited`: too many failed authentications", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/device_authorization")]
pub async fn start(
    req: HttpRequest,
    payload: web::Payload,
    origin: RequestOrigin,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthFailure> {
    let body = request::read_body(payload).await?;
    let started =
        device::start(&ctx, request::content_type(&req), request::authorization(&req), &body, &origin)
            .await?;
    let mut res = HttpResponse::Ok();
    no_store(&mut res);
    Ok(res.json(DeviceAuthorizationResponse {
        device_code: started.device_code,
        user_code: started.user_code,
        verification_uri: started.verification_uri,
        verification_uri_complete: started.verification_uri_complete,
        expires_in: started.expires_in,
        interval: started.interval,
    }))
}
