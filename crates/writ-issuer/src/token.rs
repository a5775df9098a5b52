//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4) with RFC 8707 resource
//! indicators and RFC 9068 access tokens.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

use writ_app::Context;
use writ_core::secret::{PlainSecret, SecretHash};
use writ_core::{Actor, AuditEvent, ClientId, GrantError, ResourceUri, ScopeSet, SecretId, TokenRequest};
use writ_core::{QuotaMode, RateLimits};
use writ_guard_store::{Check, Limit, Rate};
use writ_http::limits::{Applied, headers};
use writ_store::ClientCredentials;
use writ_token::{AccessClaims, Audience};

use crate::OAuthError;
use crate::oauth_error::no_store;
use crate::request::{self, Credentials};
use crate::schema::{OAuthErrorBody, TokenForm, TokenResponse};

/// Issue an access token
///
/// The client-credentials grant (RFC 6749 §4.4): a machine client trades its credentials for a
/// short-lived RFC 9068 JWT for one API (`resource`, RFC 8707) with the scopes it asks for, within
/// what it was granted. Authenticate with HTTP Basic or with `client_id` and `client_secret` in the
/// body. Errors follow RFC 6749 §5.2; every answer is `Cache-Control: no-store`. No scope is
/// needed: the credentials are the authorization.
#[utoipa::path(
    tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type`, `invalid_scope`, `invalid_target` or `unauthorized_client`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret, disabled client or suspended org", body = OAuthErrorBody),
        (status = 413, description = "The body exceeds 16 KiB", body = OAuthErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After` and the `RateLimit` headers", body = OAuthErrorBody),
    ),
    security(("client_basic" = []), ())
)]
#[post("/oauth/token")]
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, OAuthError> {
    let started = std::time::Instant::now();
    let result = issue(&req, payload, &ctx).await;
    ctx.metrics.token_latency(started.elapsed());
    if let Err(e) = &result {
        tracing::Span::current().record("error.code", e.code());
        ctx.metrics.token_refused(e.code());
    }
    result
}

