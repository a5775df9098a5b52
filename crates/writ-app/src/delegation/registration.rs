//! Dynamic client registration (RFC 7591) and its management (RFC 7592), at `/oauth/register`
//! (docs/mcp.md). Off unless the deployment's `registration` says `open` (anyone may register)
//! or `token` (an initial access token: an admin token with `admin:clients:write`, which
//! registers the client within its own tenant and what it holds). A registered client:
//!
//! - acts for people only: authorization code (and refresh), with the redirect URIs it names,
//!   checked by its `application_type` (required): `native` takes loopback and private-use
//!   redirect URIs, `web` takes `https` ones off loopback;
//! - may use the scopes `registration_scopes` allows (unset: any scope a resource defines; a
//!   tenant's registrations, within its org's entitlements), on the resources that define them;
//!   the `scope` it names must be among them; registered openly it belongs to no org, and each
//!   org's `url_clients` policy says whether its people may use it;
//! - ends after `registration_lifetime_days` (0: never);
//! - is managed with the registration access token it gets once (`writ_reg_…`, kept as a keyed
//!   hash): read, changed (its name and redirect URIs) or deleted.
//!
//! Registrations per address are limited (`registrations_per_address_per_hour`), and each one is
//! audited (`client.created`, with the caller's address).

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use writ_core::delegation::RedirectUri;
use writ_core::secret::{Kind, PlainSecret};
use writ_core::{
    Actor, AuthMethod, AuthMethods, Client, ClientId, ClientType, GrantKind, GrantKinds, Grants, KeySource,
    Name, Registration, ScopeSet,
};
use writ_store::{Orgs, Resources, Tenant};

use crate::caller::Caller;
use crate::clients::{ClientChanges, DelegationChanges, KindName, NewClient};
use crate::context::Context;
use crate::error::AppError;
use crate::origin::Origin;

/// Who may register clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Nobody: `/oauth/register` is not there.
    #[default]
    Off,
    /// Anyone.
    Open,
    /// Whoever holds an initial access token: an admin token with `admin:clients:write`.
    Token,
}

impl RegistrationMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Self::Off),
            "open" => Ok(Self::Open),
            "token" => Ok(Self::Token),
            _ => Err("must be off, open or token".into()),
        }
    }
}

/// Why a registration request was refused (RFC 7591 §3.2.2, RFC 7592 §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// Registration is off (`404`).
    #[error("dynamic client registration is off")]
    Off,
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// The initial access token or the registration access token is missing or wrong (`401`).
    #[error("{0}")]
    InvalidToken(String),
    /// Too many registrations from this address (`429`).
    #[error("too many registrations from this address: retry later")]
    TooMany { retry_after: u64 },
    #[error("the registration could not be stored")]
    Unavailable,
}

impl RegistrationError {
    /// The RFC 7591 error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Off => "not_found",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
            Self::InvalidToken(_) => "invalid_token",
            Self::TooMany { .. } => "too_many_requests",
            Self::Unavailable => "server_error",
        }
    }
}

impl From<AppError> for RegistrationError {
    fn from(e: AppError) -> Self {
        let detail = match &e.field {
            Some(field) => format!("{field}: {}", e.detail),
            None => e.detail.clone(),
        };
        match (e.field.as_deref(), e.code.status()) {
            (Some("redirect_uris"), _) => Self::InvalidRedirectUri(detail),
            (_, 400..500) => Self::InvalidClientMetadata(detail),
            _ => {
                tracing::error!(error = %e, "a client registration failed");
                Self::Unavailable
            }
        }
    }
}

/// A registration request (RFC 7591 §2); fields Writ does not use are ignored, as §2 says.
#[derive(Debug, Deserialize)]
pub struct Request {
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub scope: Option<String>,
    pub application_type: Option<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
}

/// A new registration: the client, its secret (for a confidential client with a secret method)
/// and its registration access token, both shown this once.
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<PlainSecret>,
    pub registration_token: PlainSecret,
    pub application_type: &'static str,
}

