//! Request and response bodies of the admin API. Responses are built from domain values; the
//! client secret appears in exactly one DTO ([`CreatedClient`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};
use writ_app::{AppError, Clock};
use writ_core::{
    Actor, AuditEvent, Client, Grants, Metadata, Name, Org, QuotaMode, RateLimits, Resource, ResourceUri,
    ScopeName, ScopeSet, TokenTtl, User,
};

/// Scopes granted on one resource.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantDto {
    /// The resource identifier (audience), e.g. `https://api.example.com/billing`.
    #[schema(example = "https://api.example.com/billing")]
    pub resource: String,
    #[schema(example = json!(["invoices:read"]))]
    pub scopes: Vec<String>,
}

pub(crate) fn grants_from_dto(field: &'static str, list: &[GrantDto]) -> Result<Grants, AppError> {
    let mut grants = Grants::new();
    for g in list {
        let resource =
            ResourceUri::parse(&g.resource).map_err(|e| AppError::validation(field, e.to_string()))?;
        if g.scopes.is_empty() {
            return Err(AppError::validation(field, format!("no scopes listed for {resource}")));
        }
        let scopes = g
            .scopes
            .iter()
            .map(|s| ScopeName::parse(s))
            .collect::<Result<ScopeSet, _>>()
            .map_err(|e| AppError::validation(field, e.to_string()))?;
        grants.add(resource, scopes);
    }
    Ok(grants)
}

