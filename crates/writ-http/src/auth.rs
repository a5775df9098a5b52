//! Authorization in the handler's signature: `Authorized<OrgsWrite>` verifies the caller's Writ
//! token (audience `urn:writ:admin`), requires the scope named by the marker type, and tells which
//! tenant the caller is. An org-bound token (`oid`) sees only its own org.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use writ_core::{ADMIN_AUDIENCE, OrgId};
use writ_store::Tenant;
use writ_token::AccessClaims;

use crate::ApiError;
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

/// A verified admin caller holding scope `S`.
#[derive(Debug)]
pub struct Authorized<S> {
    pub claims: AccessClaims,
    pub tenant: Tenant,
    _scope: PhantomData<S>,
}

impl<S> Authorized<S> {
    /// `NotFound` unless the caller may act on `org_id`: a tenant never learns whether another
    /// tenant's objects exist.
    pub fn ensure_org(&self, org_id: &OrgId) -> Result<(), ApiError> {
        match &self.tenant {
            Tenant::Operator => Ok(()),
            Tenant::Org(own) if own == org_id => Ok(()),
            Tenant::Org(_) => Err(ApiError::not_found()),
        }
    }

    /// Only the operator (a token without `oid`) may do this.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self.tenant {
            Tenant::Operator => Ok(()),
            Tenant::Org(_) => Err(ApiError::forbidden("only the operator may do this")),
        }
    }

    pub fn actor(&self) -> writ_core::Actor {
        match writ_core::ClientId::parse(&self.claims.client_id) {
            Ok(id) => writ_core::Actor::Client(id),
            Err(_) => writ_core::Actor::System,
        }
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
                ctx.ok_or_else(|| ApiError::internal(&std::io::Error::other("Context is not registered")))?;
            not_revoked(&ctx, &auth.claims).await?;
            Ok(auth)
        })
    }
}

/// Writ honours its own revocations: a revoked token is refused like an invalid one. When the
/// revocation state cannot be reached the admin API fails closed (503).
pub async fn not_revoked(ctx: &Context, c: &AccessClaims) -> Result<(), ApiError> {
    let facts = writ_guard_store::TokenFacts {
        jti: &c.jti,
        client_id: &c.client_id,
        org_id: c.oid.as_deref(),
        iat: c.iat,
        exp: c.exp,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match ctx.guard.is_revoked(&facts, now).await {
        Ok(false) => Ok(()),
        Ok(true) => Err(ApiError::unauthorized("the token was revoked")),
        Err(e) => {
            tracing::error!(error = %e, "revocation state unreachable: refusing admin calls");
            Err(ApiError::unavailable("revocation state unreachable; retry shortly"))
        }
    }
}

/// The verified claims of the request's bearer token for `audience` (not yet checked for
/// revocation or scope).
pub fn verify_bearer(req: &HttpRequest, audience: &str) -> Result<AccessClaims, ApiError> {
    let ctx = req
        .app_data::<web::Data<Context>>()
        .ok_or_else(|| ApiError::internal(&std::io::Error::other("Context is not registered")))?;
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(ApiError::token_required)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ctx.keys()
        .verify(token, &ctx.issuer, audience, now)
        .map_err(|e| ApiError::unauthorized(format!("the token is not valid here: {e}")))
}

fn authorize<S: RequiredScope>(req: &HttpRequest) -> Result<Authorized<S>, ApiError> {
    let claims = verify_bearer(req, S::AUDIENCE)?;
    if !claims.has_scope(S::SCOPE) {
        return Err(ApiError::insufficient_scope(S::SCOPE));
    }
    let tenant = match &claims.oid {
        None => Tenant::Operator,
        Some(oid) => {
            Tenant::Org(OrgId::parse(oid).map_err(|_| ApiError::unauthorized("malformed oid claim"))?)
        }
    };
    Ok(Authorized { claims, tenant, _scope: PhantomData })
}
