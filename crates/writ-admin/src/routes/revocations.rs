//! Admin revocation (DESIGN.md §5): one token, every token of a client, of a secret, or of an org.
//! Revocations live in the guard store until the tokens they concern have expired; every one is
//! audited.

use actix_web::{HttpRequest, HttpResponse, post, web};
use writ_app::Context;
use writ_core::{AuditEvent, ClientId, OrgId, SecretId};
use writ_guard_store::{WATERMARK_LIFETIME_SECONDS, Watermark};
use writ_http::auth::RevocationsWrite;
use writ_http::{ApiError, Authorized};
use writ_store::{Audit, Clients, Orgs, Tenant};

use super::{guard_unavailable, path_id, revoke_before, stamp};
use crate::dto::{CreateRevocation, Problem, RevocationDto, RevokeClientTokens};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Audits a revocation synchronously: it lives in the guard store, not in the database, so there is
/// no transaction to share, but an admin action is never left to the lossy issuance writer.
async fn record(
    ctx: &Context,
    req: &HttpRequest,
    auth: &Authorized<RevocationsWrite>,
    org: Option<OrgId>,
    r: &RevocationDto,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(auth.actor(), org, "tokens.revoked", Some(r.id.clone()))
        .with_details(serde_json::json!({ "kind": r.kind, "tokens": r.tokens }));
    Audit::new(ctx.store.conn()).record(&stamp(event, req)).await?;
    Ok(())
}

/// Revoke tokens
///
/// Revokes one token (`jti`), every token a client has been issued until now (`client_id`), or
/// every token of an org (`org_id`; suspending an org does this too). Resource servers that follow
/// the revocation feed, and introspection, reject them from then on. Tenant admins may revoke only
/// their own org's tokens. Requires `admin:revocations:write`.
#[utoipa::path(
    tag = "revocations",
    request_body = CreateRevocation,
    responses(
        (status = 201, description = "The revocation took effect", body = RevocationDto),
        (status = 404, description = "No such token, client or org visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not exactly one of jti, client_id, org_id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:revocations:write"]))
)]
#[post("/revocations")]
pub async fn create_revocation(
    auth: Authorized<RevocationsWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    body: writ_http::Body<CreateRevocation>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (revocation, org) = match (&body.jti, &body.client_id, &body.org_id) {
        (Some(jti), None, None) => {
            let issued = Audit::new(ctx.store.conn()).issued_token(jti).await?;
            let (org, exp) = match (issued, &auth.tenant) {
                (Some((_, org, exp)), Tenant::Org(own)) if org.as_deref() == Some(own.as_str()) => (org, exp),
                (Some((_, org, exp)), Tenant::Operator) => (org, exp),
                // Unaudited (or not yet written) tokens: the operator may still revoke the jti, for
                // the longest lifetime a token can have.
                (None, Tenant::Operator) => (None, now() + WATERMARK_LIFETIME_SECONDS),
                _ => return Err(ApiError::not_found()),
            };
            ctx.guard.revoke_token(jti, exp, now()).await.map_err(guard_unavailable)?;
            (RevocationDto::new("token", jti, None), org.and_then(|o| OrgId::parse(&o).ok()))
        }
        (None, Some(client), None) => {
            let id = ClientId::parse(client).map_err(|_| ApiError::not_found())?;
            let client = Clients::new(ctx.store.conn(), &auth.tenant).get(&id).await?;
            revoke_before(&ctx, Watermark::Client(id.as_str())).await?;
            (RevocationDto::new("client", id.as_str(), None), client.kind.org_id().cloned())
        }
        (None, None, Some(org)) => {
            let id = OrgId::parse(org).map_err(|_| ApiError::not_found())?;
            auth.ensure_org(&id)?;
            Orgs::new(ctx.store.conn(), &auth.tenant).get(&id).await?;
            revoke_before(&ctx, Watermark::Org(id.as_str())).await?;
            (RevocationDto::new("org", id.as_str(), None), Some(id))
        }
        _ => return Err(ApiError::validation("body", "name exactly one of jti, client_id, org_id")),
    };
    record(&ctx, &req, &auth, org, &revocation).await?;
    Ok(HttpResponse::Created().json(revocation))
}

/// Revoke a client's tokens
///
/// Revokes every token the client has been issued until now or, with `secret_id`, only the tokens
/// that secret authenticated (for a leaked secret: delete it and revoke what it minted). Requires
/// `admin:revocations:write`.
#[utoipa::path(
    tag = "revocations",
    params(("client_id" = String, Path, description = "The client id (`cli_…`)")),
    request_body(content = RevokeClientTokens, description = "Optional secret; the body may be omitted"),
    responses(
        (status = 201, description = "The revocation took effect", body = RevocationDto),
        (status = 404, description = "No such client or secret visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The revocation state is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:revocations:write"]))
)]
#[post("/clients/{client_id}/revoke-tokens")]
pub async fn revoke_client_tokens(
    auth: Authorized<RevocationsWrite>,
    ctx: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<String>,
    body: writ_http::OptionalBody<RevokeClientTokens>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(ClientId::parse, &path)?;
    let clients = Clients::new(ctx.store.conn(), &auth.tenant);
    let client = clients.get(&id).await?;
    let revocation = match body.into_inner().and_then(|b| b.secret_id) {
        None => {
            revoke_before(&ctx, Watermark::Client(id.as_str())).await?;
            RevocationDto::new("client", id.as_str(), None)
        }
        Some(secret) => {
            let secret = path_id(SecretId::parse, &secret)?;
            // The secret must be this client's (it may have been deleted already: then its id is
            // still found in the issuance records, which are checked against this client below).
            // Issuance records still queued in this instance are written first.
            ctx.audit.flush().await;
            let since = writ_core::now() - time::Duration::seconds(WATERMARK_LIFETIME_SECONDS);
            let issued = Audit::new(ctx.store.conn()).issued_with_secret(&secret, since).await?;
            let owned = clients.secrets(&id).await?.iter().any(|s| s.id == secret);
            if !owned && issued.is_empty() {
                return Err(ApiError::not_found());
            }
            for (jti, exp) in &issued {
                ctx.guard.revoke_token(jti, *exp, now()).await.map_err(guard_unavailable)?;
            }
            RevocationDto::new("secret", secret.as_str(), Some(issued.len()))
        }
    };
    record(&ctx, &req, &auth, client.kind.org_id().cloned(), &revocation).await?;
    Ok(HttpResponse::Created().json(revocation))
}
