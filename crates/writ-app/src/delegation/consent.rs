//! The person's decision on an authorization request: what the client would receive (the
//! client's grants ∩ the org's entitlements ∩ the person's grants, `writ_core::grant::delegated`),
//! whether they already consented to it (remembered per person, client, resource and scopes), and
//! their answer — a one-minute authorization code, or `access_denied`.

use time::Duration;
use writ_core::secret::{Kind, PlainSecret};
use writ_core::{Actor, AuditEvent, Client, ConsentId, Grant, GrantError, Grants, RequestId, ScopeDef};
use writ_store::{AuthorizationRequests, Consent, Consents, Resources, StoreError, StoredRequest, Tenant};

use super::authorize::{AuthorizationParams, AuthorizeError, Redirect};
use crate::context::Context;
use crate::origin::Origin;
use crate::people::Person;

/// How long an authorization code lives (RFC 6749 §4.1.2: at most 10 minutes; a minute is plenty).
pub const CODE_TTL: Duration = Duration::seconds(60);

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct Review {
    pub request: RequestId,
    pub client_name: String,
    /// The host of a client known by its metadata document (docs/mcp.md): its name is only its
    /// own claim, the host is where it is published.
    pub client_host: Option<String>,
    /// The client introduced itself (a metadata document, or a registration of its own): its
    /// name is its own claim.
    pub introduced: bool,
    /// A device authorization: the answer goes to the device that polls, not to a redirect URI.
    pub device: bool,
    /// Where the answer goes, and its host.
    pub redirect_uri: String,
    pub redirect_host: String,
    /// Every redirect URI of the client is on the person's own machine (a local app).
    pub local_app: bool,
    /// Each resource with the scopes asked for, and their descriptions.
    pub resources: Vec<(String, Vec<ScopeDef>)>,
    /// The person already consented to all of it: no question needed.
    pub remembered: bool,
}

/// A request, its client and what the person would grant, or where the request ends.
struct Decided {
    stored: StoredRequest,
    params: AuthorizationParams,
    client: Client,
    grant: Grant,
}

async fn decide(ctx: &Context, person: &Person, id: &RequestId) -> Result<Decided, AuthorizeError> {
    let stored = match AuthorizationRequests::new(ctx.store.conn()).pending(id, ctx.clock.now()).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(AuthorizeError::Expired),
        Err(e) => return Err(e.into()),
    };
    let params: AuthorizationParams =
        serde_json::from_value(stored.params.clone()).map_err(|_| AuthorizeError::Unavailable)?;
    // A device has no redirect URI: the person reads the error on the page, and the device, which
    // polls, is told `access_denied`.
    let device = params.is_device();
    let back = |code: &'static str, description: &str| match device {
        true => AuthorizeError::Page(description.to_owned()),
        false => AuthorizeError::Redirect(Redirect::error(
            &ctx.issuer,
            &params.redirect_uri,
            params.state.as_deref(),
            code,
            description,
        )),
    };
    let loaded = ctx.client_credentials(&stored.client_id).await?;
    let Some(loaded) = loaded else { return Err(AuthorizeError::Expired) };
    let client = loaded.client.clone();
    let decided = writ_core::grant::delegated(&client, &person.org, &person.user, &params.token_request());
    if decided.is_err() && device {
        AuthorizationRequests::new(ctx.store.conn()).deny_device(&stored.id).await?;
    }
    let grant = decided.map_err(|e| match e {
        GrantError::Inactive(why) => {
            tracing::info!(reason = why, "refused a delegation");
            back("access_denied", "this application may not act for you")
        }
        GrantError::NothingGranted => {
            back("access_denied", "there is nothing this application may do for you")
        }
        GrantError::InvalidScope(d) => back("invalid_scope", &d),
        GrantError::InvalidTarget(d) => back("invalid_target", &d),
    })?;
    Ok(Decided { stored, params, client, grant })
}

/// What the consent page asks the person about request `id`.
pub async fn review(ctx: &Context, person: &Person, id: &RequestId) -> Result<Review, AuthorizeError> {
    let d = decide(ctx, person, id).await?;
    let consent =
        Consents::new(ctx.store.conn(), &Tenant::Operator).of(&person.user.id, &d.client.id).await?;
    let asked = asked(&d.grant);
    let remembered = consent.is_some_and(|c| asked.excess_over(&c.grants).is_none());
    let page = writ_store::Page { limit: 100, after: None };
    let known = Resources::new(ctx.store.conn()).list(&page, Some(&d.grant.audiences)).await?.items;
    let mut resources = Vec::new();
    for aud in &d.grant.audiences {
        let defs = known.iter().find(|r| &r.identifier == aud).map(|r| r.scopes.clone()).unwrap_or_default();
        let scopes = d
            .grant
            .scope
            .iter()
            .map(|s| {
                defs.iter()
                    .find(|def| &def.name == s)
                    .cloned()
                    .unwrap_or(ScopeDef { name: s.clone(), description: String::new() })
            })
            .collect();
        resources.push((aud.to_string(), scopes));
    }
    let uris = &d.client.delegation.redirect_uris;
    let redirect = writ_core::delegation::RedirectUri::parse(&d.params.redirect_uri).ok();
    Ok(Review {
        request: d.stored.id,
        client_name: d.client.name.to_string(),
        client_host: d.client.delegation.metadata_url.as_ref().map(|u| u.host().to_owned()),
        introduced: d.client.delegation.introduced(),
        redirect_host: redirect.as_ref().map_or_else(String::new, writ_core::delegation::RedirectUri::host),
        redirect_uri: d.params.redirect_uri.clone(),
        device: d.params.is_device(),
        local_app: !uris.is_empty() && uris.iter().all(writ_core::delegation::RedirectUri::is_loopback),
        resources,
        remembered,
    })
}

