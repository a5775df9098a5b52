//! Machine clients and their secrets: create, list, read, update, delete; add, list and delete
//! secrets. Each write runs in one transaction with its audit event, and tells every instance's
//! client cache once it is committed.

use serde::Deserialize;
use writ_core::delegation::RedirectUri;
use writ_core::secret::PlainSecret;
use writ_core::{
    AuthMethod, AuthMethods, Client, ClientId, ClientKind, ClientSecret, ClientType, Delegation, GrantKind,
    GrantKinds, Grants, KeySource, MAX_ACTIVE_SECRETS, MAX_REDIRECT_URIS, Metadata, Name, Org, OrgId,
    RateLimits, RefreshLifetimes, SecretId, Status, TokenTtl, User, UserId,
};
use writ_guard_store::Watermark;
use writ_store::{Audit, Clients, Orgs, Page, Paged, StoreError, Tenant, Users};

use crate::caller::Caller;
use crate::changes::Change;
use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::secrets::new_secret;

/// What kind of client to create: the request's word for [`ClientKind`], whose data (org, user)
/// comes from other fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    Org,
    User,
    Service,
}

/// A client to create.
#[derive(Debug)]
pub struct NewClient {
    pub name: Name,
    pub kind: KindName,
    /// The client's org; a tenant admin's own org when left out.
    pub org_id: Option<OrgId>,
    pub user_id: Option<UserId>,
    pub grants: Grants,
    pub token_ttl: TokenTtl,
    pub metadata: Metadata,
    /// Operator only.
    pub rate_limits: Option<RateLimits>,
    /// Default: `none` for a public client, `private_key_jwt` when `keys` are given, else the
    /// secret methods.
    pub auth_methods: Option<AuthMethods>,
    pub keys: Option<KeySource>,
    /// What it may do for people; every field defaults.
    pub delegation: DelegationChanges,
    /// For a client that registers itself (`crate::delegation::registration`).
    pub registration: Option<writ_core::Registration>,
}

/// A client's delegation settings to set; `None` leaves (or defaults) a field.
#[derive(Debug, Default)]
pub struct DelegationChanges {
    pub client_type: Option<ClientType>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub grant_types: Option<GrantKinds>,
    pub require_par: Option<bool>,
    pub refresh_idle: Option<u32>,
    pub refresh_absolute: Option<u32>,
}

impl DelegationChanges {
    /// Applies the changes to `d`; the names of the fields that changed.
    fn apply(self, d: &mut Delegation) -> Result<Vec<&'static str>, AppError> {
        let mut changed = Vec::new();
        if let Some(t) = self.client_type.filter(|t| *t != d.client_type) {
            d.client_type = t;
            changed.push("client_type");
        }
        if let Some(uris) = self.redirect_uris.filter(|u| *u != d.redirect_uris) {
            d.redirect_uris = uris;
            changed.push("redirect_uris");
        }
        if let Some(g) = self.grant_types.filter(|g| *g != d.grant_types) {
            d.grant_types = g;
            changed.push("grant_types");
        }
        if let Some(p) = self.require_par.filter(|p| *p != d.require_par) {
            d.require_par = p;
            changed.push("require_par");
        }
        if self.refresh_idle.is_some() || self.refresh_absolute.is_some() {
            let idle = self.refresh_idle.unwrap_or(d.refresh.idle);
            let refresh =
                RefreshLifetimes::new(idle, self.refresh_absolute.unwrap_or(d.refresh.absolute.max(idle)))?;
            if refresh != d.refresh {
                d.refresh = refresh;
                changed.push("refresh_token_lifetimes");
            }
        }
        Ok(changed)
    }
}