async fn issue(req: &HttpRequest, payload: web::Payload, ctx: &Context) -> Result<HttpResponse, OAuthError> {
    let body = request::read_body(payload).await?;
    let params = request::parse_params(req, &body)?;
    match params.grant_type.as_deref() {
        None => {
            return Err(OAuthError::InvalidRequest("missing parameter `grant_type`".into()));
        }
        Some("client_credentials") => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }
    let creds = request::credentials(req, &params)?;
    tracing::Span::current().record("client_id", creds.client_id.as_str());

    let token_request = TokenRequest {
        scope: params
            .scope
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| OAuthError::InvalidScope(e.to_string()))?,
        resources: params
            .resources
            .iter()
            .chain(params.audience.iter())
            .map(|r| ResourceUri::parse(r))
            .collect::<Result<_, _>>()
            .map_err(|e| OAuthError::InvalidTarget(e.to_string()))?,
    };

    let ip = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    // A client's limits live together (one Redis Cluster shard per client); ids are bounded in
    // length, so a key cannot grow without limit.
    let shard: String = creds.client_id.chars().take(64).collect();
    let (loaded, secret_id) = match authenticate(ctx, &creds).await {
        Ok(ok) => ok,
        Err(e @ OAuthError::InvalidClient { .. }) => {
            // Count the failure against this address and client id; past the limit, refuse.
            if let Some(check) = failure_check(ctx, &ip, &shard, 1)
                && let Some(decision) = ctx.throttle(&shard, std::slice::from_ref(&check)).await.first()
                && !decision.allowed
            {
                let applied = [Applied { name: "failed_auth", check: &check, decision }];
                return Err(refuse(ctx, "failed_auth", &applied));
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    // One round trip for every limit: whether this address is locked out for the client (a look,
    // so a correct secret does not count as a failure), the client's rate and its quotas.
    let org_limits = loaded.org.as_ref().map(|o| o.rate_limits).unwrap_or_default();
    let limits = loaded.client.rate_limits.or(org_limits).or(ctx.default_limits);
    let (names, checks): (Vec<&'static str>, Vec<Check>) = failure_check(ctx, &ip, &shard, 0)
        .map(|c| ("failed_auth", c))
        .into_iter()
        .chain(client_checks(loaded.client.id.as_str(), &limits))
        .unzip();
    let decisions = ctx.throttle(&shard, &checks).await;
    let applied: Vec<Applied<'_>> = names
        .iter()
        .zip(&checks)
        .zip(&decisions)
        .map(|((name, check), decision)| Applied { name, check, decision })
        .collect();
    if let Some(refused) = applied.iter().find(|a| a.check.enforced && !a.decision.allowed) {
        let shown: Vec<Applied<'_>> = if refused.name == "failed_auth" {
            vec![*refused]
        } else {
            applied.iter().filter(|a| a.name != "failed_auth").copied().collect()
        };
        return Err(refuse(ctx, refused.name, &shown));
    }
    let applied: Vec<Applied<'_>> = applied.into_iter().filter(|a| a.name != "failed_auth").collect();
    for over in applied.iter().filter(|a| !a.decision.allowed) {
        ctx.metrics.token_limited(over.name, false);
        tracing::warn!(
            limit = over.name,
            quota = over.decision.limit,
            "over a log-only quota: issued anyway"
        );
    }
    if let Some(org) = loaded.client.kind.org_id() {
        tracing::Span::current().record("org_id", org.as_str());
    }
    let grant = writ_core::grant(&loaded.client, loaded.org.as_ref(), loaded.user.as_ref(), &token_request)
        .map_err(|e| match e {
        GrantError::Inactive(reason) => {
            tracing::info!(reason, "refused an unusable client");
            OAuthError::InvalidClient { basic: creds.basic }
        }
        GrantError::NothingGranted => OAuthError::UnauthorizedClient("the client is granted nothing".into()),
        GrantError::InvalidScope(d) => OAuthError::InvalidScope(d),
        GrantError::InvalidTarget(d) => OAuthError::InvalidTarget(d),
    })?;

    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ttl = i64::from(grant.ttl.seconds());
    let claims = AccessClaims {
        iss: ctx.issuer.clone(),
        sub: loaded.client.id.to_string(),
        client_id: loaded.client.id.to_string(),
        aud: Audience::from_list(grant.audiences.iter().map(ToString::to_string).collect()),
        scope: grant.scope.to_string(),
        iat: now,
        nbf: now,
        exp: now + ttl,
        jti: writ_core::id::new_token_id(),
        oid: grant.org_id.as_ref().map(ToString::to_string),
        uid: grant.user_id.as_ref().map(ToString::to_string),
    };
    let alg = ctx.signing_alg_for(grant.audiences.iter().map(|a| a.as_str())).ok_or_else(|| {
        OAuthError::InvalidTarget(
            "these resources require different signing algorithms: ask for one at a time".into(),
        )
    })?;
    let keys = ctx.keys();
    let (access_token, kid) = keys.sign(alg, &claims).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError::Server
    })?;
    tracing::debug!(kid = %kid, jti = %claims.jti, scope = %claims.scope, "issued a token");
    let mut event = AuditEvent::new(
        Actor::Client(loaded.client.id.clone()),
        grant.org_id.clone(),
        "token.issued",
        Some(claims.jti.clone()),
    )
    .with_details(json!({
        "secret_id": secret_id.as_str(),
        "kid": kid.as_str(),
        "jti": claims.jti,
        "scope": claims.scope,
        "aud": claims.aud,
        "exp": claims.exp,
    }));
    event.ip = (!ip.is_empty()).then_some(ip);
    event.request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    ctx.audit.record_secret_use(event, secret_id);
    ctx.metrics.token_issued(claims.oid.as_deref());

    let mut res = HttpResponse::Ok();
    no_store(&mut res);
    for (name, value) in headers(&applied) {
        res.insert_header((name, value));
    }
    Ok(res.json(crate::schema::TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: claims.scope,
    }))
}

