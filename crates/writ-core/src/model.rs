//! The entities of the admin API (docs/admin-api.md), as validated domain values. Storage and HTTP
//! layers convert to and from these; nothing is serialized straight from a database row.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    ClientId, Email, EventId, ExternalId, KeyId, Metadata, Name, OrgId, RateLimits, ResourceId, ResourceUri,
    ScopeName, ScopeSet, SecretId, Slug, TokenTtl, UserId,
};

/// The built-in resource of the admin API (docs/admin-api.md).
pub const ADMIN_AUDIENCE: &str = "urn:writ:admin";
/// The built-in resource of the guard API.
pub const GUARD_AUDIENCE: &str = "urn:writ:guard";

/// Scopes per resource: what an org is entitled to, or what a client or user is granted. Sorted by
/// resource identifier, so iteration order (and everything derived from it) is deterministic. Held
/// as a sorted vector, like [`ScopeSet`]: every cached client holds two of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(Vec<(ResourceUri, ScopeSet)>);

impl Grants {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn scopes(&self, resource: &ResourceUri) -> Option<&ScopeSet> {
        self.0.binary_search_by(|(r, _)| r.cmp(resource)).ok().map(|i| &self.0[i].1)
    }

    pub fn add(&mut self, resource: ResourceUri, scopes: ScopeSet) {
        match self.0.binary_search_by(|(r, _)| r.cmp(&resource)) {
            Ok(i) => self.0[i].1.union_with(&scopes),
            Err(i) => self.0.insert(i, (resource, scopes)),
        }
    }

    /// What both grant: per resource, the shared scopes; resources left empty are dropped.
    pub fn intersect(&self, other: &Grants) -> Grants {
        Grants(
            self.0
                .iter()
                .filter_map(|(r, s)| {
                    let both = s.intersection(other.scopes(r)?);
                    (!both.is_empty()).then(|| (r.clone(), both))
                })
                .collect(),
        )
    }

    /// The first (resource, scopes) of `self` that `limit` does not allow, if any.
    pub fn excess_over(&self, limit: &Grants) -> Option<(ResourceUri, ScopeSet)> {
        self.0.iter().find_map(|(r, s)| {
            let extra = match limit.scopes(r) {
                Some(allowed) => s.difference(allowed),
                None => s.clone(),
            };
            (!extra.is_empty()).then(|| (r.clone(), extra))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ResourceUri, &ScopeSet)> {
        self.0.iter().map(|(r, s)| (r, s))
    }

    /// Frees spare capacity, for grants held long (the token endpoint's cache holds thousands).
    pub fn shrink_to_fit(&mut self) {
        for (_, scopes) in &mut self.0 {
            scopes.0.shrink_to_fit();
        }
        self.0.shrink_to_fit();
    }
}

impl FromIterator<(ResourceUri, ScopeSet)> for Grants {
    fn from_iter<I: IntoIterator<Item = (ResourceUri, ScopeSet)>>(iter: I) -> Self {
        let mut grants = Grants::new();
        for (resource, scopes) in iter {
            grants.add(resource, scopes);
        }
        grants.shrink_to_fit();
        grants
    }
}

/// Serialized as an object of resource identifier → scope names, as it always was.
impl Serialize for Grants {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Grants {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(std::collections::BTreeMap::<ResourceUri, ScopeSet>::deserialize(d)?.into_iter().collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    Active,
    Suspended,
}

impl OrgStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// A tenant. Its entitlements bound every grant of its clients and users (deny by default).
#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    pub id: OrgId,
    pub name: Name,
    pub slug: Slug,
    pub status: OrgStatus,
    pub metadata: Metadata,
    pub entitlements: Grants,
    /// Token-endpoint limits for each of its clients, unless the client sets its own.
    pub rate_limits: RateLimits,
    /// How its people log in, where it differs from the deployment.
    pub login: OrgLogin,
    /// Whether its people may use clients known by their metadata documents, and from which hosts.
    pub url_clients: crate::cimd::UrlClients,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// How people log in to Writ's pages (docs/delegation.md): with a password Writ keeps, or on the
/// vendor's own login page, which sends them back with a signed login response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMode {
    #[default]
    Password,
    Redirect,
}

impl LoginMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Redirect => "redirect",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "password" => Ok(Self::Password),
            "redirect" => Ok(Self::Redirect),
            _ => Err("must be password or redirect".into()),
        }
    }
}