/// A client's delegation settings hold together (docs/delegation.md): a public client uses
/// `none` and only the delegated grants; only public clients use `none`; the authorization-code
/// grant needs redirect URIs; a refresh token needs a grant that gives one; a `user` client acts
/// for its user alone, so it delegates nothing.
fn check_delegation(kind: &ClientKind, methods: AuthMethods, d: &Delegation) -> Result<(), AppError> {
    let invalid = |field: &str, why: &str| Err(AppError::validation(field, why));
    let public = d.client_type == ClientType::Public;
    if public && methods != AuthMethods::NONE {
        return invalid("token_endpoint_auth_methods", "a public client authenticates with `none` only");
    }
    if !public && methods.allows(AuthMethod::None) {
        return invalid("token_endpoint_auth_methods", "`none` is for public clients (client_type: public)");
    }
    if public && d.grant_types.iter().any(|g| !g.is_delegated()) {
        return invalid(
            "grant_types",
            "a public client may use only authorization_code, refresh_token and device_code",
        );
    }
    if d.grant_types.delegates() && matches!(kind, ClientKind::User { .. }) {
        return invalid(
            "grant_types",
            "a user client acts for its user alone: use an org or service client for people",
        );
    }
    let code = d.grant_types.allows(GrantKind::AuthorizationCode);
    if code && d.redirect_uris.is_empty() {
        return invalid("redirect_uris", "the authorization_code grant needs at least one redirect URI");
    }
    if d.grant_types.allows(GrantKind::RefreshToken) && !code && !d.grant_types.allows(GrantKind::DeviceCode)
    {
        return invalid(
            "grant_types",
            "refresh_token needs authorization_code or device_code, which give the first one",
        );
    }
    if d.redirect_uris.len() > MAX_REDIRECT_URIS {
        return invalid("redirect_uris", &format!("at most {MAX_REDIRECT_URIS}"));
    }
    Ok(())
}

/// A new client and its first secret (none for a client that does not use secrets), whose
/// plaintext exists only here.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: Client,
    pub secret: Option<(ClientSecret, PlainSecret)>,
}

/// Changes to a client; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ClientChanges {
    pub name: Option<Name>,
    pub status: Option<Status>,
    pub token_ttl: Option<TokenTtl>,
    pub metadata: Option<Metadata>,
    /// Operator only.
    pub rate_limits: Option<RateLimits>,
    pub grants: Option<Grants>,
    /// Leaving the secret methods deletes the client's secrets.
    pub auth_methods: Option<AuthMethods>,
    /// `Some(None)` removes the keys.
    pub keys: Option<Option<KeySource>>,
    pub delegation: DelegationChanges,
}

/// The operator is how the operator gets in: nobody locks it out through the API.
fn operator_protected() -> AppError {
    AppError::new(
        ErrorCode::OperatorProtected,
        "the operator's client keeps its grants, status, limits and a usable secret, and is never deleted: \
         add a secret and delete the old one to rotate; `writ bootstrap --new-secret` repairs it",
    )
}

/// Deny by default: `grants` must stay within the org's entitlements.
pub fn check_entitled(org: &Org, grants: &Grants) -> Result<(), AppError> {
    match grants.excess_over(&org.entitlements) {
        Some((resource, scopes)) => Err(AppError::validation(
            "grants",
            format!("org {} is not entitled to {scopes} on {resource}", org.slug),
        )),
        None => Ok(()),
    }
}

/// A user client's grants never exceed its user's.
pub fn check_within_user(user: &User, grants: &Grants) -> Result<(), AppError> {
    match grants.excess_over(&user.grants) {
        Some((resource, scopes)) => Err(AppError::validation(
            "grants",
            format!("user {} does not hold {scopes} on {resource}", user.email),
        )),
        None => Ok(()),
    }
}

/// Keys to register (a client's or a trusted issuer's): a JWKS of 1 to `max` public signing
/// keys, or a URL the fetcher may fetch.
pub(crate) fn check_keys(ctx: &Context, keys: &KeySource, max: usize) -> Result<(), AppError> {
    match keys {
        KeySource::Jwks(jwks) => {
            writ_token::PublicKeys::check_registered(jwks, max).map_err(|e| AppError::validation("jwks", e))
        }
        KeySource::JwksUri(url)
            if !ctx.fetcher.policy().allow_loopback && url.as_str().starts_with("http:") =>
        {
            Err(AppError::validation("jwks_uri", "must be an https URL"))
        }
        KeySource::JwksUri(_) => Ok(()),
    }
}

