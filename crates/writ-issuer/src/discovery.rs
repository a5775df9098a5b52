//! The JWKS and the authorization server metadata (RFC 8414), also served as
//! `openid-configuration` for clients that only look there.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use writ_app::Context;
use writ_app::delegation::registration::RegistrationMode;
use writ_app::token::{GrantType, client_auth};

use crate::schema::{Jwks, ServerMetadata};

// Resource servers may cache the key set for `jwks_max_age_seconds` (300 by default): a new key is
// published at least that long before it signs, so a cache that honours the header always holds
// the key of any token it meets.

/// Get the signing keys
///
/// The JWKS: every public key that may have signed a token still alive, and the next key before it
/// signs anything. Cache it for `Cache-Control` `max-age`; refetch on an unknown `kid`. Revalidate
/// with `If-None-Match` and the `ETag` it came with: `304` while the set is unchanged.
#[utoipa::path(
    tag = "discovery",
    responses(
        (status = 200, description = "The key set", body = Jwks, content_type = "application/json"),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
    ),
    security(())
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(ctx: web::Data<Context>, req: actix_web::HttpRequest) -> HttpResponse {
    let keys = ctx.keys();
    let etag = keys.jwks_etag();
    let unchanged = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    let mut res = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((
        header::CACHE_CONTROL,
        format!("public, max-age={}", ctx.settings.jwks_max_age_seconds),
    ))
    .insert_header((header::ETAG, etag.to_owned()));
    if unchanged {
        return res.finish();
    }
    res.content_type("application/json").body(keys.jwks_json().to_vec())
}

fn server_metadata(ctx: &Context) -> HttpResponse {
    let issuer = &ctx.issuer;
    // What the engine registers, and nothing else (docs/architecture.md, "The token engine").
    const CLIENT_AUTH: &[&str] = client_auth::METHODS;
    let assertion_algs = || writ_token::JwsAlg::EXTERNAL.iter().map(|a| a.as_str()).collect::<Vec<_>>();
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=3600")).json(ServerMetadata {
        issuer: issuer.clone(),
        token_endpoint: ctx.token_endpoint(),
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        scopes_supported: ctx.scope_names().to_vec(),
        grant_types_supported: GrantType::ALL.iter().map(|t| t.name()).collect(),
        token_endpoint_auth_methods_supported: CLIENT_AUTH,
        token_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        revocation_endpoint_auth_methods_supported: CLIENT_AUTH,
        revocation_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
        introspection_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        authorization_endpoint: format!("{issuer}/oauth/authorize"),
        pushed_authorization_request_endpoint: format!("{issuer}/oauth/par"),
        device_authorization_endpoint: format!("{issuer}/oauth/device_authorization"),
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
        access_token_signing_alg_values_supported: ["ES256", "RS256", "EdDSA"],
        client_id_metadata_document_supported: ctx.settings.client_id_metadata_documents,
        authorization_grant_profiles_supported: [writ_app::token::grants::id_jag::PROFILE],
        registration_endpoint: (ctx.settings.registration != RegistrationMode::Off)
            .then(|| format!("{issuer}/oauth/register")),
    })
}

/// Get the authorization server metadata
///
/// RFC 8414: where the endpoints are and what they support.
#[utoipa::path(
    tag = "discovery",
    responses((status = 200, description = "The metadata", body = ServerMetadata)),
    security(())
)]
#[get("/.well-known/oauth-authorization-server")]
pub async fn metadata(ctx: web::Data<Context>) -> HttpResponse {
    server_metadata(&ctx)
}

/// Get the OpenID-style discovery document
///
/// The same metadata as `/.well-known/oauth-authorization-server`, for clients that only look here.
#[utoipa::path(
    tag = "discovery",
    responses((status = 200, description = "The metadata", body = ServerMetadata)),
    security(())
)]
#[get("/.well-known/openid-configuration")]
pub async fn openid_configuration(ctx: web::Data<Context>) -> HttpResponse {
    server_metadata(&ctx)
}

/// The metadata of an issuer with a path (`https://auth.example.com/tenant`) where RFC 8414 §3
/// and OpenID Connect Discovery put it, the path after the well-known prefix
/// (`/.well-known/oauth-authorization-server/tenant`, `/.well-known/openid-configuration/tenant`);
/// any other path is not found. (The third form, `/tenant/.well-known/openid-configuration`, is
/// the root route under the issuer's path: `writ_http::server`.) Not in the OpenAPI document: the
/// path is the deployment's.
#[get("/.well-known/{document:oauth-authorization-server|openid-configuration}/{path:.+}")]
pub async fn metadata_for_path(ctx: web::Data<Context>, path: web::Path<(String, String)>) -> HttpResponse {
    let (_, path) = path.into_inner();
    let own = writ_http::server::issuer_path(&ctx.issuer).trim_start_matches('/');
    if !own.is_empty() && own == path.trim_end_matches('/') {
        return server_metadata(&ctx);
    }
    actix_web::ResponseError::error_response(&writ_http::ApiError(writ_app::AppError::not_found()))
}
