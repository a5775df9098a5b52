//! People who log in to Writ's pages (docs/delegation.md): a tenant admin invites a user (a
//! one-time link to set a password), the person logs in with their org, email and password, and
//! holds a browser session until it expires, they log out, change their password, or are disabled.
//!
//! No answer tells whether an account exists: an unknown org or email, a user without a password,
//! a disabled user or a suspended org all answer like a wrong password, after the same slow hash
//! (`password.rs`). Failures are limited per address (a rate) and per account (a quota per
//! 15-minute window, the lockout), both keyed whether the account exists or not.

pub mod password;
pub mod vendor;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use writ_core::secret::{Kind, PlainSecret};
use writ_core::{
    Actor, AuditEvent, Email, InvitationId, LoginMode, Org, OrgStatus, Password, SessionId, Slug, Status,
    User, UserId,
};
use writ_guard_store::{Check, Limit, Rate};
use writ_store::{
    Audit, Invitation, Invitations, LoginSession, LoginSessions, Orgs, StoreError, Tenant, Users,
};

use crate::caller::Caller;
use crate::context::Context;
use crate::error::AppError;
use crate::origin::Origin;

/// What a person is told when something they did on a page did not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonError {
    /// Wrong org, email or password — which one is never said.
    #[error("the organization, email or password is not right")]
    InvalidCredentials,
    /// Too many failed attempts for this account or from this address.
    #[error("too many attempts: try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: u64 },
    /// The invitation link is unknown, used or expired.
    #[error("this link is no longer valid: ask your administrator for a new one")]
    InvalidLink,
    /// A new password that breaks the rules.
    #[error("{0}")]
    BadPassword(String),
    /// No session, or one that ended.
    #[error("you are not logged in")]
    NoSession,
    /// A consent the person does not have (any more).
    #[error("there is no such consent")]
    NoSuchConsent,
    /// The org of the login form logs in on the vendor's page, not with a password.
    #[error("your organization signs in on its own page")]
    LoginElsewhere,
    /// A login response from the vendor's page that Writ does not accept (why is logged).
    #[error("the sign-in could not be completed: please start again")]
    LoginRefused,
    /// The vendor's login named someone who has no (active) account here.
    #[error("there is no active account for you here: ask your administrator")]
    NoAccount,
    /// The database or the limits store did not answer.
    #[error("the service is unavailable: try again shortly")]
    Unavailable,
}

impl From<StoreError> for PersonError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::InvalidCredentials,
            e => {
                tracing::error!(error = %e, "a person's request failed in the store");
                Self::Unavailable
            }
        }
    }
}

/// How long a failed-login window lasts; the account's failures count within it.
const LOCKOUT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long an invitation link works unless the admin says otherwise, and at most.
pub const INVITATION_TTL: Duration = Duration::days(7);
pub const MAX_INVITATION_TTL: Duration = Duration::days(30);

