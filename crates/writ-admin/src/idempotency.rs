//! `Idempotency-Key` on the admin API's `POST`s (draft-ietf-httpapi-idempotency-key-header): a
//! retried request with the same key and the same body gets the first answer again, marked
//! `Idempotent-Replayed: true`, and changes nothing; the same key with another body is `422`; a
//! retry while the first is still running is `409`. Keys belong to the calling client and live
//! 24 hours. Answers are stored sealed under the key-encryption key: creating a client answers
//! its secret, which must not sit in the database in the clear. A `5xx` answer is not stored, so
//! the retry runs again.
//!
//! Not atomic with the change itself: if the process dies between committing a change and storing
//! its answer, the key counts as running for a minute and a retry after that runs again.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Duration;
use writ_app::AppError;
use writ_app::{Context, ErrorCode};
use writ_http::ApiError;
use writ_store::{IdempotencyKeys, UsedKey};

pub(crate) const HEADER: &str = "idempotency-key";
const LIFETIME: Duration = Duration::hours(24);
/// A first request that has run this long without an answer died with its process.
const STALE: Duration = Duration::minutes(1);
const MAX_BODY: usize = 64 * 1024;
/// The headers of an answer that a replay repeats.
const KEPT: [HeaderName; 4] = [CONTENT_TYPE, LOCATION, ETAG, CACHE_CONTROL];

#[derive(Serialize, Deserialize)]
struct Stored {
    headers: Vec<(String, String)>,
    body: String,
    /// The scopes of the token the answer was given to: a replay needs them all.
    #[serde(default)]
    scopes: String,
}

fn problem(code: ErrorCode, detail: &str) -> actix_web::Error {
    ApiError(AppError::new(code, detail)).into()
}

/// The middleware: see the module documentation.
pub(crate) async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(key) = req.headers().get(HEADER).filter(|_| req.method() == Method::POST) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = key.clone();
    // Keys belong to the caller; a caller we cannot name (a bad or revoked token) goes on to be
    // refused as usual, and never sees a stored answer.
    let ctx = req
        .app_data::<web::Data<Context>>()
        .cloned()
        .ok_or_else(|| ApiError(AppError::internal(&std::io::Error::other("Context is not registered"))))?;
    let caller = match writ_http::auth::verify_bearer(req.request(), writ_core::ADMIN_AUDIENCE) {
        Ok(claims) => writ_http::auth::not_revoked(&ctx, &claims).await.map(|()| claims),
        Err(e) => Err(e),
    };
    let Ok(claims) = caller else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let owner = claims.client_id.clone();
    // Read only now: an unauthenticated request learns nothing, not even how keys are checked.
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            problem(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })?
        .to_owned();

    let body = req.extract::<web::Bytes>().await?;
    if body.len() > MAX_BODY {
        return Err(problem(ErrorCode::PayloadTooLarge, "the body exceeds 64 KiB"));
    }
    let hash = fingerprint(&req, &body);
    req.set_payload(Payload::from(body));

    let keys = IdempotencyKeys::new(ctx.store.conn());
    let now = ctx.clock.now();
    match keys.claim(&owner, &key, &hash, now, now - LIFETIME).await.map_err(ApiError::from)? {
        None => {}
        Some(used) if used.request_hash != hash => {
            return Err(problem(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for another request: use a new key for a new request",
            ));
        }
        Some(UsedKey { status: Some(status), response: Some(sealed), .. }) => {
            let answer = replay(&ctx, &owner, &key, status, &sealed, &claims.scope)?;
            return Ok(req.into_response(answer));
        }
        Some(_) => {
            let abandoned = keys.take_over(&owner, &key, now, now - STALE).await.map_err(ApiError::from)?;
            if !abandoned {
                return Err(problem(
                    ErrorCode::IdempotencyKeyInUse,
                    "a request with this Idempotency-Key is still running: retry shortly",
                ));
            }
        }
    }

    // Only a success is kept for replay: a refusal depends on the moment (a conflict since
    // resolved, a scope since granted), and a retry must be judged afresh.
    let res = match next.call(req).await {
        Ok(res) if res.status().is_success() => res,
        other => {
            release(&keys, &owner, &key).await;
            return other.map(ServiceResponse::map_into_boxed_body);
        }
    };
    let (http_req, res) = res.into_parts();
    let status = res.status();
    let headers = KEPT
        .iter()
        .filter_map(|h| Some((h.as_str().to_owned(), res.headers().get(h)?.to_str().ok()?.to_owned())))
        .collect();
    let (head, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body).await else {
        release(&keys, &owner, &key).await;
        return Err(ApiError(AppError::internal(&std::io::Error::other("unreadable response body"))).into());
    };
    let stored =
        Stored { headers, body: String::from_utf8_lossy(&bytes).into_owned(), scopes: claims.scope.clone() };
    let sealed = serde_json::to_vec(&stored)
        .map_err(|e| e.to_string())
        .and_then(|plain| ctx.kek.encrypt(&plain, aad(&owner, &key).as_bytes()).map_err(|e| e.to_string()));
    let stored = match sealed {
        Ok(sealed) => keys.complete(&owner, &key, status.as_u16(), sealed).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        // The change happened; only its replay is lost. A retry would run it again, so say so.
        tracing::error!(error = %e, "could not store an idempotent answer");
        release(&keys, &owner, &key).await;
    }
    Ok(ServiceResponse::new(http_req, head.set_body(BoxBody::new(bytes))))
}

/// What makes two requests "the same": method, path and query, content type and body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update(b" ");
    h.update(req.uri().to_string());
    h.update(b"\n");
    h.update(req.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes).unwrap_or_default());
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn aad(owner: &str, key: &str) -> String {
    format!("idempotency:{owner}:{key}")
}

fn replay(
    ctx: &Context,
    owner: &str,
    key: &str,
    status: u16,
    sealed: &[u8],
    caller_scopes: &str,
) -> Result<HttpResponse, ApiError> {
    let plain = ctx.kek.decrypt(sealed, aad(owner, key).as_bytes()).map_err(|e| AppError::internal(&e))?;
    let stored: Stored = serde_json::from_slice(&plain).map_err(|e| AppError::internal(&e))?;
    // The answer was given to a token holding these scopes; a token that lacks one of them (a
    // narrower token, or a client whose grants shrank) does not get it back.
    let held: Vec<&str> = caller_scopes.split(' ').collect();
    if let Some(missing) = stored.scopes.split(' ').filter(|s| !s.is_empty()).find(|s| !held.contains(s)) {
        return Err(AppError::insufficient_scope(missing).into());
    }
    let status = StatusCode::from_u16(status).map_err(|e| AppError::internal(&e))?;
    let mut res = HttpResponse::build(status);
    for (name, value) in &stored.headers {
        res.insert_header((name.as_str(), value.as_str()));
    }
    res.insert_header(("idempotent-replayed", "true"));
    Ok(res.body(stored.body))
}

async fn release<C: writ_store::ConnectionTrait>(keys: &IdempotencyKeys<'_, C>, owner: &str, key: &str) {
    if let Err(e) = keys.release(owner, key).await {
        tracing::error!(error = %e, "could not release an idempotency key; it expires in a minute");
    }
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stored(<redacted>)")
    }
}