/// Registers a client (`POST /oauth/register`). `initial` is the request's bearer token (the
/// `token` mode's initial access token, already verified into a caller).
pub async fn register(
    ctx: &Context,
    initial: Option<Caller>,
    request: Request,
    origin: &Origin,
) -> Result<Registered, RegistrationError> {
    let caller = match (ctx.settings.registration, initial) {
        (RegistrationMode::Off, _) => return Err(RegistrationError::Off),
        (RegistrationMode::Open, _) => registrar(origin),
        (RegistrationMode::Token, Some(caller)) => caller,
        (RegistrationMode::Token, None) => {
            return Err(RegistrationError::InvalidToken("an initial access token is required".into()));
        }
    };
    limit(ctx, origin).await?;
    let metadata = Metadata::parse(ctx, &caller, &request).await?;
    let registration_token =
        PlainSecret::generate_as(Kind::RegistrationToken).map_err(|_| RegistrationError::Unavailable)?;
    let lifetime = ctx.settings.registration_lifetime_days;
    let registration = Registration {
        token_hash: registration_token.hash(&ctx.pepper),
        expires_at: (lifetime > 0).then(|| ctx.clock.now() + time::Duration::days(i64::from(lifetime))),
    };
    let kind = match caller.tenant {
        Tenant::Operator => KindName::Service,
        Tenant::Org(_) => KindName::Org,
    };
    let new = NewClient {
        name: metadata.name,
        kind,
        org_id: None,
        user_id: None,
        grants: metadata.grants,
        token_ttl: Default::default(),
        metadata: Default::default(),
        rate_limits: None,
        auth_methods: Some(metadata.auth_methods),
        keys: metadata.keys,
        delegation: DelegationChanges {
            client_type: Some(metadata.client_type),
            redirect_uris: Some(metadata.redirect_uris),
            grant_types: Some(metadata.grant_types),
            ..Default::default()
        },
        registration: Some(registration),
    };
    let created = crate::clients::create(ctx, &caller, new).await?;
    Ok(Registered {
        client: created.client,
        secret: created.secret.map(|(_, plain)| plain),
        registration_token,
        application_type: metadata.application_type,
    })
}

/// The caller an open registration acts as: Writ itself, on behalf of the address it came from
/// (its audit events say so).
fn registrar(origin: &Origin) -> Caller {
    Caller {
        actor: Actor::System,
        tenant: Tenant::Operator,
        scopes: ScopeSet::default(),
        origin: origin.clone(),
    }
}

async fn limit(ctx: &Context, origin: &Origin) -> Result<(), RegistrationError> {
    let per_hour = ctx.settings.registrations_per_address_per_hour;
    let Some(ip) = origin.ip.filter(|_| per_hour > 0) else { return Ok(()) };
    let rate = writ_guard_store::Rate { per_period: per_hour, period_ms: 3_600_000, burst: per_hour };
    let check = writ_guard_store::Check::rate(format!("register:{ip}"), rate, 1);
    match ctx.throttle(&format!("addr:{ip}"), &[check]).await.first() {
        Some(d) if !d.allowed => Err(RegistrationError::TooMany {
            retry_after: u64::try_from(d.retry_after_ms.max(1000) / 1000).unwrap_or(1),
        }),
        _ => Ok(()),
    }
}

/// What a registration request asks for, checked.
struct Metadata {
    name: Name,
    application_type: &'static str,
    client_type: ClientType,
    auth_methods: AuthMethods,
    keys: Option<KeySource>,
    redirect_uris: Vec<RedirectUri>,
    grant_types: GrantKinds,
    grants: Grants,
}