/// An org's own login settings; `None` takes the deployment's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrgLogin {
    pub mode: Option<LoginMode>,
    pub url: Option<crate::delegation::LoginUrl>,
    /// Just-in-time creation: a person the vendor's login names who is not a user yet becomes one,
    /// with these grants. `None`: nobody is created.
    pub new_users: Option<Grants>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// A person in an org. `grants` bound what the user's clients may receive.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: Email,
    /// The vendor's own id for the person, when the vendor's login names people by it.
    pub external_id: Option<ExternalId>,
    /// An argon2id PHC string, when the user can log in with a password.
    pub password_hash: Option<String>,
    /// When the password was last set (or removed).
    pub password_changed_at: Option<OffsetDateTime>,
    pub status: Status,
    pub grants: Grants,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDef {
    pub name: ScopeName,
    #[serde(default)]
    pub description: String,
}

/// An API that accepts Writ tokens; `identifier` is the audience of those tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub id: ResourceId,
    pub identifier: ResourceUri,
    pub name: Name,
    pub scopes: Vec<ScopeDef>,
    /// Writ's own APIs (`urn:writ:admin`, `urn:writ:guard`), which cannot be changed through the
    /// API.
    pub builtin: bool,
    /// The algorithm of its tokens when it differs from the deployment's (a verifier that only
    /// speaks RS256, say).
    pub signing_alg: Option<SigningAlg>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Resource {
    pub fn scope_set(&self) -> ScopeSet {
        self.scopes.iter().map(|s| s.name.clone()).collect()
    }
}

/// Who a client acts for. The kind fixes which org and user claims its tokens carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKind {
    /// Acts for an organization: tokens carry `oid`.
    Org { org_id: OrgId },
    /// Acts for one user of an org: tokens carry `oid` and `uid`.
    User { org_id: OrgId, user_id: UserId },
    /// An internal service of the operator: no org.
    Service,
}

impl ClientKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Org { .. } => "org",
            Self::User { .. } => "user",
            Self::Service => "service",
        }
    }

    pub fn org_id(&self) -> Option<&OrgId> {
        match self {
            Self::Org { org_id } | Self::User { org_id, .. } => Some(org_id),
            Self::Service => None,
        }
    }

    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Self::User { user_id, .. } => Some(user_id),
            _ => None,
        }
    }
}

/// A way a client proves who it is at the token endpoint (docs/clients.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthMethod {
    /// RFC 6749 §2.3.1, HTTP Basic.
    ClientSecretBasic,
    /// RFC 6749 §2.3.1, in the body.
    ClientSecretPost,
    /// RFC 7523 §2.2: an assertion signed by one of the client's registered keys.
    PrivateKeyJwt,
    /// A token from a trusted issuer that one of the client's federated credentials names
    /// (as `client_assertion`, or the jwt-bearer grant's `assertion`).
    Federated,
    /// A public client (an agent that cannot keep a secret) names itself and proves nothing:
    /// PKCE protects its authorization codes and rotation its refresh tokens.
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 5] =
        [Self::ClientSecretBasic, Self::ClientSecretPost, Self::PrivateKeyJwt, Self::Federated, Self::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::Federated => "federated",
            Self::None => "none",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        Self::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            crate::Invalid::new(
                "token endpoint auth method",
                "must be client_secret_basic, client_secret_post, private_key_jwt, federated or none",
            )
        })
    }

    /// Whether the method presents a secret Writ generated.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The methods a client may use; never empty. Every client could use secrets before keys existed,
/// so that is the default.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthMethods(u8);

impl AuthMethods {
    pub const SECRETS: AuthMethods = AuthMethods(0b0011);
    pub const PRIVATE_KEY_JWT: AuthMethods = AuthMethods(0b0100);
    pub const FEDERATED: AuthMethods = AuthMethods(0b1000);
    /// A public client's only method.
    pub const NONE: AuthMethods = AuthMethods(0b1_0000);

    /// The set of `methods`, which must name at least one.
    pub fn new(methods: impl IntoIterator<Item = AuthMethod>) -> Result<Self, crate::Invalid> {
        let bits = methods.into_iter().fold(0, |bits, m| bits | m.bit());
        if bits == 0 {
            return Err(crate::Invalid::new("token endpoint auth methods", "must name at least one method"));
        }
        Ok(Self(bits))
    }

