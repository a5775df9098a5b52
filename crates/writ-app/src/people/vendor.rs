//! Logging in on the vendor's own login page (the `redirect` login mode, docs/delegation.md).
//!
//! Writ sends the browser to the vendor's `login_url` with a login request it signs with its own
//! key (verifiable through Writ's JWKS), and keeps the request's id in a cookie. The vendor's app
//! authenticates the person its usual way and sends the browser back to `/oauth/login/callback`
//! with a login response signed by a key the operator registered (`login_keys`), naming the org and
//! the user. Writ accepts a response once, only in the browser that carries its request's cookie,
//! only for an org whose people log in this way, and only for an active user of that org (or one
//! created just in time, where the org allows it).

use serde::Deserialize;
use subtle::ConstantTimeEq;
use writ_core::delegation::LoginUrl;
use writ_core::{
    Actor, AuditEvent, Email, ExternalId, LoginMode, Org, OrgId, OrgStatus, Slug, Status, User, UserId,
};
use writ_store::{Audit, Orgs, StoreError, Tenant, Users};
use writ_token::Typ;

use super::{NewSession, Person, PersonError, address_limit, start_session};
use crate::context::Context;
use crate::origin::Origin;

/// The `typ` of the login request Writ signs.
pub const REQUEST_TYPE: &str = "writ-login-request+jwt";
/// The `typ` a login response must carry, so no other JWT the vendor's key signs (its own ID
/// tokens, say) passes for one.
pub const RESPONSE_TYPE: &str = "writ-login-response+jwt";
const RESPONSE_TYP: Typ =
    Typ { accepted: &[RESPONSE_TYPE], rejected: &[], refusal: "typ is not writ-login-response+jwt" };
/// Where the vendor sends the browser back.
pub const CALLBACK_PATH: &str = "/oauth/login/callback";
/// How long the person has on the vendor's page.
const REQUEST_TTL_SECONDS: i64 = 600;
/// How far ahead a response's `exp` may be.
const RESPONSE_MAX_TTL_SECONDS: i64 = 600;
/// Failed responses per minute from one address before further ones are refused.
const FAILURES_PER_MINUTE: u32 = 30;

/// The deployment's vendor login: its page and the keys of its responses (`Settings::vendor_login`).
#[derive(Default)]
pub struct VendorLogin {
    pub url: Option<LoginUrl>,
    pub keys: Option<writ_token::PublicKeys>,
}

/// How the people of `org` log in (the deployment's mode unless the org has its own; without an
/// org, the deployment's).
pub fn mode_of(ctx: &Context, org: Option<&Org>) -> LoginMode {
    org.and_then(|o| o.login.mode).unwrap_or(ctx.settings.login_mode)
}

/// Where the people of `org` log in, in the `redirect` mode.
fn url_of<'a>(ctx: &'a Context, org: Option<&'a Org>) -> Option<&'a LoginUrl> {
    org.and_then(|o| o.login.url.as_ref()).or(ctx.vendor_login.url.as_ref())
}

/// A login begun on the vendor's page: where to send the browser, and the value of the cookie that
/// binds the response to this browser (the request's id and where to go afterwards).
#[derive(Debug)]
pub struct Departure {
    pub url: String,
    pub state: String,
}

/// The org a login page names by slug, if any such org exists and is active.
pub async fn org_named(ctx: &Context, slug: &str) -> Result<Option<Org>, PersonError> {
    Ok(super::org_by_slug(ctx, slug).await?.filter(|o| o.status == OrgStatus::Active))
}

/// A signed login request to the vendor's page for a person of `org` (when known), who goes to
/// `return_to` (a path of Writ's) once logged in.
pub fn depart(ctx: &Context, org: Option<&Org>, return_to: &str) -> Result<Departure, PersonError> {
    let Some(url) = url_of(ctx, org) else {
        tracing::error!("the redirect login mode has no login_url: set one for the deployment or the org");
        return Err(PersonError::Unavailable);
    };
    let now = ctx.clock.unix();
    let id = format!("lrq_{}", writ_core::id::new_token_id());
    let mut claims = serde_json::json!({
        "iss": ctx.issuer,
        "aud": url.as_str(),
        "iat": now,
        "exp": now + REQUEST_TTL_SECONDS,
        "jti": id,
        "return_to": format!("{}{CALLBACK_PATH}", ctx.issuer),
    });
    if let Some(org) = org {
        claims["org"] = org.id.as_str().into();
        claims["org_slug"] = org.slug.as_str().into();
    }
    let signed = ctx.keys().sign(ctx.settings.signing_alg, REQUEST_TYPE, &claims).map(|(jwt, _)| jwt);
    let request = signed.map_err(|e| {
        tracing::error!(error = %e, "signing a login request failed");
        PersonError::Unavailable
    })?;
    let sep = if url.as_str().contains('?') { '&' } else { '?' };
    let state = format!("{id}~{}", form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>());
    Ok(Departure { url: format!("{url}{sep}request={request}"), state })
}

