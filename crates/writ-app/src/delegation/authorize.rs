//! The authorization request (RFC 6749 §4.1.1 with OAuth 2.1's rules): `GET /oauth/authorize`,
//! or its parameters pushed first to `/oauth/par` (RFC 9126). A request is checked once, stored,
//! and then followed by its id through login and consent.
//!
//! Errors follow RFC 6749 §4.1.2.1: an unknown client or a redirect URI that does not match is
//! told on Writ's own page (never sent anywhere); everything else goes back to the client's
//! redirect URI as `error`, with `state` and `iss` (RFC 9207).

use serde::{Deserialize, Serialize};
use time::Duration;
use writ_core::delegation::{CodeChallenge, RedirectUri};
use writ_core::{Client, ClientId, GrantKind, RequestId, ResourceUri, ScopeSet};
use writ_store::{AuthorizationRequests, StoreError, StoredRequest};

use crate::context::Context;
use crate::token::{OAuthError, Params};

/// How long a request waits for the person to log in and consent.
pub const REQUEST_TTL: Duration = Duration::minutes(10);
/// How long a pushed request's `request_uri` may be used (RFC 9126 §2.2: short).
pub const PUSHED_TTL: i64 = 90;
/// What a pushed request's `request_uri` starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// An authorization request's parameters, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationParams {
    /// The redirect URI used: the request's, or the client's only one.
    pub redirect_uri: String,
    /// Whether the request named it (then the token request must name it too, RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: String,
}

impl AuthorizationParams {
    /// What the request asks for, as the grant decision reads it.
    pub fn token_request(&self) -> writ_core::TokenRequest {
        writ_core::TokenRequest {
            scope: self.scope.as_deref().and_then(|s| ScopeSet::parse(s).ok()),
            resources: self.resources.iter().filter_map(|r| ResourceUri::parse(r).ok()).collect(),
        }
    }

    /// Whether this is a device authorization (RFC 8628): it has no redirect URI.
    pub fn is_device(&self) -> bool {
        self.redirect_uri.is_empty()
    }

    pub fn challenge(&self) -> Option<CodeChallenge> {
        CodeChallenge::parse(&self.code_challenge, Some("S256")).ok()
    }
}

/// Why an authorization request cannot go on, and where the person or the client learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Said on Writ's page: the client or the redirect URI cannot be trusted with an answer.
    Page(String),
    /// Sent back to the client (RFC 6749 §4.1.2.1).
    Redirect(Redirect),
    /// The request expired or was already answered: said on Writ's page.
    Expired,
    /// Too many requests from this address named clients that could not be used (`429`).
    TooMany {
        retry_after: u64,
    },
    Unavailable,
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "an authorization request failed in the store");
        Self::Unavailable
    }
}

/// An answer to the client: its redirect URI with `code` or `error`, `state` and `iss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub redirect_uri: String,
    pub params: Vec<(&'static str, String)>,
}

impl Redirect {
    /// The error `code` (RFC 6749 §4.1.2.1) for the request going to `redirect_uri`.
    pub fn error(
        issuer: &str,
        redirect_uri: &str,
        state: Option<&str>,
        code: &'static str,
        description: &str,
    ) -> Self {
        let mut params = vec![("error", code.to_owned()), ("error_description", description.to_owned())];
        params.extend(state.map(|s| ("state", s.to_owned())));
        params.push(("iss", issuer.to_owned()));
        Self { redirect_uri: redirect_uri.to_owned(), params }
    }

    /// The URL the browser goes to.
    pub fn url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            query.append_pair(k, v);
        }
        let sep = if self.redirect_uri.contains('?') { '&' } else { '?' };
        format!("{}{sep}{}", self.redirect_uri, query.finish())
    }
}