/// A client's way of authenticating holds together: its keys pass [`check_keys`] (at most
/// [`writ_core::MAX_CLIENT_KEYS`]), and `private_key_jwt` needs keys.
fn check_authentication(
    ctx: &Context,
    methods: AuthMethods,
    keys: Option<&KeySource>,
) -> Result<(), AppError> {
    if let Some(keys) = keys {
        check_keys(ctx, keys, writ_core::MAX_CLIENT_KEYS)?;
    }
    if methods.allows(AuthMethod::PrivateKeyJwt) && keys.is_none() {
        return Err(AppError::validation(
            "token_endpoint_auth_methods",
            "private_key_jwt needs keys: give `jwks` or `jwks_uri`",
        ));
    }
    Ok(())
}

/// The client's kind, from the request's words and the org and user they name. An org or user the
/// caller cannot see reads exactly like one that does not exist.
async fn resolve_kind(
    txn: &impl writ_store::ConnectionTrait,
    caller: &Caller,
    new: &NewClient,
) -> Result<(ClientKind, Option<Org>), AppError> {
    let unknown_org = || AppError::validation("org_id", "no such org");
    let org_id = match (&new.org_id, &caller.tenant) {
        (Some(id), _) => Some(id.clone()),
        (None, Tenant::Org(own)) if new.kind != KindName::Service => Some(own.clone()),
        (None, _) => None,
    };
    let org = match &org_id {
        Some(id) => Some(Orgs::new(txn, &caller.tenant).get(id).await.map_err(|e| match e {
            StoreError::NotFound => unknown_org(),
            e => e.into(),
        })?),
        None => None,
    };
    let kind = match (new.kind, &org, &new.user_id) {
        (KindName::Service, None, None) => {
            caller.require_operator()?;
            ClientKind::Service
        }
        (KindName::Service, _, _) => {
            return Err(AppError::validation("kind", "service clients belong to no org or user"));
        }
        (KindName::Org, Some(org), None) => ClientKind::Org { org_id: org.id.clone() },
        (KindName::User, Some(org), Some(user_id)) => {
            let unknown_user = || AppError::validation("user_id", "no such user in this org");
            let user = Users::new(txn, &caller.tenant).get(user_id).await.map_err(|e| match e {
                StoreError::NotFound => unknown_user(),
                e => e.into(),
            })?;
            if user.org_id != org.id {
                return Err(unknown_user());
            }
            check_within_user(&user, &new.grants)?;
            ClientKind::User { org_id: org.id.clone(), user_id: user_id.clone() }
        }
        (KindName::Org | KindName::User, None, _) => {
            return Err(AppError::validation("org_id", "required for this kind"));
        }
        (KindName::Org, Some(_), Some(_)) => {
            return Err(AppError::validation("user_id", "only user clients have a user"));
        }
        (KindName::User, Some(_), None) => {
            return Err(AppError::validation("user_id", "required for user clients"));
        }
    };
    Ok((kind, org))
}