fn grants_to_dto(g: &Grants) -> Vec<GrantDto> {
    g.iter()
        .map(|(r, s)| GrantDto {
            resource: r.to_string(),
            scopes: s.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

pub(crate) fn metadata_from(field: &'static str, v: Option<serde_json::Value>) -> Result<Metadata, AppError> {
    v.map(Metadata::parse)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| AppError::validation(field, e.to_string()))
}

/// Token-endpoint limits of a client, or of every client of an org. Absent fields inherit: the
/// client's own value, then its org's, then the deployment's settings. `0` means no limit. Operator
/// only: a tenant cannot raise its own limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsDto {
    /// Tokens per second, sustained (GCRA); at most 1,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 50)]
    pub per_second: Option<u32>,
    /// Tokens at once above the sustained rate; at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 100)]
    pub burst: Option<u32>,
    /// Quota per clock hour (UTC); at most 1,000,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 10000)]
    pub per_hour: Option<u32>,
    /// Quota per day (UTC); at most 1,000,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 100000)]
    pub per_day: Option<u32>,
    /// Over a quota: `enforce` refuses with `429`; `log_only` issues anyway, logs and counts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "enforce")]
    pub quota_mode: Option<String>,
}

impl RateLimitsDto {
    pub(crate) fn parse(&self) -> Result<RateLimits, AppError> {
        let quota_mode = match self.quota_mode.as_deref() {
            None => None,
            Some("enforce") => Some(QuotaMode::Enforce),
            Some("log_only") => Some(QuotaMode::LogOnly),
            Some(_) => {
                return Err(AppError::validation("rate_limits.quota_mode", "must be enforce or log_only"));
            }
        };
        RateLimits {
            per_second: self.per_second,
            burst: self.burst,
            per_hour: self.per_hour,
            per_day: self.per_day,
            quota_mode,
        }
        .validate()
        .map_err(|e| {
            let field = match e.what {
                "per_second" => "rate_limits.per_second",
                "burst" => "rate_limits.burst",
                "per_hour" => "rate_limits.per_hour",
                _ => "rate_limits.per_day",
            };
            AppError::validation(field, e.reason)
        })
    }
}

impl From<&RateLimits> for RateLimitsDto {
    fn from(l: &RateLimits) -> Self {
        Self {
            per_second: l.per_second,
            burst: l.burst,
            per_hour: l.per_hour,
            per_day: l.per_day,
            quota_mode: l.quota_mode.map(|m| {
                match m {
                    QuotaMode::Enforce => "enforce",
                    QuotaMode::LogOnly => "log_only",
                }
                .to_owned()
            }),
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A page of results. `next_cursor` goes into `after` to get the next page; it is null on the last.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// A page of domain values, each rendered as its DTO.
    pub(crate) fn of<V>(page: &writ_store::Paged<V>) -> Self
    where
        T: for<'a> From<&'a V>,
    {
        Self { data: page.items.iter().map(T::from).collect(), next_cursor: page.next.clone() }
    }
}

/// A page of a list of objects that belong to no org (orgs, resources).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

impl PageQuery {
    pub(crate) fn page(&self) -> Result<writ_store::Page, AppError> {
        page(self.limit, &self.after)
    }
}

/// A page of a list of an org's objects (users, clients).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Only objects of this org (a tenant admin always sees just its own org).
    pub org_id: Option<String>,
}

impl ListQuery {
    pub(crate) fn page(&self) -> Result<writ_store::Page, AppError> {
        page(self.limit, &self.after)
    }

    /// The `org_id` filter, checked.
    pub(crate) fn org(&self) -> Result<Option<writ_core::OrgId>, AppError> {
        org_filter(self.org_id.as_deref())
    }
}

pub(crate) fn org_filter(v: Option<&str>) -> Result<Option<writ_core::OrgId>, AppError> {
    v.map(writ_core::OrgId::parse).transpose().map_err(|e| AppError::validation("org_id", e.to_string()))
}

fn page(limit: Option<u64>, after: &Option<String>) -> Result<writ_store::Page, AppError> {
    let limit = limit.unwrap_or(writ_store::Page::DEFAULT_LIMIT);
    if !(1..=writ_store::Page::MAX_LIMIT).contains(&limit) {
        return Err(AppError::validation("limit", "must be between 1 and 200"));
    }
    Ok(writ_store::Page { limit, after: after.clone() })
}

pub use writ_http::error::Problem;

// ---------------------------------------------------------------------------------------------
// Orgs

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    #[schema(example = "Acme")]
    pub name: String,
    /// Unique; 2–63 characters of a-z, 0-9 and `-`, starting with a letter.
    #[schema(example = "acme")]
    pub slug: String,
    /// What clients of this org may ever be granted (deny by default).
    #[serde(default)]
    pub entitlements: Vec<GrantDto>,
    /// Up to 50 string values.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Token-endpoint limits for each client of the org, unless the client sets its own.
    pub rate_limits: Option<RateLimitsDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "name": "Acme", "slug": "acme", "status": "active",
    "entitlements": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read", "invoices:write"]}],
    "metadata": {"plan": "enterprise"}, "rate_limits": {},
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct OrgDto {
    #[schema(example = "org_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub id: String,
    pub name: String,
    pub slug: String,
    /// `active` or `suspended`.
    pub status: String,
    pub entitlements: Vec<GrantDto>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The org's own limits for its clients (empty: the deployment's).
    pub rate_limits: RateLimitsDto,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Org> for OrgDto {
    fn from(o: &Org) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name.to_string(),
            slug: o.slug.to_string(),
            status: if o.status == writ_core::OrgStatus::Active { "active" } else { "suspended" }.into(),
            entitlements: grants_to_dto(&o.entitlements),
            metadata: serde_json::Value::Object(o.metadata.as_map().clone()),
            rate_limits: (&o.rate_limits).into(),
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resources

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDto {
    #[schema(example = "invoices:read")]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResource {
    /// The audience of its tokens: an absolute URI without fragment.
    #[schema(example = "https://api.example.com/billing")]
    pub identifier: String,
    #[schema(example = "Billing")]
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<ScopeDto>,
    /// Sign this resource's tokens with `ES256`, `RS256` or `EdDSA` instead of the deployment's
    /// algorithm (for verifiers that support only one).
    pub signing_alg: Option<String>,
}

/// Changes to a resource; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResource {
    pub name: Option<String>,
    /// Replaces the scopes (descriptions included). Removing a scope someone holds is refused.
    pub scopes: Option<Vec<ScopeDto>>,
    /// `ES256`, `RS256`, `EdDSA`, or `default` for the deployment's algorithm.
    pub signing_alg: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "res_01jd8x4bz9y8x7w6v5t4s3r2q1", "identifier": "https://api.example.com/billing", "name": "Billing",
    "scopes": [{"name": "invoices:read", "description": "Read invoices"}, {"name": "invoices:write", "description": "Create and change invoices"}],
    "builtin": false, "signing_alg": null, "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct ResourceDto {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<ScopeDto>,
    /// Writ's own APIs, which cannot be changed.
    pub builtin: bool,
    /// The algorithm of its tokens, when not the deployment's.
    pub signing_alg: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Resource> for ResourceDto {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id.to_string(),
            identifier: r.identifier.to_string(),
            name: r.name.to_string(),
            scopes: r
                .scopes
                .iter()
                .map(|s| ScopeDto { name: s.name.to_string(), description: s.description.clone() })
                .collect(),
            builtin: r.builtin,
            signing_alg: r.signing_alg.map(|a| a.as_str().to_owned()),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    #[schema(example = "acme-sync")]
    pub name: String,
    /// `org` (acts for an org), `user` (acts for one user of an org) or `service` (operator only).
    #[schema(example = "org")]
    pub kind: String,
    /// Required for `org` and `user` clients; a tenant admin may leave it out (its own org).
    pub org_id: Option<String>,
    /// Required for `user` clients.
    pub user_id: Option<String>,
    /// Must stay within the org's entitlements.
    #[serde(default)]
    pub grants: Vec<GrantDto>,
    /// 300 to 86400 (default 3600).
    pub token_ttl_seconds: Option<u32>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// The client's own token-endpoint limits (operator only).
    pub rate_limits: Option<RateLimitsDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "client_id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "kind": "org", "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "user_id": null, "name": "acme-sync",
    "status": "active", "grants": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}],
    "token_ttl_seconds": 3600, "metadata": {}, "rate_limits": {}, "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct ClientDto {
    #[schema(example = "cli_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub client_id: String,
    pub kind: String,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    pub name: String,
    /// `active` or `disabled`.
    pub status: String,
    pub grants: Vec<GrantDto>,
    pub token_ttl_seconds: u32,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The client's own limits (empty: its org's, then the deployment's).
    pub rate_limits: RateLimitsDto,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Client> for ClientDto {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            kind: c.kind.name().into(),
            org_id: c.kind.org_id().map(ToString::to_string),
            user_id: c.kind.user_id().map(ToString::to_string),
            name: c.name.to_string(),
            status: if c.status == writ_core::Status::Active { "active" } else { "disabled" }.into(),
            grants: grants_to_dto(&c.grants),
            token_ttl_seconds: c.token_ttl.seconds(),
            metadata: serde_json::Value::Object(c.metadata.as_map().clone()),
            rate_limits: (&c.rate_limits).into(),
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
}

/// The answer to creating a client: the client, and its first secret — shown this once only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "client_id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "kind": "org", "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "user_id": null, "name": "acme-sync",
    "status": "active", "grants": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}],
    "token_ttl_seconds": 3600, "metadata": {}, "rate_limits": {}, "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z",
    "client_secret": "writ_cs_…", "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n"
}))]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientDto,
    /// The plaintext secret. Writ keeps only a keyed hash: store it now, it cannot be shown again.
    #[schema(example = "writ_cs_…")]
    pub client_secret: String,
    pub secret_id: String,
}

