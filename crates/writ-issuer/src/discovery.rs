//! The JWKS and the authorization server metadata (RFC 8414), also served as
//! `openid-configuration` for clients that only look there.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;
use writ_http::Context;

/// Resource servers may cache the key set for `jwks_max_age_seconds` (300 by default): a new key is
/// published at least that long before it signs, so a cache that honours the header always holds
/// the key of any token it meets.
pub async fn jwks(ctx: web::Data<Context>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", ctx.settings.jwks_max_age_seconds),
        ))
        .content_type("application/json")
        .body(ctx.keys().jwks_json().to_vec())
}

pub async fn metadata(ctx: web::Data<Context>) -> HttpResponse {
    let issuer = &ctx.issuer;
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=3600")).json(json!({
        "issuer": issuer,
        "token_endpoint": ctx.token_endpoint(),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
        "access_token_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
    }))
}
