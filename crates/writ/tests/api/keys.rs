//! Signing keys: a verifier that caches the JWKS for its max-age never meets a token it cannot
//! verify across a scheduled rotation; revocation is immediate; resources may use other algorithms.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde_json::{Value, json};
use time::Duration;
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";

/// A resource server that caches the JWKS exactly as long as `Cache-Control: max-age` allows and
/// never refetches early, not even for an unknown `kid`: the least forgiving verifier.
struct StrictVerifier {
    jwks: JwkSet,
    fetched_at: i64,
    max_age: i64,
}

impl StrictVerifier {
    async fn fetch(app: &TestApp, at: i64) -> Self {
        let res = app.http.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
        let cache_control = res.headers()["cache-control"].to_str().unwrap().to_owned();
        let max_age = cache_control.split("max-age=").nth(1).unwrap().parse().unwrap();
        Self { jwks: res.json().await.unwrap(), fetched_at: at, max_age }
    }

    async fn refresh_if_stale(&mut self, app: &TestApp, now: i64) {
        if now - self.fetched_at >= self.max_age {
            *self = Self::fetch(app, now).await;
        }
    }

    fn verify(&self, token: &str, audience: &str) -> Result<Value, String> {
        let header = decode_header(token).map_err(|e| e.to_string())?;
        let kid = header.kid.ok_or("no kid")?;
        let jwk = self.jwks.find(&kid).ok_or_else(|| format!("kid {kid} is not in the cached JWKS"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[audience]);
        let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        decode::<Value>(token, &key, &validation).map(|d| d.claims).map_err(|e| e.to_string())
    }
}

fn kid_of(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

async fn billing_client(app: &TestApp, op: &str, signing_alg: Option<&str>) -> (String, String) {
    let body = json!({"identifier": BILLING, "name": "Billing", "scopes": [{"name": "r"}], "signing_alg": signing_alg});
    assert_eq!(app.post("/admin/v1/resources", op, &body).await.0, 201);
    let org = app.create_org(op, "acme", &[(BILLING, &["r"])]).await;
    app.create_org_client(op, &org, &[(BILLING, &["r"])]).await
}

on_every_backend!(
    a_cached_jwks_keeps_verifying_across_a_scheduled_rotation,
    revocation_is_immediate,
    resources_may_sign_with_another_algorithm,
    the_jwks_revalidates_with_its_etag
);

/// Issue 17, point 11: the JWKS carries an `ETag`; asking with it answers `304` with no body until
/// the key set changes, then the new set with a new tag.
async fn the_jwks_revalidates_with_its_etag(app: TestApp) {
    let get = |tag: Option<String>| {
        let mut req = app.http.get(app.url("/.well-known/jwks.json"));
        if let Some(tag) = tag {
            req = req.header("if-none-match", tag);
        }
        req.send()
    };
    let first = get(None).await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let again = get(Some(etag.clone())).await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.headers()["cache-control"].to_str().unwrap().contains("max-age="));
    assert!(again.bytes().await.unwrap().is_empty());
    assert_eq!(get(Some(format!("\"other\", {etag}"))).await.unwrap().status(), 304, "one of a list");
    assert_eq!(get(Some("\"other\"".into())).await.unwrap().status(), 200);

    let op = app.operator_token().await;
    assert_eq!(app.post("/admin/v1/keys/rotate", &op, &json!({})).await.0, 201);
    let changed = get(Some(etag.clone())).await.unwrap();
    assert_eq!(changed.status(), 200, "a new key is a new set");
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
}

async fn a_cached_jwks_keeps_verifying_across_a_scheduled_rotation(app: TestApp) {
    let op = app.operator_token().await;
    let (id, secret) = billing_client(&app, &op, None).await;
    let mut verifier = StrictVerifier::fetch(&app, 0).await;
    let first = app.token(&id, &secret, &[]).await;
    let old_kid = kid_of(&first);

    let (status, pending) = app.post("/admin/v1/keys/rotate", &op, &json!({})).await;
    assert_eq!((status, pending["state"].as_str()), (201, Some("pending")));
    let new_kid = pending["kid"].as_str().unwrap().to_owned();
    // Simulated time starts at the rotation: the publish delay counts from the moment of publication.
    let start = writ_core::now();
    assert!(verifier.jwks.find(&new_kid).is_none(), "the verifier's cache predates the new key");

    // Ten-minute-ish walk in simulated minutes; the verifier refreshes only when its cache expires.
    let mut issued = vec![first];
    let publish_delay = i64::from(app.ctx.settings.key_publish_delay_seconds);
    for minute in 0..=15 {
        let now = minute * 60;
        verifier.refresh_if_stale(&app, now).await;
        writ_app::keys::advance(&app.ctx, start + Duration::seconds(now)).await.unwrap();
        let token = app.token(&id, &secret, &[]).await;
        let expected = if now >= publish_delay { &new_kid } else { &old_kid };
        assert_eq!(&kid_of(&token), expected, "minute {minute}");
        issued.push(token);
        for t in &issued {
            verifier.verify(t, BILLING).unwrap_or_else(|e| panic!("minute {minute}: {e}"));
        }
    }

    // The old key stays published until its last token has expired, then it goes.
    let keys = writ_store::Keys::new(app.ctx.store.conn()).list().await.unwrap();
    let old = keys.iter().find(|k| k.kid.as_str() == old_kid).unwrap();
    assert_eq!(old.state, writ_core::KeyState::Retired);
    let gone = old.retired_at.unwrap() + writ_app::keys::RETIRED_KEY_LIFETIME;
    writ_app::keys::advance(&app.ctx, gone - Duration::seconds(1)).await.unwrap();
    assert!(StrictVerifier::fetch(&app, 0).await.jwks.find(&old_kid).is_some());
    writ_app::keys::advance(&app.ctx, gone).await.unwrap();
    assert!(StrictVerifier::fetch(&app, 0).await.jwks.find(&old_kid).is_none());
    // (The operator token from the start was signed by the removed key: a fresh one is needed.)
    assert_eq!(app.get("/admin/v1/keys", &op).await.0, 401);
    let (_, list) = app.get("/admin/v1/keys", &app.operator_token().await).await;
    let states: Vec<(&str, &str)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, vec![(old_kid.as_str(), "removed"), (new_kid.as_str(), "active")]);
}