/// Changes to a client; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    pub name: Option<String>,
    /// `active` or `disabled`. A disabled client gets `invalid_client` at once on every instance.
    pub status: Option<String>,
    /// Replaces the grants; must stay within the org's entitlements.
    pub grants: Option<Vec<GrantDto>>,
    pub token_ttl_seconds: Option<u32>,
    /// Replaces the metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Replaces the client's own limits; `{}` inherits everything again (operator only).
    pub rate_limits: Option<RateLimitsDto>,
}

/// Changes to an org; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    pub name: Option<String>,
    /// `active` or `suspended` (operator only). Suspending stops every client of the org at once.
    pub status: Option<String>,
    /// Replaces the entitlements (operator only). Clients' tokens shrink with them at once.
    pub entitlements: Option<Vec<GrantDto>>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Replaces the org's limits for its clients; `{}` inherits the deployment's (operator only).
    pub rate_limits: Option<RateLimitsDto>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecret {
    /// When the secret stops working (RFC 3339, in the future). Default: never.
    #[schema(example = "2027-01-01T00:00:00Z")]
    pub expires_at: Option<String>,
}

/// A secret's metadata; its value is never shown again after creation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n", "display_prefix": "writ_cs_k3m9", "created_at": "2026-11-23T10:00:00Z",
    "expires_at": null, "last_used_at": "2026-11-23T11:30:00Z"
}))]
pub struct SecretDto {
    pub secret_id: String,
    /// The first characters of the secret, to tell secrets apart.
    #[schema(example = "writ_cs_k3m9")]
    pub display_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// When a token was last issued with it: written at its first use, then at most once a minute,
    /// so it lags by up to a minute.
    pub last_used_at: Option<String>,
}