/// Creates a client and its first secret. Grants stay within the org's entitlements (and a user
/// client's within its user's); tenant admins create clients of their own org only, and no
/// service clients.
pub async fn create(ctx: &Context, caller: &Caller, new: NewClient) -> Result<CreatedClient, AppError> {
    if new.rate_limits.is_some() {
        caller.require_operator()?;
    }
    crate::authority::ensure_holds(ctx, caller, &Grants::new(), &new.grants).await?;
    let txn = ctx.store.begin().await?;
    let (kind, org) = resolve_kind(&txn, caller, &new).await?;
    if let Some(org) = &org {
        check_entitled(org, &new.grants)?;
    }
    let public = new.delegation.client_type == Some(ClientType::Public);
    let auth_methods = new.auth_methods.unwrap_or(match (&new.keys, public) {
        (_, true) => AuthMethods::NONE,
        (Some(_), false) => AuthMethods::PRIVATE_KEY_JWT,
        (None, false) => AuthMethods::SECRETS,
    });
    check_authentication(ctx, auth_methods, new.keys.as_ref())?;
    let mut delegation = Delegation::default();
    if public && new.delegation.grant_types.is_none() {
        delegation.grant_types = GrantKinds::new([GrantKind::AuthorizationCode, GrantKind::RefreshToken])?;
    }
    new.delegation.apply(&mut delegation)?;
    delegation.registration = new.registration;
    check_delegation(&kind, auth_methods, &delegation)?;
    let now = ctx.clock.now();
    let client = Client {
        id: ClientId::generate(),
        kind,
        name: new.name,
        status: Status::Active,
        token_ttl: new.token_ttl,
        grants: new.grants,
        metadata: new.metadata,
        rate_limits: new.rate_limits.unwrap_or_default(),
        auth_methods,
        keys: new.keys,
        delegation,
        created_at: now,
        updated_at: now,
    };
    let secret = if auth_methods.uses_secrets() {
        let (plaintext, secret) =
            new_secret(&client.id, &ctx.pepper, now).map_err(|e| AppError::internal(&e))?;
        Some((secret, plaintext))
    } else {
        None
    };
    Clients::new(&txn, &caller.tenant).create(&client, secret.as_ref().map(|(s, _)| s)).await?;
    let event = caller
        .event(client.kind.org_id().cloned(), "client.created", Some(client.id.to_string()))
        .with_details(serde_json::json!({
            "kind": client.kind.name(),
            "name": client.name.as_str(),
            "secret_id": secret.as_ref().map(|(s, _)| s.id.as_str()),
            "rate_limits": client.rate_limits,
            "token_endpoint_auth_methods": client.auth_methods.to_string(),
            "keys": keys_summary(client.keys.as_ref()),
            "delegation": delegation_summary(&client.delegation),
        }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    // Clears a cached "no such client" for this id on every instance.
    ctx.publish(Change::Client(client.id.clone())).await;
    Ok(CreatedClient { client, secret })
}

/// What the audit log says about a client's delegation settings.
fn delegation_summary(d: &Delegation) -> serde_json::Value {
    serde_json::json!({
        "client_type": d.client_type.as_str(),
        "redirect_uris": d.redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
        "grant_types": d.grant_types.to_string(),
        "require_par": d.require_par,
        "refresh_token_idle_seconds": d.refresh.idle,
        "refresh_token_absolute_seconds": d.refresh.absolute,
    })
}

/// What the audit log says about keys: the kids of a registered set, or the URL.
pub(crate) fn keys_summary(keys: Option<&KeySource>) -> serde_json::Value {
    match keys {
        Some(KeySource::Jwks(jwks)) => serde_json::json!({
            "kids": jwks["keys"].as_array().map(|k| k.iter().map(|k| k["kid"].clone()).collect::<Vec<_>>()),
        }),
        Some(KeySource::JwksUri(url)) => serde_json::json!({ "jwks_uri": url.as_str() }),
        None => serde_json::Value::Null,
    }
}

/// A page of the clients the caller may see, of one org or all.
pub async fn list(
    ctx: &Context,
    caller: &Caller,
    page: &Page,
    org: Option<&OrgId>,
) -> Result<Paged<Client>, AppError> {
    Ok(Clients::new(ctx.store.conn(), &caller.tenant).list(page, org).await?)
}

pub async fn get(ctx: &Context, caller: &Caller, id: &ClientId) -> Result<Client, AppError> {
    Ok(Clients::new(ctx.store.conn(), &caller.tenant).get(id).await?)
}

/// Applies `changes` to a client, if `precondition` accepts the client as it is (an `If-Match`).
/// Disabling a client refuses its next token request on every instance.
pub async fn update(
    ctx: &Context,
    caller: &Caller,
    id: &ClientId,
    changes: ClientChanges,
    precondition: impl FnOnce(&Client) -> Result<(), AppError>,
) -> Result<Client, AppError> {
    if changes.rate_limits.is_some() {
        caller.require_operator()?;
    }
    let txn = ctx.store.begin().await?;
    let clients = Clients::new(&txn, &caller.tenant).for_update();
    let mut client = clients.get(id).await?;
    precondition(&client)?;
    let touches_access = changes.status.is_some_and(|s| s != client.status)
        || changes.grants.as_ref().is_some_and(|g| *g != client.grants)
        || changes.rate_limits.is_some_and(|l| l != client.rate_limits)
        || changes.auth_methods.is_some_and(|m| m != client.auth_methods)
        || changes.keys.is_some()
        || changes.delegation.grant_types.is_some()
        || changes.delegation.client_type.is_some();
    if touches_access && crate::operator::is_operator(&txn, id).await? {
        return Err(operator_protected());
    }
    // What the operator disabled, only the operator enables again.
    if let Some(status) = changes.status.filter(|s| *s != client.status) {
        let operator = caller.tenant == Tenant::Operator;
        if !operator && status == Status::Active && clients.disabled_by_operator(id).await? {
            return Err(AppError::forbidden(
                "the operator disabled this client: only the operator enables it again",
            ));
        }
        clients.set_disabled_by_operator(id, operator && status == Status::Disabled).await?;
    }
    // Disabling a client, or taking grants away, ends the tokens it holds.
    let cuts = changes.status == Some(Status::Disabled)
        || changes.grants.as_ref().is_some_and(|g| client.grants.excess_over(g).is_some());
    let mut changed = Vec::new();
    if let Some(name) = changes.name {
        client.name = name;
        changed.push("name");
    }
    if let Some(status) = changes.status {
        client.status = status;
        changed.push("status");
    }
    if let Some(ttl) = changes.token_ttl {
        client.token_ttl = ttl;
        changed.push("token_ttl_seconds");
    }
    if let Some(metadata) = changes.metadata {
        client.metadata = metadata;
        changed.push("metadata");
    }
    if let Some(limits) = changes.rate_limits {
        client.rate_limits = limits;
        changed.push("rate_limits");
    }
    if let Some(grants) = changes.grants.filter(|g| *g != client.grants) {
        crate::authority::ensure_not_own(caller, id)?;
        crate::authority::ensure_holds(ctx, caller, &client.grants, &grants).await?;
        client.grants = grants;
        if let Some(org_id) = client.kind.org_id() {
            check_entitled(&Orgs::new(&txn, &caller.tenant).get(org_id).await?, &client.grants)?;
        }
        if let Some(user_id) = client.kind.user_id() {
            check_within_user(&Users::new(&txn, &caller.tenant).get(user_id).await?, &client.grants)?;
        }
        changed.push("grants");
    }
    let had_secrets = client.auth_methods.uses_secrets();
    if let Some(methods) = changes.auth_methods.filter(|m| *m != client.auth_methods) {
        client.auth_methods = methods;
        changed.push("token_endpoint_auth_methods");
    }
    if let Some(keys) = changes.keys {
        client.keys = keys;
        changed.push("keys");
    }
    check_authentication(ctx, client.auth_methods, client.keys.as_ref())?;
    changed.extend(changes.delegation.apply(&mut client.delegation)?);
    check_delegation(&client.kind, client.auth_methods, &client.delegation)?;
    // A client that may no longer use secrets has none.
    let secrets_deleted = if had_secrets && !client.auth_methods.uses_secrets() {
        clients.delete_secrets(id).await?
    } else {
        Vec::new()
    };
    client.updated_at = ctx.clock.now();
    clients.update(&client).await?;
    let event = caller
        .event(client.kind.org_id().cloned(), "client.updated", Some(id.to_string()))
        .with_details(serde_json::json!({
            "changed": changed,
            "status": client.status.as_str(),
            "rate_limits": client.rate_limits,
            "token_endpoint_auth_methods": client.auth_methods.to_string(),
            "keys": keys_summary(client.keys.as_ref()),
            "delegation": delegation_summary(&client.delegation),
            "secrets_deleted": secrets_deleted,
        }));
    Audit::new(&txn).record(&event).await?;
    let watermarks: &[Watermark<'_>] = if cuts { &[Watermark::Client(id.as_str())] } else { &[] };
    crate::revocations::cutting(ctx, watermarks, Change::Client(id.clone()), txn).await?;
    Ok(client)
}

/// Deletes a client with its secrets, after revoking every token it holds (if the revocation state
/// cannot take that, nothing is deleted). The operator's own client is never deleted.
pub async fn delete(ctx: &Context, caller: &Caller, id: &ClientId) -> Result<(), AppError> {
    let txn = ctx.store.begin().await?;
    let clients = Clients::new(&txn, &caller.tenant).for_update();
    let client = clients.get(id).await?;
    if crate::operator::is_operator(&txn, id).await? {
        return Err(operator_protected());
    }
    clients.delete(id).await?;
    let event = caller
        .event(client.kind.org_id().cloned(), "client.deleted", Some(id.to_string()))
        .with_details(serde_json::json!({ "kind": client.kind.name(), "name": client.name.as_str() }));
    Audit::new(&txn).record(&event).await?;
    crate::revocations::cutting(ctx, &[Watermark::Client(id.as_str())], Change::Client(id.clone()), txn).await
}

/// A new secret for a client, valid until `expires_at` (or until deleted). A client holds at most
/// [`MAX_ACTIVE_SECRETS`] usable secrets, enough to rotate without downtime.
pub async fn add_secret(
    ctx: &Context,
    caller: &Caller,
    client_id: &ClientId,
    expires_at: Option<time::OffsetDateTime>,
) -> Result<(ClientSecret, PlainSecret), AppError> {
    let txn = ctx.store.begin().await?;
    let clients = Clients::new(&txn, &caller.tenant);
    let client = clients.get(client_id).await?;
    if !client.auth_methods.uses_secrets() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "this client does not authenticate with secrets: add client_secret_basic or \
             client_secret_post to its token_endpoint_auth_methods first",
        ));
    }
    let now = ctx.clock.now();
    let usable = clients.secrets(client_id).await?.iter().filter(|s| s.is_usable(now)).count();
    if usable >= MAX_ACTIVE_SECRETS {
        return Err(AppError::new(
            ErrorCode::TooManySecrets,
            format!("a client holds at most {MAX_ACTIVE_SECRETS} usable secrets: delete one first"),
        ));
    }
    let (plain, mut secret) = new_secret(client_id, &ctx.pepper, now).map_err(|e| AppError::internal(&e))?;
    secret.expires_at = expires_at;
    // Expired secrets go when a new one comes, so they never pile up (nor fill the cache).
    let purged = clients.purge_expired_secrets(client_id, now).await?;
    clients.add_secret(&secret).await?;
    let event = caller
        .event(client.kind.org_id().cloned(), "client.secret_created", Some(client_id.to_string()))
        .with_details(
            serde_json::json!({ "secret_id": secret.id.as_str(), "expired_secrets_deleted": purged }),
        );
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Client(client_id.clone())).await;
    Ok((secret, plain))
}