/// An invitation, as the admin who made it sees it once: the link holds its token.
#[derive(Clone)]
pub struct Invited {
    pub id: InvitationId,
    pub url: String,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for Invited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invited")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A link for `id` to set their password, valid for `ttl`; any earlier link of theirs stops
/// working. The person's current password (if any) stays until they use it.
pub async fn invite(ctx: &Context, caller: &Caller, id: &UserId, ttl: Duration) -> Result<Invited, AppError> {
    if ttl < Duration::hours(1) || ttl > MAX_INVITATION_TTL {
        return Err(AppError::validation("expires_in", "must be between 3600 and 2592000 seconds"));
    }
    let token = PlainSecret::generate_as(Kind::Invitation).map_err(|e| AppError::internal(&e))?;
    let txn = ctx.store.begin().await?;
    let user = Users::new(&txn, &caller.tenant).get(id).await?;
    let org = Orgs::new(&txn, &caller.tenant).get(&user.org_id).await?;
    if vendor::mode_of(ctx, Some(&org)) == LoginMode::Redirect {
        return Err(AppError::conflict(
            "this org's people log in on the vendor's login page (login mode redirect), not with a password",
        ));
    }
    let now = ctx.clock.now();
    let invitation =
        Invitation { id: InvitationId::generate(), user_id: user.id.clone(), expires_at: now + ttl };
    Invitations::new(&txn).replace(&invitation, &token.hash(&ctx.pepper), now).await?;
    let event = caller
        .event(Some(user.org_id.clone()), "user.invited", Some(user.id.to_string()))
        .with_details(serde_json::json!({
            "invitation_id": invitation.id.as_str(),
            "expires_at": invitation.expires_at.format(&Rfc3339).unwrap_or_default(),
        }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(Invited {
        id: invitation.id,
        url: format!("{}/oauth/invitation?token={}", ctx.issuer, token.expose()),
        expires_at: invitation.expires_at,
    })
}

/// Whom an invitation is for, to greet them on the page that uses it.
pub async fn invitation(ctx: &Context, token: &str) -> Result<(User, Org), PersonError> {
    let token = PlainSecret::parse_as(token, Kind::Invitation).map_err(|_| PersonError::InvalidLink)?;
    let conn = ctx.store.conn();
    let found = Invitations::new(conn).find(&token.hash(&ctx.pepper), ctx.clock.now()).await;
    let invitation = found.map_err(|e| link_error(e.into()))?;
    active_person(ctx, &invitation.user_id).await.map_err(link_error)
}

fn link_error(e: PersonError) -> PersonError {
    if e == PersonError::InvalidCredentials { PersonError::InvalidLink } else { e }
}

/// Sets the password of the invitation's user and logs them in. The link works once, even when
/// submitted twice at the same moment; every other session of the person ends.
pub async fn accept_invitation(
    ctx: &Context,
    token: &str,
    new: &str,
    origin: &Origin,
) -> Result<NewSession, PersonError> {
    let (user, org) = invitation(ctx, token).await?;
    if vendor::mode_of(ctx, Some(&org)) == LoginMode::Redirect {
        return Err(PersonError::LoginElsewhere);
    }
    let new = new_password(new, &user)?;
    let hash = password::hash(&ctx.pepper, &new).await.ok_or(PersonError::Unavailable)?;
    let token = PlainSecret::parse_as(token, Kind::Invitation).map_err(|_| PersonError::InvalidLink)?;
    let now = ctx.clock.now();
    let txn = ctx.store.begin().await?;
    let invitation =
        Invitations::new(&txn).find(&token.hash(&ctx.pepper), now).await.map_err(|e| link_error(e.into()))?;
    Invitations::new(&txn).take(&invitation.id).await.map_err(|e| link_error(e.into()))?;
    Users::new(&txn, &Tenant::Operator).set_password(&user.id, Some(&hash), now).await?;
    LoginSessions::new(&txn).delete_of_user(&user.id, None).await?;
    let event = origin
        .stamp(AuditEvent::new(
            Actor::User(user.id.clone()),
            Some(org.id.clone()),
            "user.password_set",
            Some(user.id.to_string()),
        ))
        .with_details(serde_json::json!({ "invitation_id": invitation.id.as_str() }));
    Audit::new(&txn).record(&event).await?;
    let session = start_session(ctx, &txn, &user, now).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(NewSession { cookie: session.0, person: Person { session: session.1, user, org } })
}

/// A person with a session: who, in which org.
#[derive(Debug, Clone)]
pub struct Person {
    pub session: SessionId,
    pub user: User,
    pub org: Org,
}

/// A session just begun: the cookie's value (shown to the browser once) and its person.
pub struct NewSession {
    pub cookie: PlainSecret,
    pub person: Person,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession").field("person", &self.person.user.id).finish_non_exhaustive()
    }
}

/// What a login form sends.
pub struct LoginAttempt<'a> {
    pub org: &'a str,
    pub email: &'a str,
    pub password: &'a str,
}

/// Logs a person in, or says why not (never which of org, email and password was wrong).
pub async fn log_in(
    ctx: &Context,
    attempt: LoginAttempt<'_>,
    origin: &Origin,
) -> Result<NewSession, PersonError> {
    let limits = Limits::new(ctx, origin, attempt.org, attempt.email);
    limits.check(0).await?;
    let (org, user) = find(ctx, attempt.org, attempt.email).await?;
    if org.as_ref().is_some_and(|o| vendor::mode_of(ctx, Some(o)) == LoginMode::Redirect) {
        return Err(PersonError::LoginElsewhere);
    }
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let matches = password::verify(&ctx.pepper, attempt.password, hash).await;
    let usable =
        user.zip(org).filter(|(u, o)| matches && u.status == Status::Active && o.status == OrgStatus::Active);
    let Some((user, org)) = usable else {
        limits.check(1).await?;
        return Err(PersonError::InvalidCredentials);
    };
    let now = ctx.clock.now();
    let txn = ctx.store.begin().await?;
    let (cookie, session) = start_session(ctx, &txn, &user, now).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.audit.record(origin.stamp(AuditEvent::new(
        Actor::User(user.id.clone()),
        Some(org.id.clone()),
        "user.logged_in",
        Some(session.to_string()),
    )));
    Ok(NewSession { cookie, person: Person { session, user, org } })
}

/// The org named by a slug and its user named by an email, each `None` when unknown or
/// malformed.
async fn find(ctx: &Context, org: &str, email: &str) -> Result<(Option<Org>, Option<User>), PersonError> {
    let Some(org) = org_by_slug(ctx, org).await? else { return Ok((None, None)) };
    let Ok(email) = Email::parse(email) else { return Ok((Some(org), None)) };
    match Users::new(ctx.store.conn(), &Tenant::Operator).by_email(&org.id, &email).await {
        Ok(user) => Ok((Some(org), Some(user))),
        Err(StoreError::NotFound) => Ok((Some(org), None)),
        Err(e) => Err(e.into()),
    }
}

/// The org a person typed (its slug, any case), whatever its status; `None` when there is none.
async fn org_by_slug(ctx: &Context, typed: &str) -> Result<Option<Org>, PersonError> {
    let Ok(slug) = Slug::parse(&typed.trim().to_ascii_lowercase()) else { return Ok(None) };
    match Orgs::new(ctx.store.conn(), &Tenant::Operator).by_slug(&slug).await {
        Ok(org) => Ok(Some(org)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The person holding the session cookie `cookie`: `NoSession` for an unknown, expired or
/// malformed cookie, a disabled person or a suspended org.
pub async fn session(ctx: &Context, cookie: &str) -> Result<Person, PersonError> {
    let cookie = PlainSecret::parse_as(cookie, Kind::Session).map_err(|_| PersonError::NoSession)?;
    let now = ctx.clock.now();
    let session = match LoginSessions::new(ctx.store.conn()).find(&cookie.hash(&ctx.pepper), now).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return Err(PersonError::NoSession),
        Err(e) => return Err(e.into()),
    };
    let (user, org) = active_person(ctx, &session.user_id).await.map_err(|e| match e {
        PersonError::InvalidCredentials => PersonError::NoSession,
        e => e,
    })?;
    Ok(Person { session: session.id, user, org })
}

/// Ends the session of `cookie`, if there is one.
pub async fn log_out(ctx: &Context, cookie: &str, origin: &Origin) -> Result<(), PersonError> {
    let Ok(person) = session(ctx, cookie).await else { return Ok(()) };
    LoginSessions::new(ctx.store.conn()).delete(&person.session).await?;
    ctx.audit.record(origin.stamp(AuditEvent::new(
        Actor::User(person.user.id.clone()),
        Some(person.org.id.clone()),
        "user.logged_out",
        Some(person.session.to_string()),
    )));
    Ok(())
}

/// Changes a logged-in person's password, given the current one (limited like a login); every
/// other session of theirs ends.
pub async fn change_password(
    ctx: &Context,
    person: &Person,
    current: &str,
    new: &str,
    origin: &Origin,
) -> Result<(), PersonError> {
    let limits = Limits::new(ctx, origin, person.org.slug.as_str(), person.user.email.as_str());
    limits.check(0).await?;
    if !password::verify(&ctx.pepper, current, person.user.password_hash.as_deref()).await {
        limits.check(1).await?;
        return Err(PersonError::InvalidCredentials);
    }
    let new = new_password(new, &person.user)?;
    let hash = password::hash(&ctx.pepper, &new).await.ok_or(PersonError::Unavailable)?;
    let now = ctx.clock.now();
    let txn = ctx.store.begin().await?;
    Users::new(&txn, &Tenant::Operator).set_password(&person.user.id, Some(&hash), now).await?;
    LoginSessions::new(&txn).delete_of_user(&person.user.id, Some(&person.session)).await?;
    Invitations::new(&txn).delete_of_user(&person.user.id).await?;
    let event = origin.stamp(AuditEvent::new(
        Actor::User(person.user.id.clone()),
        Some(person.org.id.clone()),
        "user.password_changed",
        Some(person.user.id.to_string()),
    ));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// A new password checked against the rules, and against the person's own email.
fn new_password(new: &str, user: &User) -> Result<Password, PersonError> {
    let new = Password::parse(new).map_err(|e| PersonError::BadPassword(e.to_string()))?;
    if new.expose().trim().eq_ignore_ascii_case(user.email.as_str()) {
        return Err(PersonError::BadPassword("password: must not be your email address".into()));
    }
    Ok(new)
}

/// A user who may use Writ's pages now, with their org: `InvalidCredentials` otherwise.
async fn active_person(ctx: &Context, id: &UserId) -> Result<(User, Org), PersonError> {
    let conn = ctx.store.conn();
    let user = Users::new(conn, &Tenant::Operator).get(id).await?;
    let org = Orgs::new(conn, &Tenant::Operator).get(&user.org_id).await?;
    if user.status != Status::Active || org.status != OrgStatus::Active {
        return Err(PersonError::InvalidCredentials);
    }
    Ok((user, org))
}

/// Stores a new session for `user`; the cookie and the session's id.
async fn start_session(
    ctx: &Context,
    txn: &writ_store::DatabaseTransaction,
    user: &User,
    now: OffsetDateTime,
) -> Result<(PlainSecret, SessionId), PersonError> {
    let cookie = PlainSecret::generate_as(Kind::Session).map_err(|_| PersonError::Unavailable)?;
    let session = LoginSession {
        id: SessionId::generate(),
        user_id: user.id.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(i64::from(ctx.settings.session_ttl_seconds)),
    };
    LoginSessions::new(txn).create(&session, &cookie.hash(&ctx.pepper)).await?;
    Ok((cookie, session.id))
}

/// The failed-login limits of one attempt: its address's rate and its account's lockout. The
/// account is named by a keyed hash of its org and email, so the limits store never holds an
/// address, and an account that does not exist is limited exactly like one that does.
struct Limits<'a> {
    ctx: &'a Context,
    origin: &'a Origin,
    account: String,
}

impl<'a> Limits<'a> {
    fn new(ctx: &'a Context, origin: &'a Origin, org: &str, email: &str) -> Self {
        let name = format!("{}\n{}", org.trim().to_lowercase(), email.trim().to_lowercase());
        let hash = ctx.pepper.keyed_hash(name.as_bytes());
        let account = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
        Self { ctx, origin, account }
    }

    /// Counts `cost` failures (0: only looks) against the address, then the account; refused when
    /// either is over.
    async fn check(&self, cost: u32) -> Result<(), PersonError> {
        let settings = &self.ctx.settings;
        let per_minute = settings.login_failures_per_address_per_minute;
        address_limit(self.ctx, self.origin, "login", per_minute, cost).await?;
        let limit = settings.login_failures_per_account;
        if limit > 0 {
            let check = Check {
                key: format!("login:{}", self.account),
                limit: Limit::Quota { limit, window_ms: LOCKOUT_WINDOW_MS },
                cost,
                enforced: true,
            };
            refused(&self.ctx.throttle(&format!("person:{}", self.account), &[check]).await)?;
        }
        Ok(())
    }
}

/// Counts `cost` failures of kind `what` (0: only looks) against the request's address, at most
/// `per_minute` (0: no limit); refused when over.
pub(crate) async fn address_limit(
    ctx: &Context,
    origin: &Origin,
    what: &str,
    per_minute: u32,
    cost: u32,
) -> Result<(), PersonError> {
    let Some(ip) = origin.ip.filter(|_| per_minute > 0) else { return Ok(()) };
    let check = Check::rate(format!("{what}:{ip}"), Rate::per_minute(per_minute, per_minute), cost);
    refused(&ctx.throttle(&format!("addr:{ip}"), &[check]).await)
}

fn refused(decisions: &[writ_guard_store::Decision]) -> Result<(), PersonError> {
    match decisions.first() {
        Some(d) if !d.allowed => {
            let retry_after = u64::try_from(d.retry_after_ms.max(1000) / 1000).unwrap_or(1);
            Err(PersonError::TooManyAttempts { retry_after })
        }
        _ => Ok(()),
    }
}