impl From<&writ_core::ClientSecret> for SecretDto {
    fn from(s: &writ_core::ClientSecret) -> Self {
        Self {
            secret_id: s.id.to_string(),
            display_prefix: s.display_prefix.clone(),
            created_at: rfc3339(s.created_at),
            expires_at: s.expires_at.map(rfc3339),
            last_used_at: s.last_used_at.map(rfc3339),
        }
    }
}

/// A new secret: its metadata and its value, shown this once only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n", "display_prefix": "writ_cs_k3m9", "created_at": "2026-11-23T10:00:00Z",
    "expires_at": "2027-01-01T00:00:00Z", "last_used_at": null, "client_secret": "writ_cs_…"
}))]
pub struct CreatedSecret {
    #[serde(flatten)]
    pub secret: SecretDto,
    pub client_secret: String,
}

/// Parses an RFC 3339 time in the future.
pub(crate) fn future_time(
    field: &'static str,
    s: &str,
    clock: &dyn Clock,
) -> Result<OffsetDateTime, AppError> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| AppError::validation(field, format!("not an RFC 3339 time: {e}")))?;
    if t <= clock.now() {
        return Err(AppError::validation(field, "must be in the future"));
    }
    Ok(t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t))
}

/// A signing key: its public half and where it is in its life.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "kid": "01jd8x4c2v9q0m7k3n5p6r8s0t", "alg": "ES256", "state": "active",
    "public_jwk": {"kty": "EC", "crv": "P-256", "x": "…", "y": "…", "kid": "01jd8x4c2v9q0m7k3n5p6r8s0t", "alg": "ES256", "use": "sig"},
    "created_at": "2026-11-23T10:00:00Z", "activated_at": "2026-11-23T10:00:00Z", "retired_at": null, "revoked_at": null
}))]
pub struct KeyDto {
    pub kid: String,
    /// `ES256`, `RS256` or `EdDSA`.
    pub alg: String,
    /// `pending` (published, not yet signing), `active`, `retired` (published until its tokens
    /// expire), `removed` or `revoked`.
    pub state: String,
    /// The public key as published in the JWKS.
    #[schema(value_type = Object)]
    pub public_jwk: serde_json::Value,
    pub created_at: String,
    pub activated_at: Option<String>,
    pub retired_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&writ_core::SigningKey> for KeyDto {
    fn from(k: &writ_core::SigningKey) -> Self {
        Self {
            kid: k.kid.to_string(),
            alg: k.alg.as_str().into(),
            state: k.state.as_str().into(),
            public_jwk: k.public_jwk.clone(),
            created_at: rfc3339(k.created_at),
            activated_at: k.activated_at.map(rfc3339),
            retired_at: k.retired_at.map(rfc3339),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The algorithm of the new key; default: the deployment's.
    pub alg: Option<String>,
    /// Sign with the new key at once instead of after the publish delay. Verifiers holding a
    /// cached JWKS will need to refetch it; use for emergencies.
    #[serde(default)]
    pub immediate: bool,
}

/// What to revoke: exactly one of the fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRevocation {
    /// One token, by its `jti`.
    pub jti: Option<String>,
    /// Every token of this client issued until now.
    pub client_id: Option<String>,
    /// Every token of every client of this org issued until now.
    pub org_id: Option<String>,
}

/// Options of `POST /clients/{client_id}/revoke-tokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeClientTokens {
    /// Only the tokens this secret authenticated (found in the issuance audit records of the last
    /// day — the longest a token lives). Default: every token of the client.
    pub secret_id: Option<String>,
}

/// A revocation that took effect.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "client", "id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "revoked_at": "2026-11-23T10:00:00Z", "tokens": null}))]
pub struct RevocationDto {
    /// `token`, `client`, `org` or `secret`.
    pub kind: String,
    pub id: String,
    pub revoked_at: String,
    /// For `secret`: how many live tokens were revoked.
    pub tokens: Option<usize>,
}

impl From<&writ_app::revocations::Revocation> for RevocationDto {
    fn from(r: &writ_app::revocations::Revocation) -> Self {
        Self { kind: r.kind.into(), id: r.id.clone(), revoked_at: rfc3339(r.revoked_at), tokens: r.tokens }
    }
}

// ---------------------------------------------------------------------------------------------
// Users

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Unique within the org.
    #[schema(example = "ada@acme.example")]
    pub email: String,
    /// Required for the operator; a tenant admin may leave it out (its own org).
    pub org_id: Option<String>,
    /// What the user's clients may ever be granted; within the org's entitlements.
    #[serde(default)]
    pub grants: Vec<GrantDto>,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub email: Option<String>,
    /// `active` or `disabled`. A disabled user's clients get `invalid_client` at once.
    pub status: Option<String>,
    /// Replaces the grants; the user's clients' tokens shrink with them at once.
    pub grants: Option<Vec<GrantDto>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "usr_01jd8x4c3a2b1c0d9e8f7g6h5j", "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t", "email": "ada@acme.example", "status": "active",
    "grants": [{"resource": "https://api.example.com/billing", "scopes": ["invoices:read"]}],
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z"
}))]
pub struct UserDto {
    #[schema(example = "usr_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub id: String,
    pub org_id: String,
    pub email: String,
    /// `active` or `disabled`.
    pub status: String,
    pub grants: Vec<GrantDto>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            org_id: u.org_id.to_string(),
            email: u.email.to_string(),
            status: if u.status == writ_core::Status::Active { "active" } else { "disabled" }.into(),
            grants: grants_to_dto(&u.grants),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Audit events

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Only events of this org (a tenant admin always sees just its own org).
    pub org_id: Option<String>,
    /// Only events done by this client or to it.
    pub client_id: Option<String>,
    /// Only events by this actor: a client or user id, `operator` or `system`.
    pub actor: Option<String>,
    /// An action (`client.created`) or a family of actions (`client.*`).
    pub action: Option<String>,
    /// From this instant (RFC 3339, inclusive).
    pub since: Option<String>,
    /// Until this instant (RFC 3339, exclusive).
    pub until: Option<String>,
}

