//! The JWKS and the authorization server metadata (RFC 8414), also served as
//! `openid-configuration` for clients that only look there.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;
use writ_http::Context;

/// Resource servers cache the key set; five minutes keeps a rotation visible quickly, while a
/// newly published key is in the set long before it signs anything.
pub const JWKS_MAX_AGE: u32 = 300;

pub async fn jwks(ctx: web::Data<Context>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={JWKS_MAX_AGE}")))
        .content_type("application/json")
        .body(ctx.keys().jwks_json().to_vec())
}

pub async fn metadata(ctx: web::Data<Context>) -> HttpResponse {
    let issuer = &ctx.issuer;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(json!({
            "issuer": issuer,
            "token_endpoint": ctx.token_endpoint(),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [],
            "access_token_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        }))
}
