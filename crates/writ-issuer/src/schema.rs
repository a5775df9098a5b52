//! The bodies of the issuer's endpoints, for the OpenAPI document. Requests are read by hand (form
//! or JSON, repeated `resource`), so the request types here only describe them; the response types
//! are what the handlers serialize.

use serde::Serialize;
use utoipa::ToSchema;

/// A client-credentials token request (RFC 6749 §4.4), form-encoded (JSON is accepted too).
/// Authenticate with HTTP Basic (`client_secret_basic`) or with `client_id` and `client_secret` in
/// the body (`client_secret_post`).
#[derive(ToSchema)]
#[schema(example = json!({
    "grant_type": "client_credentials",
    "client_id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t",
    "client_secret": "writ_cs_…",
    "resource": "https://api.example.com/billing",
    "scope": "invoices:read"
}))]
#[allow(dead_code)]
pub struct TokenForm {
    /// `client_credentials`, `urn:ietf:params:oauth:grant-type:jwt-bearer`, `authorization_code`
    /// or `refresh_token` (each as the client's `grant_types` allow).
    grant_type: String,
    /// The client id (`client_secret_post`; with Basic it may be left out).
    client_id: Option<String>,
    /// The client secret (`client_secret_post` only).
    client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (`private_key_jwt` only).
    client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with one of the client's keys; `iss` and `sub` the client
    /// id, `aud` the issuer or this endpoint, `exp` at most 5 minutes ahead, a `jti` used once.
    client_assertion: Option<String>,
    /// RFC 8707: the API the token is for (its audience). Repeat for several; required when the
    /// client is granted more than one.
    resource: Option<String>,
    /// Auth0-style synonym of `resource`.
    audience: Option<String>,
    /// Space-separated scopes; default: every scope granted on the chosen API(s).
    scope: Option<String>,
    /// `authorization_code`: the code from the authorization response.
    code: Option<String>,
    /// `authorization_code`: the redirect URI of the authorization request, when it named one.
    redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier whose S256 hash was the request's `code_challenge`.
    code_verifier: Option<String>,
    /// `refresh_token`: the refresh token (single use).
    refresh_token: Option<String>,
    /// `urn:ietf:params:oauth:grant-type:device_code`: the device code to poll with.
    device_code: Option<String>,
}

/// An issued access token (RFC 6749 §5.1): an RFC 9068 JWT.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJ…",
    "token_type": "Bearer",
    "expires_in": 3600,
    "scope": "invoices:read"
}))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// A person's refresh token (authorization_code and refresh_token grants, when the client may
    /// refresh): single use, replaced by the one in the answer that uses it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// An RFC 6749 §5.2 error.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_scope", "error_description": "scope `invoices:write` is not granted"}))]
pub struct OAuthErrorBody {
    /// See docs/errors.md: `invalid_request`, `invalid_client`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_target`, `rate_limited`,
    /// `server_error`, `temporarily_unavailable`.
    pub error: String,
    pub error_description: String,
}

/// A token to revoke (RFC 7009) or introspect (RFC 7662), with the caller's client credentials
/// when it does not use HTTP Basic.
#[derive(ToSchema)]
#[schema(example = json!({
    "token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJ…",
    "client_id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t",
    "client_secret": "writ_cs_…"
}))]
#[allow(dead_code)]
pub struct TokenParams {
    /// The access token.
    token: String,
    /// `access_token` (the only kind Writ issues); ignored.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// `private_key_jwt`, as at the token endpoint (`aud` may name this endpoint).
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// What a token says (RFC 7662 §2.2): `active` and, when active, its claims.
#[derive(ToSchema)]
#[schema(example = json!({
    "active": true, "token_type": "Bearer", "iss": "https://auth.example.com",
    "sub": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t", "client_id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t",
    "aud": "https://api.example.com/billing", "scope": "invoices:read", "iat": 1795000000,
    "nbf": 1795000000, "exp": 1795003600, "jti": "01jd8x4c2v9q0m7k3n5p6r8s0t", "oid": "org_01jd8x4c2v9q0m7k3n5p6r8s0t"
}))]
#[allow(dead_code)]
pub struct Introspection {
    /// `false` for a revoked, expired, foreign or malformed token, or one the caller may not see.
    active: bool,
    token_type: Option<String>,
    iss: Option<String>,
    sub: Option<String>,
    client_id: Option<String>,
    /// A string, or an array for several audiences.
    #[schema(value_type = Option<Object>)]
    aud: Option<serde_json::Value>,
    scope: Option<String>,
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
    jti: Option<String>,
    /// The org of an org or user client.
    oid: Option<String>,
    /// The user of a user client.
    uid: Option<String>,
    /// The credential the client authenticated with (a secret id).
    cred: Option<String>,
}

