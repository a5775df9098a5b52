//! Authorization in the handler's signature: `Authorized<OrgsWrite>` verifies the caller's Writ
//! token (audience `urn:writ:admin`), requires the scope named by the marker type, and tells which
//! tenant the caller is. An org-bound token (`oid`) sees only its own org.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use writ_app::AppError;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use writ_app::Caller;
use writ_core::{ADMIN_AUDIENCE, Actor, ClientId, OrgId, ScopeSet};
use writ_store::Tenant;
use writ_token::AccessClaims;

use crate::{ApiError, RequestOrigin};
use writ_app::Context;

/// A scope a route requires, as a marker type, and the audience its tokens must be for.
pub trait RequiredScope {
    const SCOPE: &'static str;
    const AUDIENCE: &'static str;
}

macro_rules! scopes {
    ($audience:expr; $($name:ident => $scope:literal),* $(,)?) => {
        $(
            #[doc = concat!("Requires `", $scope, "`.")]
            #[derive(Debug)]
            pub struct $name;
            impl RequiredScope for $name {
                const SCOPE: &'static str = $scope;
                const AUDIENCE: &'static str = $audience;
            }
        )*
    };
}

scopes! {
    writ_core::GUARD_AUDIENCE;
    RevocationsRead => "guard:revocations:read",
    RateLimitCheck => "guard:ratelimit:check",
}

scopes! {
    ADMIN_AUDIENCE;
    OrgsRead => "admin:orgs:read",
    OrgsWrite => "admin:orgs:write",
    ResourcesRead => "admin:resources:read",
    ResourcesWrite => "admin:resources:write",
    UsersRead => "admin:users:read",
    UsersWrite => "admin:users:write",
    ClientsRead => "admin:clients:read",
    ClientsWrite => "admin:clients:write",
    KeysRead => "admin:keys:read",
    KeysWrite => "admin:keys:write",
    AuditRead => "admin:audit:read",
    RevocationsWrite => "admin:revocations:write",
}

/// A verified admin caller holding scope `S`: its token's claims, and the [`Caller`] the use cases
/// take (reached through `Deref`).
#[derive(Debug)]
pub struct Authorized<S> {
    pub claims: AccessClaims,
    pub caller: Caller,
    _scope: PhantomData<S>,
}

impl<S> std::ops::Deref for Authorized<S> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<S: RequiredScope + 'static> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = authorize::<S>(req);
        let ctx = req.app_data::<web::Data<Context>>().cloned();
        Box::pin(async move {
            let auth = verified?;
            let ctx =
                ctx.ok_or_else(|| AppError::internal(&std::io::Error::other("Context is not registered")))?;
            not_revoked(&ctx, &auth.claims).await?;
            Ok(auth)
        })
    }
}

/// The verified admin caller of `req` holding `S`, outside an extractor: the issuer's registration
/// endpoint takes an admin token as its initial access token (RFC 7591 §3).
pub async fn authorized<S: RequiredScope>(req: &HttpRequest) -> Result<Authorized<S>, ApiError> {
    let auth = authorize::<S>(req)?;
    let ctx = req
        .app_data::<web::Data<Context>>()
        .ok_or_else(|| AppError::internal(&std::io::Error::other("Context is not registered")))?;
    not_revoked(ctx, &auth.claims).await?;
    Ok(auth)
}

/// Writ honours its own revocations: a revoked token is refused like an invalid one. When the
/// revocation state cannot be reached the admin API fails closed (503).
pub async fn not_revoked(ctx: &Context, c: &AccessClaims) -> Result<(), ApiError> {
    match ctx.guard.is_revoked(&writ_app::revocations::facts(c), ctx.clock.unix()).await {
        Ok(false) => Ok(()),
        Ok(true) => Err(AppError::unauthorized("the token was revoked").into()),
        Err(e) => {
            tracing::error!(error = %e, "revocation state unreachable: refusing admin calls");
            Err(AppError::unavailable("revocation state unreachable; retry shortly").into())
        }
    }
}

/// The verified claims of the request's bearer token for `audience` (not yet checked for
/// revocation or scope).
pub fn verify_bearer(req: &HttpRequest, audience: &str) -> Result<AccessClaims, ApiError> {
    let ctx = req
        .app_data::<web::Data<Context>>()
        .ok_or_else(|| AppError::internal(&std::io::Error::other("Context is not registered")))?;
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(AppError::token_required)?;
    ctx.keys()
        .verify(token, &ctx.issuer, audience, ctx.clock.unix())
        .map_err(|e| AppError::unauthorized(format!("the token is not valid here: {e}")).into())
}

fn authorize<S: RequiredScope>(req: &HttpRequest) -> Result<Authorized<S>, ApiError> {
    let claims = verify_bearer(req, S::AUDIENCE)?;
    if !claims.has_scope(S::SCOPE) {
        return Err(AppError::insufficient_scope(S::SCOPE).into());
    }
    let tenant = match &claims.oid {
        None => Tenant::Operator,
        Some(oid) => {
            Tenant::Org(OrgId::parse(oid).map_err(|_| AppError::unauthorized("malformed oid claim"))?)
        }
    };
    let actor = match ClientId::parse(&claims.client_id) {
        Ok(id) => Actor::Client(id),
        Err(_) => Actor::System,
    };
    // Scopes of a token we signed are well formed; a token that somehow is not holds none.
    let scopes = ScopeSet::parse(&claims.scope).unwrap_or_default();
    let caller = Caller { actor, tenant, scopes, origin: RequestOrigin::of(req) };
    Ok(Authorized { claims, caller, _scope: PhantomData })
}