/// What a login response says (docs/delegation.md).
#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    aud: serde_json::Value,
    exp: i64,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: String,
    in_response_to: String,
    org: Option<String>,
    org_slug: Option<String>,
    user_id: Option<String>,
    external_id: Option<String>,
    email: Option<String>,
}

/// A login response Writ does not accept: why is logged for the operator; the person is told only
/// that the sign-in failed.
fn refused(why: impl std::fmt::Display) -> PersonError {
    tracing::warn!(reason = %why, "a login response was refused");
    PersonError::LoginRefused
}

/// A store error while reading what a response names: an org or user that is not there is a
/// refusal.
fn named(e: StoreError) -> PersonError {
    match e {
        StoreError::NotFound => refused("the org or user it names does not exist"),
        e => e.into(),
    }
}

/// Logs in the person a login response names. `state` is the cookie [`depart`] set; the second
/// value is where the person goes next (what [`depart`] was given).
pub async fn arrive(
    ctx: &Context,
    response: &str,
    state: Option<&str>,
    origin: &Origin,
) -> Result<(NewSession, String), PersonError> {
    address_limit(ctx, origin, "login-response", FAILURES_PER_MINUTE, 0).await?;
    let (id, return_to) = state.and_then(|s| s.split_once('~')).unwrap_or(("", ""));
    let return_to = form_urlencoded::parse(format!("r={return_to}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    match accept(ctx, response, id, origin).await {
        Ok(session) => Ok((session, return_to)),
        Err(PersonError::LoginRefused) => {
            address_limit(ctx, origin, "login-response", FAILURES_PER_MINUTE, 1).await?;
            Err(PersonError::LoginRefused)
        }
        Err(e) => Err(e),
    }
}

async fn accept(
    ctx: &Context,
    response: &str,
    request: &str,
    origin: &Origin,
) -> Result<NewSession, PersonError> {
    let keys = ctx.vendor_login.keys.as_ref().ok_or_else(|| refused("no login_keys are set"))?;
    let jws = keys.verify_jws(response, &RESPONSE_TYP).map_err(|e| refused(format!("its signature: {e}")))?;
    let said: Response =
        serde_json::from_slice(&jws.payload).map_err(|e| refused(format!("its claims: {e}")))?;
    let now = ctx.clock.unix();
    let audiences = crate::token::client_auth::audiences(Some(&said.aud));
    let callback = format!("{}{CALLBACK_PATH}", ctx.issuer);
    if !audiences.iter().any(|a| a.trim_end_matches('/') == ctx.issuer || *a == callback) {
        return Err(refused("its aud is not this issuer"));
    }
    crate::token::client_auth::check_times(said.exp, said.iat, said.nbf, now).map_err(refused)?;
    if said.exp > now + RESPONSE_MAX_TTL_SECONDS {
        return Err(refused("its exp is more than 10 minutes away"));
    }
    // Login CSRF: a response obtained for someone else's request does not log this browser in.
    if request.is_empty() || !bool::from(request.as_bytes().ct_eq(said.in_response_to.as_bytes())) {
        return Err(refused("it answers a request this browser did not make"));
    }
    for (scope, id) in [("login-response", &said.jti), ("login-request", &said.in_response_to)] {
        match ctx.guard.first_use(scope, id, said.exp, now).await {
            Ok(true) => {}
            Ok(false) => return Err(refused(format!("replayed ({scope} seen before)"))),
            Err(e) => {
                tracing::warn!(error = %e, "replay store unreachable: refusing login responses");
                return Err(PersonError::Unavailable);
            }
        }
    }
    let org = org_of(ctx, &said).await?;
    if org.status != OrgStatus::Active {
        return Err(PersonError::NoAccount);
    }
    if mode_of(ctx, Some(&org)) != LoginMode::Redirect {
        return Err(refused("its org logs in with passwords, not through the vendor"));
    }
    let txn = ctx.store.begin().await.map_err(PersonError::from)?;
    let user = match person_of(&txn, &org, &said).await? {
        Some(user) => user,
        None => create(ctx, &txn, &org, &said, origin).await?,
    };
    if user.status != Status::Active {
        return Err(PersonError::NoAccount);
    }
    let (cookie, session) = start_session(ctx, &txn, &user, ctx.clock.now()).await?;
    let event = origin
        .stamp(AuditEvent::new(
            Actor::User(user.id.clone()),
            Some(org.id.clone()),
            "user.logged_in",
            Some(session.to_string()),
        ))
        .with_details(serde_json::json!({ "method": "redirect" }));
    Audit::new(&txn).record(&event).await.map_err(PersonError::from)?;
    txn.commit().await.map_err(|e| PersonError::from(StoreError::from(e)))?;
    Ok(NewSession { cookie, person: Person { session, user, org } })
}

/// The org a response names, by `org` (its id) or `org_slug`.
async fn org_of(ctx: &Context, said: &Response) -> Result<Org, PersonError> {
    let orgs = Orgs::new(ctx.store.conn(), &Tenant::Operator);
    match (&said.org, &said.org_slug) {
        (Some(id), _) => {
            let id = OrgId::parse(id).map_err(|_| refused("its org is not an org id"))?;
            orgs.get(&id).await.map_err(named)
        }
        (None, Some(slug)) => {
            let slug = Slug::parse(slug).map_err(|_| refused("its org_slug is not a slug"))?;
            orgs.by_slug(&slug).await.map_err(named)
        }
        (None, None) => Err(refused("it names no org (org or org_slug)")),
    }
}

/// The user of `org` a response names by `user_id` or `external_id`; `None` for an external id
/// that is nobody's yet.
async fn person_of(
    txn: &writ_store::DatabaseTransaction,
    org: &Org,
    said: &Response,
) -> Result<Option<User>, PersonError> {
    let tenant = Tenant::Org(org.id.clone());
    let users = Users::new(txn, &tenant);
    match (&said.user_id, &said.external_id) {
        (Some(id), _) => {
            let id = UserId::parse(id).map_err(|_| refused("its user_id is not a user id"))?;
            users.get(&id).await.map(Some).map_err(named)
        }
        (None, Some(external)) => {
            let external =
                ExternalId::parse(external).map_err(|e| refused(format!("its external_id {}", e.reason)))?;
            match users.by_external_id(&org.id, &external).await {
                Ok(user) => Ok(Some(user)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        (None, None) => Err(refused("it names no user (user_id or external_id)")),
    }
}

/// A user created on their first login, where the org allows it: the response's external id and
/// email, the org's grants for new people (within its entitlements).
async fn create(
    ctx: &Context,
    txn: &writ_store::DatabaseTransaction,
    org: &Org,
    said: &Response,
    origin: &Origin,
) -> Result<User, PersonError> {
    let Some(grants) = &org.login.new_users else {
        return Err(PersonError::NoAccount);
    };
    let email = said.email.as_deref().ok_or_else(|| refused("it names a new person without an email"))?;
    let email = Email::parse(email).map_err(|e| refused(format!("its email {}", e.reason)))?;
    let external = said.external_id.as_deref().map(ExternalId::parse).transpose();
    let external = external.map_err(|e| refused(format!("its external_id {}", e.reason)))?;
    let now = ctx.clock.now();
    let user = User {
        id: UserId::generate(),
        org_id: org.id.clone(),
        email,
        external_id: external,
        password_hash: None,
        password_changed_at: None,
        status: Status::Active,
        grants: grants.intersect(&org.entitlements),
        created_at: now,
        updated_at: now,
    };
    let tenant = Tenant::Org(org.id.clone());
    Users::new(txn, &tenant).create(&user).await.map_err(|e| match e {
        // Someone of the org has this email already, under another external id (or none): the
        // vendor's login names them differently, and an admin must say which is right.
        StoreError::Conflict(_) => PersonError::NoAccount,
        e => e.into(),
    })?;
    let event = origin
        .stamp(AuditEvent::new(
            Actor::User(user.id.clone()),
            Some(org.id.clone()),
            "user.created",
            Some(user.id.to_string()),
        ))
        .with_details(serde_json::json!({ "just_in_time": true }));
    Audit::new(txn).record(&event).await.map_err(PersonError::from)?;
    Ok(user)
}
