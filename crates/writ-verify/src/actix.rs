//! actix-web integration: extractors for verified claims, scopes required in a handler's
//! signature, RFC 6750 refusals, and the RFC 9728 protected-resource metadata route.
//!
//! ```text
//! writ_verify::scopes!(InvoicesRead => "invoices:read");
//! async fn list(caller: Scoped<InvoicesRead>) -> impl Responder { … caller.client_id … }
//! App::new().app_data(Protection::new(verifier).described_by(&metadata)).configure(metadata.routes())
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};

pub use crate::ProtectedResource;
use crate::{Claims, Verifier, VerifyError};

/// What an API registers as app data: its verifier, and where its RFC 9728 metadata is, for the
/// `resource_metadata` of its challenges.
#[derive(Clone, Debug)]
pub struct Protection {
    verifier: Verifier,
    resource_metadata: Option<String>,
}

impl Protection {
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier, resource_metadata: None }
    }

    /// Points every challenge at `resource`'s metadata document.
    pub fn described_by(mut self, resource: &ProtectedResource) -> Self {
        self.resource_metadata = Some(resource.metadata_url());
        self
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

/// A refused request: 401 or 403 with its `WWW-Authenticate` challenge and an RFC 6750 JSON body.
#[derive(Debug)]
pub struct Refusal {
    pub error: VerifyError,
    pub resource_metadata: Option<String>,
    /// What the route needs (space-separated), in the challenge of a `401` too.
    pub scope: Option<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        let challenge = self.error.www_authenticate(self.resource_metadata.as_deref(), self.scope.as_deref());
        res.insert_header((WWW_AUTHENTICATE, challenge)).insert_header((CACHE_CONTROL, "no-store"));
        match self.error.code() {
            Some(code) => {
                res.json(serde_json::json!({ "error": code, "error_description": self.error.to_string() }))
            }
            None => res.finish(),
        }
    }
}

fn protection(req: &HttpRequest) -> Option<Protection> {
    req.app_data::<Protection>()
        .cloned()
        .or_else(|| req.app_data::<web::Data<Protection>>().map(|d| Protection::clone(d)))
}

/// The verified claims of `req`'s token, once per request; a refusal names `needs`, the scopes of
/// the route.
async fn verified(
    req: &HttpRequest,
    protection: Option<Protection>,
    needs: &[&str],
) -> Result<Claims, Refusal> {
    if let Some(claims) = req.extensions().get::<Claims>() {
        return Ok(claims.clone());
    }
    let scope = (!needs.is_empty()).then(|| needs.join(" "));
    let Some(p) = protection else {
        tracing::error!("writ_verify::actix::Protection is not registered as app data");
        return Err(Refusal {
            error: VerifyError::InvalidToken("no verifier configured".into()),
            resource_metadata: None,
            scope,
        });
    };
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match p.verifier.verify_header(header.as_deref()).await {
        Ok(claims) => {
            req.extensions_mut().insert(claims.clone());
            Ok(claims)
        }
        Err(error) => Err(Refusal { error, resource_metadata: p.resource_metadata.clone(), scope }),
    }
}

/// The claims of a valid token for this API (any scope).
#[derive(Debug, Clone)]
pub struct Verified(pub Claims);

impl std::ops::Deref for Verified {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl FromRequest for Verified {
    type Error = Refusal;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refusal>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (req, p) = (req.clone(), protection(req));
        Box::pin(async move { verified(&req, p, &[]).await.map(Verified) })
    }
}

/// The scopes a route requires, as a type: see [`scopes!`](crate::scopes).
pub trait RequiredScopes {
    const SCOPES: &'static [&'static str];
}

/// Declares scope marker types: `scopes!(InvoicesRead => "invoices:read", InvoicesWrite =>
/// "invoices:write")`; several scopes for one marker: `Both => ["a", "b"]`.
#[macro_export]
macro_rules! scopes {
    ($($name:ident => $($scope:literal)|+),* $(,)?) => {$(
        #[derive(Debug)]
        pub struct $name;
        impl $crate::actix::RequiredScopes for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),+];
        }
    )*};
}

/// The claims of a valid token carrying every scope of `S`; a token without them is refused with
/// `403 insufficient_scope` naming them all, and a missing or bad token's `401` names them too.
#[derive(Debug, Clone)]
pub struct Scoped<S> {
    pub claims: Claims,
    _scopes: PhantomData<S>,
}

impl<S> std::ops::Deref for Scoped<S> {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.claims
    }
}

impl<S: RequiredScopes + 'static> FromRequest for Scoped<S> {
    type Error = Refusal;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refusal>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (req, p) = (req.clone(), protection(req));
        Box::pin(async move {
            let metadata = p.as_ref().and_then(|p| p.resource_metadata.clone());
            let claims = verified(&req, p, S::SCOPES).await?;
            claims.require(S::SCOPES).map_err(|error| Refusal {
                error,
                resource_metadata: metadata,
                scope: None,
            })?;
            Ok(Self { claims, _scopes: PhantomData })
        })
    }
}

impl ProtectedResource {
    /// Registers `GET` of the metadata document at its path on this server.
    pub fn routes(&self) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let (route, body) = (self.metadata_path(), self.to_json());
        move |cfg: &mut web::ServiceConfig| {
            cfg.route(
                &route,
                web::get().to(move || {
                    let body = body.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .insert_header((CACHE_CONTROL, "public, max-age=3600"))
                            .body(body)
                    }
                }),
            );
        }
    }
}