/// A client's secrets, oldest first (hashes are never shown).
pub async fn secrets(
    ctx: &Context,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<Vec<ClientSecret>, AppError> {
    Ok(Clients::new(ctx.store.conn(), &caller.tenant).secrets(client_id).await?)
}

/// Deletes a secret: the client can no longer authenticate with it, on every instance.
pub async fn delete_secret(
    ctx: &Context,
    caller: &Caller,
    client_id: &ClientId,
    secret_id: &SecretId,
) -> Result<(), AppError> {
    let txn = ctx.store.begin().await?;
    let clients = Clients::new(&txn, &caller.tenant);
    let client = clients.get(client_id).await?;
    if crate::operator::is_operator(&txn, client_id).await? {
        let now = ctx.clock.now();
        let others = clients
            .secrets(client_id)
            .await?
            .iter()
            .filter(|s| &s.id != secret_id && s.is_usable(now))
            .count();
        if others == 0 {
            return Err(operator_protected());
        }
    }
    clients.delete_secret(client_id, secret_id).await?;
    let event = caller
        .event(client.kind.org_id().cloned(), "client.secret_deleted", Some(client_id.to_string()))
        .with_details(serde_json::json!({ "secret_id": secret_id.as_str() }));
    Audit::new(&txn).record(&event).await?;
    txn.commit().await.map_err(StoreError::from)?;
    ctx.publish(Change::Client(client_id.clone())).await;
    Ok(())
}