/// Checks an authorization request from `GET /oauth/authorize` (its query, decoded like a form)
/// and stores it; its id. A `request_uri` from `/oauth/par` stands for the pushed request.
pub async fn begin(
    ctx: &Context,
    query: &[u8],
    origin: &crate::origin::Origin,
) -> Result<RequestId, AuthorizeError> {
    let params = Params::parse("application/x-www-form-urlencoded", query).map_err(|e| {
        AuthorizeError::Page(format!("the authorization request is malformed: {}", e.description()))
    })?;
    let client = client_of(ctx, params.client_id.as_deref(), origin).await?;
    if let Some(uri) = &params.request_uri {
        return pushed(ctx, &client, uri).await;
    }
    // The redirect URI is checked before anything else goes back to it.
    let redirect_uri =
        redirect_uri_of(&client, params.redirect_uri.as_deref()).map_err(AuthorizeError::Page)?;
    let back = |code: &'static str, description: &str| {
        AuthorizeError::Redirect(Redirect::error(
            &ctx.issuer,
            &redirect_uri,
            params.state.as_deref(),
            code,
            description,
        ))
    };
    if !client.delegation.grant_types.allows(GrantKind::AuthorizationCode) {
        return Err(back("unauthorized_client", "this client may not use the authorization_code grant"));
    }
    if client.delegation.require_par {
        return Err(back("invalid_request", "this client must push its authorization requests (/oauth/par)"));
    }
    let checked = check(&params, redirect_uri.clone()).map_err(|(code, d)| back(code, &d))?;
    store(ctx, &client.id, checked, false, REQUEST_TTL).await
}

/// `POST /oauth/par` (RFC 9126): authenticates the client as the token endpoint does (with its
/// failure limits), then checks and stores its authorization request; the `request_uri` and its
/// lifetime. Errors are the token endpoint's (RFC 9126 §2.3).
pub async fn push_request(
    ctx: &Context,
    content_type: &str,
    authorization: Option<&str>,
    body: &[u8],
    origin: &crate::origin::Origin,
) -> Result<(String, i64), OAuthError> {
    let (params, auth) =
        crate::token::authenticate_request(ctx, origin, content_type, authorization, body).await?;
    push(ctx, &auth.client.client, &params).await
}

/// Checks and stores a pushed authorization request of an authenticated client.
async fn push(ctx: &Context, client: &Client, params: &Params) -> Result<(String, i64), OAuthError> {
    if !client.delegation.grant_types.allows(GrantKind::AuthorizationCode) {
        return Err(OAuthError::UnauthorizedClient(
            "the client may not use the authorization_code grant".into(),
        ));
    }
    if params.request_uri.is_some() {
        return Err(OAuthError::InvalidRequest("request_uri may not be pushed".into()));
    }
    let redirect_uri =
        redirect_uri_of(client, params.redirect_uri.as_deref()).map_err(OAuthError::InvalidRequest)?;
    let checked = check(params, redirect_uri).map_err(|(code, description)| match code {
        "invalid_scope" => OAuthError::InvalidScope(description),
        "invalid_target" => OAuthError::InvalidTarget(description),
        "unauthorized_client" => OAuthError::UnauthorizedClient(description),
        _ => OAuthError::InvalidRequest(description),
    })?;
    let id = store(ctx, &client.id, checked, true, Duration::seconds(PUSHED_TTL))
        .await
        .map_err(|_| OAuthError::Server)?;
    Ok((format!("{REQUEST_URI_PREFIX}{id}"), PUSHED_TTL))
}

/// The pushed request a `request_uri` names, for the client that pushed it.
async fn pushed(ctx: &Context, client: &Client, uri: &str) -> Result<RequestId, AuthorizeError> {
    let unknown =
        || AuthorizeError::Page("the request_uri is unknown, used or expired: push the request again".into());
    let id =
        uri.strip_prefix(REQUEST_URI_PREFIX).and_then(|id| RequestId::parse(id).ok()).ok_or_else(unknown)?;
    let stored = match AuthorizationRequests::new(ctx.store.conn()).pending(&id, ctx.clock.now()).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    if stored.client_id != client.id || !stored.pushed {
        return Err(unknown());
    }
    Ok(id)
}