    /// Parses a space-separated list (how it is stored).
    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        Self::new(s.split_whitespace().map(AuthMethod::parse).collect::<Result<Vec<_>, _>>()?)
    }

    pub fn allows(self, method: AuthMethod) -> bool {
        self.0 & method.bit() != 0
    }

    /// Whether any allowed method uses a secret.
    pub fn uses_secrets(self) -> bool {
        self.0 & Self::SECRETS.0 != 0
    }

    pub fn iter(self) -> impl Iterator<Item = AuthMethod> {
        AuthMethod::ALL.into_iter().filter(move |m| self.allows(*m))
    }
}

impl Default for AuthMethods {
    fn default() -> Self {
        Self::SECRETS
    }
}

impl std::fmt::Debug for AuthMethods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(AuthMethod::as_str)).finish()
    }
}

impl std::fmt::Display for AuthMethods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(AuthMethod::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

/// The most keys a client registers inline: enough to rotate.
pub const MAX_CLIENT_KEYS: usize = 10;

/// Where someone's public keys are — a client's (`private_key_jwt`) or a trusted issuer's:
/// registered (a JWKS, checked by the use case that stores it) or published at a URL Writ
/// fetches. Shared, so caches can tell by pointer that the keys did not change.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    Jwks(std::sync::Arc<serde_json::Value>),
    JwksUri(crate::FetchUrl),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: ClientId,
    pub kind: ClientKind,
    pub name: Name,
    pub status: Status,
    pub token_ttl: TokenTtl,
    pub grants: Grants,
    pub metadata: Metadata,
    /// Its own token-endpoint limits, over its org's and the deployment's.
    pub rate_limits: RateLimits,
    /// How it may authenticate at the token endpoint; one without secret methods has no secrets.
    pub auth_methods: AuthMethods,
    /// Its public keys, for `private_key_jwt`.
    pub keys: Option<KeySource>,
    /// What it may do for people: its type, redirect URIs, grant types, PAR, refresh lifetimes.
    pub delegation: Delegation,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Whether a client can keep a secret (RFC 6749 §2.1): a public client (a CLI, a desktop or
/// browser agent) authenticates with `none` and may use only the delegated grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    #[default]
    Confidential,
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }
}

/// A `grant_type` a client may use (RFC 7591 `grant_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantKind {
    ClientCredentials,
    JwtBearer,
    AuthorizationCode,
    RefreshToken,
    DeviceCode,
}

impl GrantKind {
    pub const ALL: [GrantKind; 5] = [
        Self::ClientCredentials,
        Self::JwtBearer,
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        Self::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| {
            crate::Invalid::new(
                "grant_types",
                "must be client_credentials, urn:ietf:params:oauth:grant-type:jwt-bearer, authorization_code, \
                 refresh_token or urn:ietf:params:oauth:grant-type:device_code",
            )
        })
    }

    /// Whether the grant acts for a person.
    pub fn is_delegated(self) -> bool {
        matches!(self, Self::AuthorizationCode | Self::RefreshToken | Self::DeviceCode)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The grant types a client may use; never empty.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrantKinds(u8);

impl GrantKinds {
    /// What every client could do before delegation existed.
    pub const MACHINE: GrantKinds = GrantKinds(0b0011);

    pub fn new(kinds: impl IntoIterator<Item = GrantKind>) -> Result<Self, crate::Invalid> {
        let bits = kinds.into_iter().fold(0, |bits, k| bits | k.bit());
        if bits == 0 {
            return Err(crate::Invalid::new("grant_types", "must name at least one grant type"));
        }
        Ok(Self(bits))
    }

    /// Parses a space-separated list (how it is stored).
    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        Self::new(s.split_whitespace().map(GrantKind::parse).collect::<Result<Vec<_>, _>>()?)
    }

    pub fn allows(self, kind: GrantKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Whether any of them acts for a person.
    pub fn delegates(self) -> bool {
        self.iter().any(GrantKind::is_delegated)
    }

    pub fn iter(self) -> impl Iterator<Item = GrantKind> {
        GrantKind::ALL.into_iter().filter(move |k| self.allows(*k))
    }
}

impl Default for GrantKinds {
    fn default() -> Self {
        Self::MACHINE
    }
}

impl std::fmt::Debug for GrantKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(GrantKind::as_str)).finish()
    }
}

impl std::fmt::Display for GrantKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(GrantKind::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

/// How long a client's refresh tokens live: unused (`idle`), and at most from the person's
/// consent (`absolute`), in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshLifetimes {
    pub idle: u32,
    pub absolute: u32,
}