/// The failed-authentication limit of one (length-bounded) client id from one address (`None`
/// when turned off).
fn failure_check(ctx: &Context, ip: &str, client_id: &str, cost: u32) -> Option<Check> {
    let per_minute = ctx.settings.failed_auth_per_minute;
    (per_minute > 0).then(|| {
        Check::rate(format!("fail:{ip}:{client_id}"), Rate::per_minute(per_minute, per_minute), cost)
    })
}

/// The limits of one authenticated client, named as in the `RateLimit` headers: its rate and its
/// hourly and daily quotas (each only when not 0). A quota in log-only mode is not enforced.
fn client_checks(client_id: &str, limits: &RateLimits) -> Vec<(&'static str, Check)> {
    let enforced = limits.quota_mode != Some(QuotaMode::LogOnly);
    let quota = |name, limit: Option<u32>, window_ms| {
        let limit = limit.filter(|l| *l > 0)?;
        let check = Check {
            key: format!("{name}:{client_id}"),
            limit: Limit::Quota { limit, window_ms },
            cost: 1,
            enforced,
        };
        Some((name, check))
    };
    let rate = limits.per_second.filter(|r| *r > 0).map(|per_second| {
        let rate = Rate::per_second(per_second, limits.burst.unwrap_or(per_second).max(1));
        ("rate", Check::rate(format!("client:{client_id}"), rate, 1))
    });
    [rate, quota("hour", limits.per_hour, Limit::HOUR_MS), quota("day", limits.per_day, Limit::DAY_MS)]
        .into_iter()
        .flatten()
        .collect()
}

fn reason(limit: &str) -> &'static str {
    match limit {
        "failed_auth" => "too many failed authentications: retry later",
        "rate" => "token rate limit reached: retry later",
        _ => "token quota reached: retry when the window ends",
    }
}

/// A `429` for going over `limit`, with headers describing `shown`.
fn refuse(ctx: &Context, limit: &'static str, shown: &[Applied<'_>]) -> OAuthError {
    ctx.metrics.token_limited(limit, true);
    OAuthError::RateLimited { reason: reason(limit), headers: headers(shown) }
}

/// Checks the client's secret. Every failure — malformed secret, unknown client, wrong or expired
/// secret — is the same `invalid_client`; an unknown client still pays for a hash comparison, so
/// timing does not tell which it was.
pub(crate) async fn authenticate(
    ctx: &Context,
    creds: &Credentials,
) -> Result<(Arc<ClientCredentials>, SecretId), OAuthError> {
    let fail = OAuthError::InvalidClient { basic: creds.basic };
    // A malformed secret (bad prefix or checksum) is refused before any lookup.
    let secret = PlainSecret::parse(&creds.client_secret).map_err(|_| fail.clone())?;
    let presented = secret.hash(&ctx.pepper);
    let client_id = ClientId::parse(&creds.client_id).ok();
    let loaded = match &client_id {
        Some(id) => ctx.client_credentials(id).await.map_err(|e| {
            tracing::error!(error = %e, "loading client credentials failed");
            OAuthError::Server
        })?,
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let Some(loaded) = loaded else {
        let _ = presented.matches(&SecretHash([0; 32]));
        return Err(fail);
    };
    // Compare against every usable secret without stopping early.
    let matched = loaded
        .secrets
        .iter()
        .filter(|s| s.is_usable(now))
        .fold(None, |found, s| if s.hash.matches(&presented) { Some(s.id.clone()) } else { found });
    match matched {
        Some(secret_id) => Ok((loaded, secret_id)),
        None => Err(fail),
    }
}
