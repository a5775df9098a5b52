//! What the admin API's bodies share: grants, rate limits, pages and lists, times, and the helpers
//! that parse request fields into domain values. Each route module holds its own request and
//! answer bodies; answers are built from domain values, and the client secret appears in exactly
//! one of them (`CreatedClient`).

// The names every route module's bodies use, brought in with `use crate::dto::*`.
pub(crate) use serde::{Deserialize, Serialize};
pub(crate) use time::OffsetDateTime;
pub(crate) use time::format_description::well_known::Rfc3339;
pub(crate) use utoipa::{IntoParams, ToSchema};
pub(crate) use writ_app::{AppError, Clock};
pub(crate) use writ_core::{
    AuditEvent, Client, Grants, Metadata, Name, Org, QuotaMode, RateLimits, Resource, ResourceUri, ScopeName,
    ScopeSet, TokenTtl, User,
};

/// Scopes granted on one resource.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantDto {
    /// The resource identifier (audience), e.g. `https://api.example.com/billing`.
    #[schema(value_type = String, example = "https://api.example.com/billing")]
    pub resource: ResourceUri,
    #[schema(value_type = Vec<String>, example = json!(["invoices:read"]))]
    pub scopes: Vec<ScopeName>,
}

pub(crate) fn grants(field: &'static str, list: &[GrantDto]) -> Result<Grants, AppError> {
    let mut grants = Grants::new();
    for g in list {
        if g.scopes.is_empty() {
            return Err(AppError::validation(field, format!("no scopes listed for {}", g.resource)));
        }
        grants.add(g.resource.clone(), g.scopes.iter().cloned().collect::<ScopeSet>());
    }
    Ok(grants)
}

pub(crate) fn grants_to_dto(g: &Grants) -> Vec<GrantDto> {
    g.iter().map(|(r, s)| GrantDto { resource: r.clone(), scopes: s.iter().cloned().collect() }).collect()
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
    #[schema(value_type = Option<String>, example = "enforce")]
    pub quota_mode: Option<QuotaMode>,
}

impl RateLimitsDto {
    pub(crate) fn parse(&self) -> Result<RateLimits, AppError> {
        RateLimits {
            per_second: self.per_second,
            burst: self.burst,
            per_hour: self.per_hour,
            per_day: self.per_day,
            quota_mode: self.quota_mode,
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
            quota_mode: l.quota_mode,
        }
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
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

pub(crate) fn page(limit: Option<u64>, after: &Option<String>) -> Result<writ_store::Page, AppError> {
    let limit = limit.unwrap_or(writ_store::Page::DEFAULT_LIMIT);
    if !(1..=writ_store::Page::MAX_LIMIT).contains(&limit) {
        return Err(AppError::validation("limit", "must be between 1 and 200"));
    }
    if after.as_deref().is_some_and(|a| !writ_core::id::is_prefixed_id(a)) {
        return Err(AppError::new(
            writ_app::ErrorCode::InvalidQuery,
            "after: not a cursor this API returned",
        ));
    }
    Ok(writ_store::Page { limit, after: after.clone() })
}

pub use writ_http::error::Problem;

pub(crate) fn limits(v: Option<&RateLimitsDto>) -> Result<Option<RateLimits>, AppError> {
    v.map(RateLimitsDto::parse).transpose()
}

/// A field that is present, even as `null` (`Some(None)`), as opposed to absent (`None`).
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The keys a request names (a client's or a trusted issuer's): a JWKS or a URL, not both.
pub(crate) fn key_source(
    jwks: Option<serde_json::Value>,
    uri: Option<&str>,
) -> Result<Option<writ_core::KeySource>, AppError> {
    use writ_core::KeySource;
    match (jwks, uri) {
        (Some(_), Some(_)) => Err(AppError::validation("jwks_uri", "give `jwks` or `jwks_uri`, not both")),
        (Some(jwks), None) => Ok(Some(KeySource::Jwks(std::sync::Arc::new(jwks)))),
        (None, Some(uri)) => writ_core::FetchUrl::parse(uri)
            .map(|u| Some(KeySource::JwksUri(u)))
            .map_err(|e| AppError::validation("jwks_uri", e.to_string())),
        (None, None) => Ok(None),
    }
}

/// The `jwks` and `jwks_uri` an answer shows for keys.
pub(crate) fn key_fields(keys: Option<&writ_core::KeySource>) -> (Option<serde_json::Value>, Option<String>) {
    match keys {
        Some(writ_core::KeySource::Jwks(jwks)) => (Some((**jwks).clone()), None),
        Some(writ_core::KeySource::JwksUri(uri)) => (None, Some(uri.to_string())),
        None => (None, None),
    }
}