impl AuditQuery {
    pub(crate) fn page(&self) -> Result<writ_store::Page, AppError> {
        page(self.limit, &self.after)
    }
}

pub(crate) fn instant(field: &'static str, v: Option<&str>) -> Result<Option<OffsetDateTime>, AppError> {
    v.map(|s| OffsetDateTime::parse(s, &Rfc3339))
        .transpose()
        .map_err(|_| AppError::validation(field, "must be an RFC 3339 instant like 2026-11-23T10:00:00Z"))
}

/// Who did something.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActorDto {
    /// `client`, `user`, `operator` or `system`.
    pub kind: String,
    pub id: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "evt_01jd8x4c6f5e4d3c2b1a0z9y8x", "occurred_at": "2026-11-23T10:00:00Z",
    "actor": {"kind": "client", "id": "cli_01jd8x4c0p9n8m7k6j5h4g3f2e"}, "org_id": "org_01jd8x4c2v9q0m7k3n5p6r8s0t",
    "action": "client.created", "target_id": "cli_01jd8x4c5d0a1b2c3d4e5f6g7h", "outcome": "success",
    "ip": "203.0.113.7", "request_id": "9f1c…", "details": {"kind": "org", "name": "acme-sync", "secret_id": "sec_01jd8x4c5e9w8v7t6s5r4q3p2n"}
}))]
pub struct AuditEventDto {
    #[schema(example = "evt_01jd8x4c2v9q0m7k3n5p6r8s0t")]
    pub id: String,
    pub occurred_at: String,
    pub actor: ActorDto,
    pub org_id: Option<String>,
    /// What happened, e.g. `client.created`, `token.issued`, `tokens.revoked`.
    #[schema(example = "client.created")]
    pub action: String,
    /// The object acted on.
    pub target_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventDto {
    fn from(e: &AuditEvent) -> Self {
        let (kind, id) = match &e.actor {
            Actor::Client(id) => ("client", Some(id.to_string())),
            Actor::Operator => ("operator", None),
            Actor::System => ("system", None),
        };
        Self {
            id: e.id.to_string(),
            occurred_at: rfc3339(e.occurred_at),
            actor: ActorDto { kind: kind.into(), id },
            org_id: e.org_id.as_ref().map(ToString::to_string),
            action: e.action.clone(),
            target_id: e.target_id.clone(),
            outcome: match e.outcome {
                writ_core::Outcome::Success => "success",
            }
            .into(),
            ip: e.ip.clone(),
            request_id: e.request_id.clone(),
            details: e.details.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests into the use cases' values: each field parsed into its domain type, an error naming
// the field.

fn parsed<T>(field: &'static str, r: Result<T, writ_core::Invalid>) -> Result<T, AppError> {
    r.map_err(|e| AppError::validation(field, e.to_string()))
}

fn optional<T>(
    field: &'static str,
    v: Option<&str>,
    parse: fn(&str) -> Result<T, writ_core::Invalid>,
) -> Result<Option<T>, AppError> {
    v.map(|s| parsed(field, parse(s))).transpose()
}

fn status(v: &str) -> Result<writ_core::Status, AppError> {
    match v {
        "active" => Ok(writ_core::Status::Active),
        "disabled" => Ok(writ_core::Status::Disabled),
        _ => Err(AppError::validation("status", "must be active or disabled")),
    }
}

fn limits(v: Option<&RateLimitsDto>) -> Result<Option<RateLimits>, AppError> {
    v.map(RateLimitsDto::parse).transpose()
}

fn grants(field: &'static str, v: &[GrantDto]) -> Result<Grants, AppError> {
    grants_from_dto(field, v)
}

fn metadata(v: Option<serde_json::Value>) -> Result<Metadata, AppError> {
    metadata_from("metadata", v)
}

impl CreateOrg {
    pub(crate) fn parse(self) -> Result<writ_app::orgs::NewOrg, AppError> {
        Ok(writ_app::orgs::NewOrg {
            name: parsed("name", Name::parse(&self.name))?,
            slug: parsed("slug", writ_core::Slug::parse(&self.slug))?,
            metadata: metadata(self.metadata)?,
            entitlements: grants("entitlements", &self.entitlements)?,
            rate_limits: limits(self.rate_limits.as_ref())?.unwrap_or_default(),
        })
    }
}

impl UpdateOrg {
    pub(crate) fn parse(self) -> Result<writ_app::orgs::OrgChanges, AppError> {
        let status = match self.status.as_deref() {
            None => None,
            Some("active") => Some(writ_core::OrgStatus::Active),
            Some("suspended") => Some(writ_core::OrgStatus::Suspended),
            Some(_) => return Err(AppError::validation("status", "must be active or suspended")),
        };
        Ok(writ_app::orgs::OrgChanges {
            name: optional("name", self.name.as_deref(), Name::parse)?,
            status,
            entitlements: self.entitlements.as_deref().map(|g| grants("entitlements", g)).transpose()?,
            metadata: self.metadata.is_some().then(|| metadata(self.metadata)).transpose()?,
            rate_limits: limits(self.rate_limits.as_ref())?,
        })
    }
}

fn scopes(list: Vec<ScopeDto>) -> Result<Vec<writ_core::ScopeDef>, AppError> {
    let named = list
        .into_iter()
        .map(|s| Ok((parsed("scopes", ScopeName::parse(&s.name))?, s.description)))
        .collect::<Result<Vec<_>, AppError>>()?;
    writ_app::resources::scope_defs(named)
}

impl CreateResource {
    pub(crate) fn parse(self) -> Result<writ_app::resources::NewResource, AppError> {
        let scopes = scopes(self.scopes)?;
        let identifier = parsed("identifier", ResourceUri::parse(&self.identifier))?;
        Ok(writ_app::resources::NewResource {
            signing_alg: optional("signing_alg", self.signing_alg.as_deref(), writ_core::SigningAlg::parse)?,
            identifier,
            name: parsed("name", Name::parse(&self.name))?,
            scopes,
        })
    }
}

impl UpdateResource {
    pub(crate) fn parse(self) -> Result<writ_app::resources::ResourceChanges, AppError> {
        Ok(writ_app::resources::ResourceChanges {
            name: optional("name", self.name.as_deref(), Name::parse)?,
            scopes: self.scopes.map(scopes).transpose()?,
            signing_alg: match self.signing_alg.as_deref() {
                None => None,
                Some("default") => Some(None),
                Some(alg) => Some(Some(parsed("signing_alg", writ_core::SigningAlg::parse(alg))?)),
            },
        })
    }
}

impl CreateClient {
    pub(crate) fn parse(self) -> Result<writ_app::clients::NewClient, AppError> {
        use writ_app::clients::KindName;
        let name = parsed("name", Name::parse(&self.name))?;
        let grants = grants("grants", &self.grants)?;
        let token_ttl =
            self.token_ttl_seconds.map(|t| parsed("token_ttl_seconds", TokenTtl::new(t))).transpose()?;
        let metadata = metadata(self.metadata)?;
        let rate_limits = limits(self.rate_limits.as_ref())?;
        // An id that cannot exist names nothing, like one that does not exist.
        let org_id = self
            .org_id
            .as_deref()
            .map(|id| writ_core::OrgId::parse(id).map_err(|_| AppError::validation("org_id", "no such org")))
            .transpose()?;
        let user_id = self
            .user_id
            .as_deref()
            .map(|id| {
                writ_core::UserId::parse(id)
                    .map_err(|_| AppError::validation("user_id", "no such user in this org"))
            })
            .transpose()?;
        let kind = match self.kind.as_str() {
            "org" => KindName::Org,
            "user" => KindName::User,
            "service" => KindName::Service,
            _ => return Err(AppError::validation("kind", "must be org, user or service")),
        };
        Ok(writ_app::clients::NewClient {
            name,
            kind,
            org_id,
            user_id,
            grants,
            token_ttl: token_ttl.unwrap_or_default(),
            metadata,
            rate_limits,
        })
    }
}

impl UpdateClient {
    pub(crate) fn parse(self) -> Result<writ_app::clients::ClientChanges, AppError> {
        Ok(writ_app::clients::ClientChanges {
            name: optional("name", self.name.as_deref(), Name::parse)?,
            status: self.status.as_deref().map(status).transpose()?,
            token_ttl: self
                .token_ttl_seconds
                .map(|t| parsed("token_ttl_seconds", TokenTtl::new(t)))
                .transpose()?,
            metadata: self.metadata.is_some().then(|| metadata(self.metadata)).transpose()?,
            rate_limits: limits(self.rate_limits.as_ref())?,
            grants: self.grants.as_deref().map(|g| grants("grants", g)).transpose()?,
        })
    }
}

impl CreateUser {
    pub(crate) fn parse(self) -> Result<writ_app::users::NewUser, AppError> {
        let email = parsed("email", writ_core::Email::parse(&self.email))?;
        let grants = grants("grants", &self.grants)?;
        let org_id = self
            .org_id
            .as_deref()
            .map(|id| writ_core::OrgId::parse(id).map_err(|_| AppError::validation("org_id", "no such org")))
            .transpose()?;
        Ok(writ_app::users::NewUser { email, org_id, grants })
    }
}

impl UpdateUser {
    pub(crate) fn parse(self) -> Result<writ_app::users::UserChanges, AppError> {
        Ok(writ_app::users::UserChanges {
            email: optional("email", self.email.as_deref(), writ_core::Email::parse)?,
            status: self.status.as_deref().map(status).transpose()?,
            grants: self.grants.as_deref().map(|g| grants("grants", g)).transpose()?,
        })
    }
}

impl CreateRevocation {
    pub(crate) fn parse(self) -> Result<writ_app::revocations::Target, AppError> {
        use writ_app::revocations::Target;
        // An id that cannot exist names nothing.
        match (self.jti, self.client_id, self.org_id) {
            (Some(jti), None, None) => Ok(Target::Token(jti)),
            (None, Some(id), None) => {
                writ_core::ClientId::parse(&id).map(Target::Client).map_err(|_| AppError::not_found())
            }
            (None, None, Some(id)) => {
                writ_core::OrgId::parse(&id).map(Target::Org).map_err(|_| AppError::not_found())
            }
            _ => Err(AppError::validation("body", "name exactly one of jti, client_id, org_id")),
        }
    }
}

impl AuditQuery {
    pub(crate) fn filter(&self) -> Result<writ_store::AuditFilter, AppError> {
        Ok(writ_store::AuditFilter {
            org: org_filter(self.org_id.as_deref())?,
            client: self.client_id.clone(),
            actor: self.actor.clone(),
            action: self.action.clone(),
            since: instant("since", self.since.as_deref())?,
            until: instant("until", self.until.as_deref())?,
        })
    }
}
