//! The README's walk-through, end to end: operator token → org, resource with scopes, org client →
//! the client's token → verified against the JWKS with an independent JOSE library.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde_json::Value;
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";

on_every_backend!(client_token_verifies_with_an_independent_library);

async fn client_token_verifies_with_an_independent_library(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write", "payments:refund"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    let (id, secret) =
        app.create_org_client(&op, &org, &[(BILLING, &["invoices:read", "invoices:write"])]).await;

    let token = app.token(&id, &secret, &[("scope", "invoices:read")]).await;

    let jwks: JwkSet =
        app.http.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("the signing key is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();

    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[app.ctx.issuer.as_str()]);
    validation.set_audience(&[BILLING]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf", "iat"]);
    let claims = decode::<Value>(&token, &key, &validation).unwrap().claims;
    assert_eq!(claims["scope"], "invoices:read");
    assert_eq!(claims["oid"], org.as_str());
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["aud"], BILLING);
    assert!(claims.get("uid").is_none());
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // The same library refuses it for another audience, and with a tampered payload.
    let mut other = validation.clone();
    other.set_audience(&["https://api.example.com/other"]);
    assert!(decode::<Value>(&token, &key, &other).is_err());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert!(decode::<Value>(&parts.join("."), &key, &validation).is_err());

    // And the admin API does not accept a billing token.
    let (status, _) = app.get("/admin/v1/orgs", &token).await;
    assert_eq!(status, 401);
}