impl RefreshLifetimes {
    /// 15 days unused, 30 days in all (Auth0's defaults).
    pub const DEFAULT: RefreshLifetimes = RefreshLifetimes { idle: 15 * 86_400, absolute: 30 * 86_400 };
    pub const MIN: u32 = 300;
    pub const MAX: u32 = 365 * 86_400;

    pub fn new(idle: u32, absolute: u32) -> Result<Self, crate::Invalid> {
        for (what, v) in [("refresh_token_idle_seconds", idle), ("refresh_token_absolute_seconds", absolute)]
        {
            if !(Self::MIN..=Self::MAX).contains(&v) {
                return Err(crate::Invalid::new(
                    what,
                    format!("must be between {} and {}", Self::MIN, Self::MAX),
                ));
            }
        }
        if idle > absolute {
            return Err(crate::Invalid::new(
                "refresh_token_idle_seconds",
                "must not exceed refresh_token_absolute_seconds",
            ));
        }
        Ok(Self { idle, absolute })
    }
}

impl Default for RefreshLifetimes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The most redirect URIs a client registers.
pub const MAX_REDIRECT_URIS: usize = 20;

/// What a client may do for people (docs/delegation.md).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delegation {
    pub client_type: ClientType,
    pub redirect_uris: Vec<crate::delegation::RedirectUri>,
    pub grant_types: GrantKinds,
    /// Its authorization requests must be pushed first (RFC 9126).
    pub require_par: bool,
    pub refresh: RefreshLifetimes,
    /// A client known by its metadata document (`crate::cimd`): the document's URL, which is its
    /// `client_id` to the outside. It belongs to no org; its registration follows the document.
    pub metadata_url: Option<crate::cimd::ClientIdUrl>,
    /// A client that registered itself (RFC 7591): what manages it, and until when it lives.
    pub registration: Option<Registration>,
}

/// How a dynamically registered client (RFC 7591) is managed: the keyed hash of its registration
/// access token (RFC 7592), and when it ends (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    pub token_hash: crate::secret::SecretHash,
    pub expires_at: Option<OffsetDateTime>,
}

impl Delegation {
    /// Whether the client introduced itself (a metadata document, or a registration of its own)
    /// rather than being registered by an admin: an org's `url_clients` policy decides whether its
    /// people may use it.
    pub fn introduced(&self) -> bool {
        self.metadata_url.is_some() || self.registration.is_some()
    }

    /// Whether its registration ended; `now` is read only for a registration that ends (the token
    /// endpoint asks for every client).
    pub fn expired(&self, now: impl FnOnce() -> OffsetDateTime) -> bool {
        self.registration.and_then(|r| r.expires_at).is_some_and(|at| at <= now())
    }
}

/// The most secrets a client may hold at once (docs/admin-api.md): enough to rotate without
/// downtime.
pub const MAX_ACTIVE_SECRETS: usize = 5;

/// A stored client secret: its keyed hash and bookkeeping, never its value.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSecret {
    pub id: SecretId,
    pub client_id: ClientId,
    /// The first characters of the secret, to tell secrets apart in lists (`writ_cs_k3m9…`).
    pub display_prefix: String,
    pub hash: crate::secret::SecretHash,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

impl ClientSecret {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SigningAlg {
    ES256,
    RS256,
    EdDSA,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        match s {
            "ES256" => Ok(Self::ES256),
            "RS256" => Ok(Self::RS256),
            "EdDSA" => Ok(Self::EdDSA),
            _ => Err(crate::Invalid::new("algorithm", "must be ES256, RS256 or EdDSA")),
        }
    }
}

/// Where a signing key is in its life (docs/tokens.md, "Rotation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published in the JWKS, not yet signing.
    Pending,
    /// Signs new tokens; published.
    Active,
    /// No longer signs; published until every token it signed has expired.
    Retired,
    /// Past its last token's expiry; no longer published.
    Removed,
    /// Withdrawn at once (compromise); never published again.
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Removed => "removed",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        Ok(match s {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "retired" => Self::Retired,
            "removed" => Self::Removed,
            "revoked" => Self::Revoked,
            _ => return Err(crate::Invalid::new("key state", s.to_owned())),
        })
    }

    /// Whether a key in this state belongs in the JWKS.
    pub fn is_published(self) -> bool {
        matches!(self, Self::Pending | Self::Active | Self::Retired)
    }
}