/// The client a request names (by its id, or by its metadata document's URL), if it exists and
/// is active.
async fn client_of(
    ctx: &Context,
    client_id: Option<&str>,
    origin: &crate::origin::Origin,
) -> Result<Client, AuthorizeError> {
    let unknown =
        || AuthorizeError::Page("the application that sent you here is not known to this server".into());
    use super::url_clients::{self, UrlClientError};
    let client_id = client_id.ok_or_else(unknown)?;
    // Documents that cannot be used count against the address that names them, as failed
    // authentications do at the token endpoint: made-up URLs by the thousand are refused before
    // Writ resolves or fetches anything more for that address.
    let looks_like_url = writ_core::cimd::ClientIdUrl::looks_like(client_id);
    let failures = ctx.settings.failed_auth_per_address_per_minute;
    let limited = |e: crate::people::PersonError| match e {
        crate::people::PersonError::TooManyAttempts { retry_after } => {
            AuthorizeError::TooMany { retry_after }
        }
        _ => AuthorizeError::Unavailable,
    };
    if looks_like_url {
        crate::people::address_limit(ctx, origin, "url-client", failures, 0).await.map_err(limited)?;
    }
    let loaded = match url_clients::resolve(ctx, client_id).await {
        Some(Ok(loaded)) => Some(loaded),
        Some(Err(UrlClientError::Unavailable)) => return Err(AuthorizeError::Unavailable),
        Some(Err(e)) => {
            tracing::info!(client_id, error = ?e, "refused a client metadata document");
            let _ = crate::people::address_limit(ctx, origin, "url-client", failures, 1).await;
            return Err(AuthorizeError::Page(format!(
                "the application that sent you here cannot be used: {e}"
            )));
        }
        None => {
            let id = ClientId::parse(client_id).map_err(|_| unknown())?;
            ctx.client_credentials(&id).await.map_err(|e| {
                tracing::error!(error = %e, "loading a client failed");
                AuthorizeError::Unavailable
            })?
        }
    };
    let client = loaded.ok_or_else(unknown)?.client.clone();
    if client.status != writ_core::Status::Active || client.delegation.expired(|| ctx.clock.now()) {
        return Err(unknown());
    }
    Ok(client)
}

/// The redirect URI of a request: the one it names if registered (a loopback one on any port),
/// else the client's only one.
fn redirect_uri_of(client: &Client, given: Option<&str>) -> Result<String, String> {
    let registered = &client.delegation.redirect_uris;
    match given {
        Some(uri) if registered.iter().any(|r: &RedirectUri| r.matches(uri)) => Ok(uri.to_owned()),
        Some(_) => Err("the redirect_uri is not registered for this application".into()),
        None => match registered.as_slice() {
            [only] => Ok(only.to_string()),
            _ => Err("the request names no redirect_uri, and the application has several".into()),
        },
    }
}

/// The rules of RFC 6749 §4.1.1 and OAuth 2.1: `response_type=code`, PKCE with S256, well-formed
/// scope and resources. An error's code and description.
fn check(p: &Params, redirect_uri: String) -> Result<AuthorizationParams, (&'static str, String)> {
    match p.response_type.as_deref() {
        Some("code") => {}
        None => return Err(("invalid_request", "missing parameter `response_type`".into())),
        Some(_) => return Err(("unsupported_response_type", "only response_type=code is supported".into())),
    }
    let challenge =
        CodeChallenge::parse(p.code_challenge.as_deref().unwrap_or(""), p.code_challenge_method.as_deref())
            .map_err(|e| ("invalid_request", format!("PKCE is required: {e}")))?;
    if let Some(scope) = &p.scope {
        ScopeSet::parse(scope).map_err(|e| ("invalid_scope", e.to_string()))?;
    }
    let mut resources = p.resources.clone();
    resources.extend(p.audience.clone());
    for r in &resources {
        ResourceUri::parse(r).map_err(|e| ("invalid_target", e.to_string()))?;
    }
    if p.state.as_ref().is_some_and(|s| s.len() > 1024) {
        return Err(("invalid_request", "`state` is longer than 1024 characters".into()));
    }
    Ok(AuthorizationParams {
        redirect_uri_given: p.redirect_uri.is_some(),
        redirect_uri,
        scope: p.scope.clone(),
        resources,
        state: p.state.clone(),
        code_challenge: challenge.as_str().to_owned(),
    })
}

async fn store(
    ctx: &Context,
    client: &ClientId,
    params: AuthorizationParams,
    pushed: bool,
    ttl: Duration,
) -> Result<RequestId, AuthorizeError> {
    let now = ctx.clock.now();
    let request = StoredRequest {
        id: RequestId::generate(),
        client_id: client.clone(),
        params: serde_json::to_value(&params).map_err(|_| AuthorizeError::Unavailable)?,
        pushed,
        user_id: None,
        code_expires_at: None,
        authorization_id: None,
        created_at: now,
        expires_at: now + ttl,
    };
    AuthorizationRequests::new(ctx.store.conn()).create(&request).await?;
    Ok(request.id)
}