impl Metadata {
    async fn parse(ctx: &Context, caller: &Caller, r: &Request) -> Result<Self, RegistrationError> {
        let bad = |why: &str| RegistrationError::InvalidClientMetadata(why.to_owned());
        let application_type = match r.application_type.as_deref() {
            Some("native") => "native",
            Some("web") => "web",
            Some(_) => return Err(bad("application_type must be native or web")),
            None => return Err(bad("application_type is required: native or web")),
        };
        let uris = r.redirect_uris.as_deref().unwrap_or_default();
        if uris.is_empty() || uris.len() > writ_core::MAX_REDIRECT_URIS {
            return Err(RegistrationError::InvalidRedirectUri("redirect_uris must list 1 to 20 URIs".into()));
        }
        let mut redirect_uris = Vec::new();
        for uri in uris {
            let parsed = RedirectUri::parse(uri)
                .map_err(|e| RegistrationError::InvalidRedirectUri(format!("{uri}: {}", e.reason)))?;
            let https = uri.starts_with("https://");
            let fits = match application_type {
                "web" => https && !parsed.is_loopback(),
                _ => parsed.is_loopback() || !uri.starts_with("http"),
            };
            if !fits {
                return Err(RegistrationError::InvalidRedirectUri(format!(
                    "{uri}: a {application_type} client's redirect URIs are {}",
                    if application_type == "web" {
                        "https, off loopback"
                    } else {
                        "loopback or a private-use scheme"
                    }
                )));
            }
            redirect_uris.push(parsed);
        }
        if r.response_types.as_ref().is_some_and(|t| t.iter().any(|t| t != "code")) {
            return Err(bad("response_types: only code"));
        }
        let mut kinds = Vec::new();
        for g in r.grant_types.as_deref().unwrap_or(&["authorization_code".to_owned()]) {
            kinds.push(match g.as_str() {
                "authorization_code" => GrantKind::AuthorizationCode,
                "refresh_token" => GrantKind::RefreshToken,
                _ => return Err(bad("grant_types: only authorization_code and refresh_token")),
            });
        }
        if !kinds.contains(&GrantKind::AuthorizationCode) {
            return Err(bad("grant_types must include authorization_code"));
        }
        let keys = match (&r.jwks, &r.jwks_uri) {
            (Some(_), Some(_)) => return Err(bad("jwks and jwks_uri: one or the other")),
            (Some(jwks), None) => Some(KeySource::Jwks(std::sync::Arc::new(jwks.clone()))),
            (None, Some(uri)) => Some(KeySource::JwksUri(
                writ_core::FetchUrl::parse(uri).map_err(|e| bad(&format!("jwks_uri: {}", e.reason)))?,
            )),
            (None, None) => None,
        };
        let (client_type, auth_methods) = match r
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or("client_secret_basic")
        {
            "none" => (ClientType::Public, AuthMethods::NONE),
            "client_secret_basic" | "client_secret_post" => (ClientType::Confidential, AuthMethods::SECRETS),
            "private_key_jwt" if keys.is_some() => (
                ClientType::Confidential,
                AuthMethods::new([AuthMethod::PrivateKeyJwt]).map_err(|e| bad(&e.reason))?,
            ),
            "private_key_jwt" => return Err(bad("private_key_jwt needs jwks or jwks_uri")),
            _ => {
                return Err(bad(
                    "token_endpoint_auth_method: none, client_secret_basic, client_secret_post or private_key_jwt",
                ));
            }
        };
        let name =
            r.client_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("registered client");
        let name = Name::parse(name).map_err(|e| bad(&format!("client_name: {}", e.reason)))?;
        Ok(Self {
            name,
            application_type,
            client_type,
            auth_methods,
            keys,
            redirect_uris,
            grant_types: GrantKinds::new(kinds).map_err(|e| bad(&e.reason))?,
            grants: grants(ctx, caller, r.scope.as_deref()).await?,
        })
    }
}

/// The grants of a registered client: every scope `registration_scopes` allows (unset: any) on
/// the resources that define it, within its org's entitlements when a tenant registers it. The
/// `scope` a request names must be among them: it says what the client means to ask for, and each
/// token is still what the request, the org, the person and their consent allow.
async fn grants(ctx: &Context, caller: &Caller, scope: Option<&str>) -> Result<Grants, RegistrationError> {
    let bad = |why: String| RegistrationError::InvalidClientMetadata(why);
    let unavailable = |_| RegistrationError::Unavailable;
    let policy = match &ctx.settings.registration_scopes {
        Some(s) => Some(ScopeSet::parse(s).map_err(|_| RegistrationError::Unavailable)?),
        None => None,
    };
    let entitled = match &caller.tenant {
        Tenant::Org(org) => Some(
            Orgs::new(ctx.store.conn(), &caller.tenant).get(org).await.map_err(unavailable)?.entitlements,
        ),
        Tenant::Operator => None,
    };
    let page = writ_store::Page { limit: 1000, after: None };
    let resources = Resources::new(ctx.store.conn()).list(&page, None).await.map_err(unavailable)?;
    let mut grants = Grants::new();
    let mut all = ScopeSet::default();
    for r in resources.items.iter().filter(|r| !writ_core::grant::is_builtin(&r.identifier)) {
        let mut scopes: ScopeSet = r.scopes.iter().map(|d| d.name.clone()).collect();
        if let Some(policy) = &policy {
            scopes = scopes.intersection(policy);
        }
        if let Some(entitled) = &entitled {
            scopes = scopes.intersection(&entitled.scopes(&r.identifier).cloned().unwrap_or_default());
        }
        if !scopes.is_empty() {
            all.union_with(&scopes);
            grants.add(r.identifier.clone(), scopes);
        }
    }
    if let Some(asked) = scope {
        let asked = ScopeSet::parse(asked).map_err(|e| bad(format!("scope: {e}")))?;
        let beyond = asked.difference(&all);
        if !beyond.is_empty() {
            return Err(bad(format!("scope: {beyond} is not available to registered clients")));
        }
    }
    Ok(grants)
}