/// The grants a decision asks for: its scope on each of its audiences.
fn asked(grant: &Grant) -> Grants {
    grant.audiences.iter().map(|a| (a.clone(), grant.scope.clone())).collect()
}

/// The person's consent to `client`, made or extended to cover what `grant` holds and saved when
/// it did not cover it yet (then `consent.granted`, by `actor`, is recorded in `txn` too); its id.
pub(crate) async fn extend(
    txn: &writ_store::DatabaseTransaction,
    person: (&writ_core::UserId, &writ_core::OrgId),
    client: &writ_core::ClientId,
    grant: &Grant,
    event: impl FnOnce(&str) -> AuditEvent,
    now: time::OffsetDateTime,
) -> Result<ConsentId, StoreError> {
    let (user, org) = person;
    let consents = Consents::new(txn, &Tenant::Operator);
    let asked = asked(grant);
    let consent = match consents.of(user, client).await? {
        Some(c) if asked.excess_over(&c.grants).is_none() => return Ok(c.id),
        Some(c) => {
            let mut grants = c.grants.clone();
            for (resource, scopes) in asked.iter() {
                grants.add(resource.clone(), scopes.clone());
            }
            Consent { grants, updated_at: now, ..c }
        }
        None => Consent {
            id: ConsentId::generate(),
            user_id: user.clone(),
            client_id: client.clone(),
            org_id: org.clone(),
            grants: asked,
            created_at: now,
            updated_at: now,
        },
    };
    consents.save(&consent).await?;
    let event = event(consent.id.as_str())
        .with_details(serde_json::json!({ "client_id": client.as_str(), "grants": consent.grants }));
    writ_store::Audit::new(txn).record(&event).await?;
    Ok(consent.id)
}

/// Where the person's answer leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Back to the client, with a code or an error.
    Redirect(String),
    /// A device authorization: the person goes back to their device, which learns the answer
    /// when it polls.
    Device,
}

/// The person allows request `id`: their consent is remembered (extended by what this request
/// asks), and the client gets a one-minute code — or, for a device, its next poll gets tokens.
pub async fn approve(
    ctx: &Context,
    person: &Person,
    id: &RequestId,
    origin: &Origin,
) -> Result<Answered, AuthorizeError> {
    let d = decide(ctx, person, id).await?;
    let now = ctx.clock.now();
    let code = PlainSecret::generate_as(Kind::AuthorizationCode).map_err(|_| AuthorizeError::Unavailable)?;
    let txn = ctx.store.begin().await?;
    let event = |id: &str| {
        let actor = Actor::User(person.user.id.clone());
        origin.stamp(AuditEvent::new(
            actor,
            Some(person.org.id.clone()),
            "consent.granted",
            Some(id.to_owned()),
        ))
    };
    extend(&txn, (&person.user.id, &person.org.id), &d.client.id, &d.grant, event, now).await?;
    let requests = AuthorizationRequests::new(&txn);
    let answered = match d.params.is_device() {
        true => requests.approve_device(&d.stored.id, &person.user.id).await,
        false => {
            requests.set_code(&d.stored.id, &person.user.id, &code.hash(&ctx.pepper), now + CODE_TTL).await
        }
    };
    match answered {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(AuthorizeError::Expired),
        Err(e) => return Err(e.into()),
    }
    txn.commit().await.map_err(StoreError::from)?;
    if d.params.is_device() {
        return Ok(Answered::Device);
    }
    let mut params = vec![("code", code.expose().to_owned())];
    params.extend(d.params.state.clone().map(|s| ("state", s)));
    params.push(("iss", ctx.issuer.clone()));
    Ok(Answered::Redirect(Redirect { redirect_uri: d.params.redirect_uri, params }.url()))
}

/// The person refuses request `id`: it ends, and the client hears `access_denied` (a device, when
/// it polls).
pub async fn deny(ctx: &Context, person: &Person, id: &RequestId) -> Result<Answered, AuthorizeError> {
    let d = decide(ctx, person, id).await?;
    let requests = AuthorizationRequests::new(ctx.store.conn());
    if d.params.is_device() {
        requests.deny_device(&d.stored.id).await?;
        return Ok(Answered::Device);
    }
    requests.delete(&d.stored.id).await?;
    let denied = Redirect::error(
        &ctx.issuer,
        &d.params.redirect_uri,
        d.params.state.as_deref(),
        "access_denied",
        "the person declined",
    );
    Ok(Answered::Redirect(denied.url()))
}