/// Authorization server metadata (RFC 8414).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "issuer": "https://auth.example.com",
    "token_endpoint": "https://auth.example.com/oauth/token",
    "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
    "scopes_supported": ["admin:clients:read", "invoices:read"],
    "grant_types_supported": ["client_credentials"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
    "revocation_endpoint": "https://auth.example.com/oauth/revoke",
    "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
    "introspection_endpoint": "https://auth.example.com/oauth/introspect",
    "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
    "response_types_supported": [],
    "access_token_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"]
}))]
pub struct ServerMetadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// Every scope some resource defines (RFC 8414); which of them a client gets is its grants'.
    pub scopes_supported: Vec<String>,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: &'static [&'static str],
    /// What a `private_key_jwt` assertion may be signed with.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: &'static [&'static str],
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: &'static [&'static str],
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// Where a person's browser starts an authorization (RFC 6749 §3.1).
    pub authorization_endpoint: String,
    /// Where a client pushes an authorization request first (RFC 9126).
    pub pushed_authorization_request_endpoint: String,
    /// Where a device starts the device flow (RFC 8628).
    pub device_authorization_endpoint: String,
    pub response_types_supported: [&'static str; 1],
    pub response_modes_supported: [&'static str; 1],
    /// PKCE: S256 only, and required.
    pub code_challenge_methods_supported: [&'static str; 1],
    /// Every authorization response carries `iss` (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
    pub access_token_signing_alg_values_supported: [&'static str; 3],
    /// A `client_id` may be the HTTPS URL of the client's metadata document (docs/mcp.md), unless
    /// the deployment turned `client_id_metadata_documents` off.
    pub client_id_metadata_document_supported: bool,
    /// `urn:ietf:params:oauth:grant-profile:id-jag`: the jwt-bearer grant takes ID-JAGs
    /// (enterprise-managed authorization, docs/mcp.md).
    pub authorization_grant_profiles_supported: [&'static str; 1],
    /// Dynamic client registration (RFC 7591), when the deployment turned it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
}

/// The public keys that may have signed a live token (RFC 7517).
#[derive(ToSchema)]
#[schema(example = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "…", "y": "…", "kid": "…", "alg": "ES256", "use": "sig"}]}))]
#[allow(dead_code)]
pub struct Jwks {
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

/// A pushed authorization request (RFC 9126 §2.1), form-encoded, with the client's
/// authentication as at the token endpoint.
#[derive(ToSchema)]
#[schema(example = json!({
    "client_id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t",
    "response_type": "code",
    "redirect_uri": "https://agent.example.com/callback",
    "scope": "invoices:read",
    "state": "af0ifjsldkj",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256"
}))]
#[allow(dead_code)]
pub struct ParForm {
    /// The client (with `client_secret_post`, or alone for a public client).
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    /// Always `code`.
    response_type: String,
    /// One of the client's registered redirect URIs (required when it has several).
    redirect_uri: Option<String>,
    scope: Option<String>,
    /// RFC 8707: the API the token will be for.
    resource: Option<String>,
    state: Option<String>,
    /// The base64url SHA-256 of the PKCE verifier.
    code_challenge: String,
    /// Always `S256`.
    code_challenge_method: String,
}

/// Where the pushed request can be used (RFC 9126 §2.2).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"request_uri": "urn:ietf:params:oauth:request_uri:arq_01jd8x4c2v9q0m7k3n5p6r8s0t", "expires_in": 90}))]
pub struct ParResponse {
    pub request_uri: String,
    /// Seconds it stays usable.
    pub expires_in: i64,
}

/// A device authorization request (RFC 8628 §3.1), form-encoded, with the client's
/// authentication as at the token endpoint.
#[derive(ToSchema)]
#[schema(example = json!({"client_id": "cli_01jd8x4c2v9q0m7k3n5p6r8s0t", "scope": "invoices:read", "resource": "https://api.example.com/billing"}))]
#[allow(dead_code)]
pub struct DeviceAuthorizationForm {
    /// The client (alone for a public client, or with `client_secret`).
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    /// RFC 8707: the API the token will be for.
    resource: Option<String>,
}

/// What the device shows and polls with (RFC 8628 §3.2).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "device_code": "writ_dc_…", "user_code": "WDJB-MJHT",
    "verification_uri": "https://auth.example.com/device",
    "verification_uri_complete": "https://auth.example.com/device?user_code=WDJB-MJHT",
    "expires_in": 600, "interval": 5
}))]
pub struct DeviceAuthorizationResponse {
    /// What the device polls the token endpoint with; a credential, keep it to the device.
    pub device_code: String,
    /// What the person types: eight letters, shown with a dash.
    pub user_code: String,
    pub verification_uri: String,
    /// The same page with the code filled in (for a QR code or a link).
    pub verification_uri_complete: String,
    pub expires_in: i64,
    /// Seconds to wait between polls.
    pub interval: i64,
}