/// The registered client `id` if `token` is its registration access token; `invalid_token`
/// otherwise, whether the client exists or not (RFC 7592 §2).
async fn managed(ctx: &Context, id: &str, token: Option<&str>) -> Result<Client, RegistrationError> {
    let refused = || {
        RegistrationError::InvalidToken("the registration access token is not valid for this client".into())
    };
    if ctx.settings.registration == RegistrationMode::Off {
        return Err(RegistrationError::Off);
    }
    let token =
        token.and_then(|t| PlainSecret::parse_as(t, Kind::RegistrationToken).ok()).ok_or_else(refused)?;
    let id = ClientId::parse(id).map_err(|_| refused())?;
    let loaded = ctx.client_credentials(&id).await.map_err(|_| RegistrationError::Unavailable)?;
    let client = loaded.map(|c| c.client.clone()).ok_or_else(refused)?;
    let registration = client.delegation.registration.ok_or_else(refused)?;
    if !registration.token_hash.matches(&token.hash(&ctx.pepper))
        || client.delegation.expired(|| ctx.clock.now())
    {
        return Err(refused());
    }
    Ok(client)
}

/// `GET /oauth/register/{client_id}` (RFC 7592 §2.1).
pub async fn read(ctx: &Context, id: &str, token: Option<&str>) -> Result<Client, RegistrationError> {
    managed(ctx, id, token).await
}

/// `PUT /oauth/register/{client_id}` (RFC 7592 §2.2): its name and redirect URIs change; the
/// rest must stay as registered.
pub async fn update(
    ctx: &Context,
    id: &str,
    token: Option<&str>,
    request: Request,
    origin: &Origin,
) -> Result<Client, RegistrationError> {
    let client = managed(ctx, id, token).await?;
    let caller = manager(&client, origin);
    let metadata = Metadata::parse(ctx, &caller, &request).await?;
    if metadata.auth_methods != client.auth_methods || metadata.grant_types != client.delegation.grant_types {
        return Err(RegistrationError::InvalidClientMetadata(
            "only client_name and redirect_uris may change: register again for the rest".into(),
        ));
    }
    let changes = ClientChanges {
        name: Some(metadata.name),
        delegation: DelegationChanges { redirect_uris: Some(metadata.redirect_uris), ..Default::default() },
        ..Default::default()
    };
    Ok(crate::clients::update(ctx, &caller, &client.id, changes, |_| Ok(())).await?)
}

/// `DELETE /oauth/register/{client_id}` (RFC 7592 §2.3): the client and its tokens end.
pub async fn delete(
    ctx: &Context,
    id: &str,
    token: Option<&str>,
    origin: &Origin,
) -> Result<(), RegistrationError> {
    let client = managed(ctx, id, token).await?;
    Ok(crate::clients::delete(ctx, &manager(&client, origin), &client.id).await?)
}

/// The caller managing a registration: the client itself, in its own tenant.
fn manager(client: &Client, origin: &Origin) -> Caller {
    let tenant = client.kind.org_id().map_or(Tenant::Operator, |org| Tenant::Org(org.clone()));
    Caller {
        actor: Actor::Client(client.id.clone()),
        tenant,
        scopes: ScopeSet::default(),
        origin: origin.clone(),
    }
}

/// A registered client's metadata (RFC 7591 §3.2.1), as answered to its registration and reads.
pub fn response(ctx: &Context, client: &Client, application_type: Option<&str>) -> Value {
    let method = match client.auth_methods {
        m if m == AuthMethods::NONE => "none",
        m if m.allows(AuthMethod::PrivateKeyJwt) => "private_key_jwt",
        _ => "client_secret_basic",
    };
    let mut scope = ScopeSet::default();
    for (_, scopes) in client.grants.iter() {
        scope.union_with(scopes);
    }
    let expires =
        client.delegation.registration.and_then(|r| r.expires_at).map_or(0, OffsetDateTime::unix_timestamp);
    let native = !client.delegation.redirect_uris.iter().any(|u| u.as_str().starts_with("https://"));
    json!({
        "client_id": client.id.as_str(),
        "client_id_issued_at": client.created_at.unix_timestamp(),
        "client_secret_expires_at": expires,
        "client_name": client.name.as_str(),
        "redirect_uris": client.delegation.redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
        "grant_types": client.delegation.grant_types.iter().map(GrantKind::as_str).collect::<Vec<_>>(),
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        "scope": scope.to_string(),
        "application_type": application_type.unwrap_or(if native { "native" } else { "web" }),
        "registration_client_uri": format!("{}/oauth/register/{}", ctx.issuer, client.id),
    })
}