/// A signing key. The private key is stored encrypted under the key-encryption key; this crate only
/// carries the ciphertext.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKey {
    pub kid: KeyId,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub private_key_encrypted: Vec<u8>,
    pub public_jwk: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
    pub retired_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Client(ClientId),
    /// A person, on Writ's pages (setting a password, giving consent).
    User(UserId),
    /// The operator acting outside the API (the CLI on the server).
    Operator,
    /// Writ itself (bootstrap, scheduled key rotation).
    System,
}

impl Actor {
    /// How the actor is stored and shown: its kind and, for a client or user, its id.
    pub fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Self::Client(id) => ("client", Some(id.to_string())),
            Self::User(id) => ("user", Some(id.to_string())),
            Self::Operator => ("operator", None),
            Self::System => ("system", None),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
}

/// One audited action. `details` holds action-specific facts (for token issuance: secret id, kid,
/// jti, scopes, audiences), never a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: EventId,
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    pub org_id: Option<OrgId>,
    /// Dotted and past tense: `org.created`, `client.created`, `token.issued`.
    pub action: String,
    pub target_id: Option<String>,
    pub outcome: Outcome,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(actor: Actor, org_id: Option<OrgId>, action: &str, target_id: Option<String>) -> Self {
        Self {
            id: EventId::generate(),
            occurred_at: crate::now(),
            actor,
            org_id,
            action: action.to_owned(),
            target_id,
            outcome: Outcome::Success,
            ip: None,
            request_id: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// The scopes of the admin API: what an operator or tenant-admin token may do there.
pub const ADMIN_SCOPES: &[(&str, &str)] = &[
    ("admin:orgs:read", "Read organizations"),
    ("admin:orgs:write", "Create and change organizations"),
    ("admin:resources:read", "Read resources and their scopes"),
    ("admin:resources:write", "Create and change resources (operator only)"),
    ("admin:users:read", "Read users"),
    ("admin:users:write", "Create and change users"),
    ("admin:clients:read", "Read clients and their secrets' metadata"),
    ("admin:clients:write", "Create and change clients and secrets"),
    ("admin:keys:read", "Read signing keys (operator only)"),
    ("admin:keys:write", "Rotate and revoke signing keys (operator only)"),
    ("admin:audit:read", "Read the audit log"),
    ("admin:revocations:write", "Revoke tokens"),
];

/// The scopes of the guard API.
pub const GUARD_SCOPES: &[(&str, &str)] = &[
    ("guard:introspect", "Introspect tokens issued to other clients (resource servers, gateways)"),
    ("guard:revocations:read", "Follow the revocation feed"),
    ("guard:ratelimit:check", "Check per-client rate limits"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> ResourceUri {
        ResourceUri::parse(s).unwrap()
    }

    #[test]
    fn grants_stay_sorted_merged_and_serialize_as_an_object() {
        let mut g = Grants::new();
        g.add(uri("https://b.example.com"), ScopeSet::parse("y x").unwrap());
        g.add(uri("https://a.example.com"), ScopeSet::parse("r").unwrap());
        g.add(uri("https://b.example.com"), ScopeSet::parse("z x").unwrap());
        let listed: Vec<String> = g.iter().map(|(r, s)| format!("{r}={s}")).collect();
        assert_eq!(listed, ["https://a.example.com=r", "https://b.example.com=x y z"]);
        assert!(g.scopes(&uri("https://b.example.com")).unwrap().contains("y"));
        assert!(g.scopes(&uri("https://c.example.com")).is_none());

        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"https://a.example.com": ["r"], "https://b.example.com": ["x", "y", "z"]})
        );
        assert_eq!(serde_json::from_value::<Grants>(json).unwrap(), g);

        let limit: Grants =
            [(uri("https://b.example.com"), ScopeSet::parse("x").unwrap())].into_iter().collect();
        assert_eq!(g.intersect(&limit), limit);
        let (r, extra) = g.excess_over(&limit).unwrap();
        assert_eq!((r.as_str(), extra.to_string().as_str()), ("https://a.example.com", "r"));
    }

    #[test]
    fn a_registration_ends_when_it_says() {
        let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let registered = |expires_at| Delegation {
            registration: Some(Registration { token_hash: crate::secret::SecretHash([0; 32]), expires_at }),
            ..Delegation::default()
        };
        assert!(!Delegation::default().expired(|| now) && !Delegation::default().introduced());
        assert!(!registered(None).expired(|| now), "no end: it lives until deleted");
        assert!(!registered(Some(now + time::Duration::seconds(1))).expired(|| now));
        assert!(registered(Some(now)).expired(|| now));
        assert!(registered(None).introduced());
    }
}
