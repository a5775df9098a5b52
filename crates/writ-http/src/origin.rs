//! The request's origin as an extractor: the caller's address and its `X-Request-Id`, read once,
//! for the audit events and the limits of the use cases (`writ_app::Origin`). The address is the
//! TCP peer's, or what a trusted proxy forwarded (`writ_app::origin::TrustedProxies`).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use writ_app::origin::{forwarded, forwarded_for};
use writ_app::{Context, Origin};

/// Where the request came from.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub Origin);

impl RequestOrigin {
    pub fn of(req: &HttpRequest) -> Origin {
        Origin {
            ip: client_address(req),
            // Visible ASCII (`to_str`), and short: it goes into every audit record of the request.
            request_id: req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .filter(|id| (1..=128).contains(&id.len()))
                .map(str::to_owned),
        }
    }
}

/// The peer, or the caller a trusted proxy names: `X-Forwarded-For` if the request has one, else
/// `Forwarded` (RFC 7239).
fn client_address(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    let Some(ctx) = req.app_data::<web::Data<Context>>() else { return peer };
    let trusted = &ctx.settings.trusted_proxies;
    if trusted.is_empty() {
        return peer;
    }
    let values = |name| req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let xff = values("x-forwarded-for");
    let hops = if xff.is_empty() { forwarded(&values("forwarded")) } else { forwarded_for(&xff) };
    trusted.client_address(peer, hops.iter().map(String::as_str))
}

impl std::ops::Deref for RequestOrigin {
    type Target = Origin;

    fn deref(&self) -> &Origin {
        &self.0
    }
}

impl FromRequest for RequestOrigin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(Self::of(req))))
    }
}
