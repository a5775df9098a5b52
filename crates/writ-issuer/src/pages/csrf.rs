//! Cross-site request forgery protection for the pages' forms: a random cookie (`SameSite=Strict`,
//! `HttpOnly`), and in each form a token that is a keyed hash of it (under the deployment's
//! pepper), compared in constant time. Another site can make a browser post a form, but can
//! neither read the cookie nor compute the token; a browser that states the form's origin must
//! state Writ's.

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use writ_app::Context;

use super::Cookies;

const COOKIE: &str = "writ_csrf";

/// The CSRF token of a page's forms, and the cookie to set when the browser had none.
#[derive(Debug)]
pub struct Csrf {
    pub token: String,
    new_cookie: Option<String>,
}

impl Csrf {
    /// The token for the forms of a page answering `req`.
    pub fn for_page(ctx: &Context, req: &HttpRequest) -> Self {
        let cookies = Cookies::of(ctx);
        match cookies.get(req, COOKIE).filter(|v| well_formed(v)) {
            Some(cookie) => Self { token: token(ctx, cookie), new_cookie: None },
            None => {
                let mut raw = [0u8; 32];
                // Without randomness there is no safe cookie; the form will then fail its check.
                let _ = getrandom::fill(&mut raw);
                let cookie = writ_core::base32::encode(&raw);
                Self { token: token(ctx, &cookie), new_cookie: Some(cookie) }
            }
        }
    }

    /// The `Set-Cookie` field to send with the page, when the browser had no cookie yet.
    pub fn set_cookie(&self, ctx: &Context) -> Option<(header::HeaderName, header::HeaderValue)> {
        let cookie = self.new_cookie.as_deref()?;
        // A day: a form left open overnight still works; the cookie protects nothing by itself.
        Some(Cookies::of(ctx).set(COOKIE, cookie, "Strict", 86_400))
    }

    /// Whether a form posted with `req` carries the token of its cookie, from Writ's own origin.
    pub fn verify(ctx: &Context, req: &HttpRequest, presented: &str) -> bool {
        let Some(cookie) = Cookies::of(ctx).get(req, COOKIE).filter(|v| well_formed(v)) else { return false };
        let same_origin = req
            .headers()
            .get(header::ORIGIN)
            .is_none_or(|o| o.to_str().is_ok_and(|o| o == origin_of(&ctx.issuer)));
        let expected = token(ctx, cookie);
        same_origin && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }
}

fn well_formed(cookie: &str) -> bool {
    cookie.len() == 52 && cookie.bytes().all(writ_core::base32::is_char)
}

fn token(ctx: &Context, cookie: &str) -> String {
    URL_SAFE_NO_PAD.encode(ctx.pepper.keyed_hash(format!("csrf\n{cookie}").as_bytes()))
}

/// `https://host:port` of an issuer URL (its scheme and authority, without a path).
fn origin_of(issuer: &str) -> &str {
    let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
    issuer[after_scheme..].find('/').map_or(issuer, |i| &issuer[..after_scheme + i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_the_issuers_scheme_and_authority() {
        assert_eq!(origin_of("https://auth.example.com"), "https://auth.example.com");
        assert_eq!(origin_of("https://auth.example.com/tenant/a"), "https://auth.example.com");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