async fn revocation_is_immediate(app: TestApp) {
    let op = app.operator_token().await;
    let (_, list) = app.get("/admin/v1/keys", &op).await;
    let kid = list["data"][0]["kid"].as_str().unwrap().to_owned();
    let (status, revoked) = app.post(&format!("/admin/v1/keys/{kid}/revoke"), &op, &json!({})).await;
    assert_eq!((status, revoked["state"].as_str()), (200, Some("revoked")));

    // Gone from the JWKS; the operator token it signed is no longer accepted; a new key signs.
    assert!(StrictVerifier::fetch(&app, 0).await.jwks.find(&kid).is_none());
    assert_eq!(app.get("/admin/v1/keys", &op).await.0, 401);
    let fresh = app.operator_token().await;
    assert_ne!(kid_of(&fresh), kid);
    let (status, list) = app.get("/admin/v1/keys", &fresh).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().iter().filter(|k| k["state"] == "active").count(), 1);
    let (status, _) =
        app.post("/admin/v1/keys/key_01m840pc5reg6ryj3yqh3rs90m/revoke", &fresh, &json!({})).await;
    assert_eq!(status, 404);
    let (status, body) = app.post("/admin/v1/keys/rotate", &fresh, &json!({"alg": "HS256"})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("alg")));
}

async fn resources_may_sign_with_another_algorithm(app: TestApp) {
    let op = app.operator_token().await;
    let (id, secret) = billing_client(&app, &op, Some("RS256")).await;
    let token = app.token(&id, &secret, &[]).await;
    assert_eq!(decode_header(&token).unwrap().alg, Algorithm::RS256);
    StrictVerifier::fetch(&app, 0).await.verify(&token, BILLING).unwrap();
    // Other resources keep the deployment's algorithm.
    assert_eq!(decode_header(&op).unwrap().alg, Algorithm::ES256);

    // A token cannot serve two resources that need different algorithms.
    let org = app
        .create_org(&op, "beta", &[(BILLING, &["r"]), (writ_core::ADMIN_AUDIENCE, &["admin:orgs:read"])])
        .await;
    let (both, both_secret) = app
        .create_org_client(&op, &org, &[(BILLING, &["r"]), (writ_core::ADMIN_AUDIENCE, &["admin:orgs:read"])])
        .await;
    let res = app
        .token_request(&both, &both_secret, &[("resource", BILLING), ("resource", writ_core::ADMIN_AUDIENCE)])
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_target");
    let (status, body) = app
        .post(
            "/admin/v1/resources",
            &op,
            &json!({"identifier": "https://x.example.com", "name": "x", "signing_alg": "none"}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("signing_alg")));
}
