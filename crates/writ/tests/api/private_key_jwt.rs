//! `private_key_jwt` (issue 18, point 1): clients that hold a key, not a secret. Assertions are
//! signed here with josekit, as a client library would; the admin API registers the keys.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsHeader, JwsSigner, PS256, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's key pair: the public JWK to register and the signer it keeps.
pub struct Key {
    pub kid: String,
    pub alg: &'static str,
    pub public: Value,
    signer: Box<dyn JwsSigner>,
}

impl Key {
    pub fn new(alg: &'static str, kid: &str) -> Self {
        let (public, private): (Jwk, Jwk) = match alg {
            "ES256" => {
                let p = ES256.generate_key_pair().unwrap();
                (p.to_jwk_public_key(), p.to_jwk_private_key())
            }
            "RS256" => {
                let p = RS256.generate_key_pair(2048).unwrap();
                (p.to_jwk_public_key(), p.to_jwk_private_key())
            }
            "PS256" => {
                let p = PS256.generate_key_pair(2048).unwrap();
                (p.to_jwk_public_key(), p.to_jwk_private_key())
            }
            _ => {
                let p = EdDSA.generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519).unwrap();
                (p.to_jwk_public_key(), p.to_jwk_private_key())
            }
        };
        let signer: Box<dyn JwsSigner> = match alg {
            "ES256" => Box::new(ES256.signer_from_jwk(&private).unwrap()),
            "RS256" => Box::new(RS256.signer_from_jwk(&private).unwrap()),
            "PS256" => Box::new(PS256.signer_from_jwk(&private).unwrap()),
            _ => Box::new(EdDSA.signer_from_jwk(&private).unwrap()),
        };
        let mut public = Value::Object(public.as_ref().clone());
        public["kid"] = kid.into();
        Self { kid: kid.into(), alg, public, signer }
    }

    /// Signs `claims` with this key, naming its kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(claims, Some(&self.kid), None)
    }

    pub fn sign_with(&self, claims: &Value, kid: Option<&str>, typ: Option<&str>) -> String {
        let mut header = JwsHeader::new();
        if let Some(kid) = kid {
            header.set_key_id(kid);
        }
        if let Some(typ) = typ {
            header.set_token_type(typ);
        }
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        jwt::encode_with_signer(&payload, &header, &*self.signer).unwrap()
    }
}

/// The claims of a good assertion by `client_id` for `app`, valid for a minute.
pub fn claims(app: &TestApp, client_id: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": client_id, "sub": client_id, "aud": app.ctx.token_endpoint(),
        "iat": now, "exp": now + 60, "jti": writ_core::id::new_token_id(),
    })
}

/// A client-credentials request authenticated by `assertion`, with `extra` parameters.
pub async fn with_assertion(app: &TestApp, assertion: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    let res = app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// An org entitled to billing, and the operator's token.
async fn org(app: &TestApp, slug: &str) -> (String, String) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read"]).await;
    let org = app.create_org(&op, slug, &[(BILLING, &["invoices:read"])]).await;
    (op, org)
}

/// Creates an org client with `fields` (keys, methods) and `invoices:read`; returns its body.
async fn client(app: &TestApp, op: &str, org: &str, fields: Value) -> Value {
    let mut body = json!({"name": "agent", "kind": "org", "org_id": org, "grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]});
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    let (status, created) = app.post("/admin/v1/clients", op, &body).await;
    assert_eq!(status, 201, "{created}");
    created
}

on_every_backend!(
    each_algorithm_authenticates_once_per_assertion,
    keys_and_methods_are_managed_through_the_admin_api,
    a_clients_own_assertion_works_in_the_jwt_bearer_shape
);

/// The MCP client-credentials extension's second shape: the client's own assertion (`iss` = `sub`
/// = its id, its key) as the jwt-bearer grant's `assertion`, alone. It is checked exactly as a
/// `client_assertion` — once, by the client's keys — and gives the client's own token.
async fn a_clients_own_assertion_works_in_the_jwt_bearer_shape(app: TestApp) {
    const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    let (op, org) = org(&app, "acme").await;
    let key = Key::new("ES256", "k1");
    let created = client(&app, &op, &org, json!({ "jwks": { "keys": [key.public] } })).await;
    let id = created["client_id"].as_str().unwrap();
    let grant = |assertion: String, extra: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut form = vec![("grant_type", JWT_BEARER.to_owned()), ("assertion", assertion)];
            form.extend(extra);
            let res = app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let mut own = claims(&app, id);
    own["aud"] = app.ctx.issuer.as_str().into(); // the issuer, as the MCP SDKs send it
    let assertion = key.sign(&own);
    let (status, body) = grant(assertion.clone(), vec![("resource", BILLING.into())]).await;
    assert_eq!(status, 200, "{body}");
    let token: Value = decode(body["access_token"].as_str().unwrap());
    assert_eq!((token["sub"].as_str(), token["oid"].as_str()), (Some(id), Some(org.as_str())));
    assert_eq!(token["scope"], "invoices:read");
    let (status, body) = grant(assertion, vec![]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "once: {body}");
    let (status, body) = grant(Key::new("ES256", "k1").sign(&claims(&app, id)), vec![]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "another key: {body}");
    let (status, body) =
        grant(key.sign(&claims(&app, id)), vec![("client_id", "cli_01jd8x4c2v9q0m7k3n5p6r8s0t".into())])
            .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "another client_id: {body}");
    let (status, body) = grant(key.sign(&claims(&app, id)), vec![("client_secret", "x".into())]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "a second method: {body}");
}

/// Lets many refusals in a row for one client id through, where the lockout would answer 429.
pub fn lenient(s: &mut writ_app::Settings) {
    s.failed_auth_per_minute = 1000;
}

writ_testkit::on_every_backend_with!(super::lenient; bad_assertions_are_refused);

async fn each_algorithm_authenticates_once_per_assertion(app: TestApp) {
    let (op, org) = org(&app, "acme").await;
    let keys: Vec<Key> =
        ["ES256", "RS256", "PS256", "EdDSA"].iter().map(|a| Key::new(a, &format!("k-{a}"))).collect();
    let jwks = json!({ "keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>() });
    let created = client(&app, &op, &org, json!({ "jwks": jwks })).await;
    assert_eq!(created["token_endpoint_auth_methods"], json!(["private_key_jwt"]));
    assert!(created.get("client_secret").is_none() && created.get("secret_id").is_none(), "{created}");
    let id = created["client_id"].as_str().unwrap();
    let (_, secrets) = app.get(&format!("/admin/v1/clients/{id}/secrets"), &op).await;
    assert_eq!(secrets["data"], json!([]), "a key-only client has no secret");

    for key in &keys {
        let assertion = key.sign(&claims(&app, id));
        let (status, body) = with_assertion(&app, &assertion, &[("resource", BILLING)]).await;
        assert_eq!(status, 200, "{}: {body}", key.alg);
        let token: Value = decode(body["access_token"].as_str().unwrap());
        assert_eq!((token["sub"].as_str(), token["oid"].as_str()), (Some(id), Some(org.as_str())));
        assert_eq!(token["scope"], "invoices:read");
        // The same assertion again is a replay.
        let (status, body) = with_assertion(&app, &assertion, &[("resource", BILLING)]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{}: replay", key.alg);
    }

    // `aud` may be the issuer, or an array naming the endpoint; `client_id` may come along.
    let mut by_issuer = claims(&app, id);
    by_issuer["aud"] = app.ctx.issuer.clone().into();
    assert_eq!(with_assertion(&app, &keys[0].sign(&by_issuer), &[("client_id", id)]).await.0, 200);
    let mut listed = claims(&app, id);
    listed["aud"] = json!(["https://elsewhere.example.com", app.ctx.token_endpoint()]);
    assert_eq!(with_assertion(&app, &keys[0].sign(&listed), &[]).await.0, 200);
    // Without a kid, the key of the header's algorithm is found.
    let (status, body) =
        with_assertion(&app, &keys[3].sign_with(&claims(&app, id), None, Some("JWT")), &[]).await;
    assert_eq!(status, 200, "{body}");

    // Introspection authenticates the same way (its own endpoint as the audience).
    let token = with_assertion(&app, &keys[1].sign(&claims(&app, id)), &[("resource", BILLING)]).await.1
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut at_introspect = claims(&app, id);
    at_introspect["aud"] = format!("{}/oauth/introspect", app.ctx.issuer).into();
    let res = app
        .http
        .post(app.url("/oauth/introspect"))
        .form(&[
            ("token", token.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &keys[1].sign(&at_introspect)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);

    // The audit record names the method and the key.
    app.ctx.audit.flush().await;
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?action=token.issued&client_id={id}"), &op).await;
    let issued: Vec<&Value> =
        events["data"].as_array().unwrap().iter().filter(|e| e["actor"]["id"] == id).collect();
    assert!(!issued.is_empty(), "{events}");
    assert!(issued.iter().all(|e| e["details"]["auth_method"] == "private_key_jwt"), "{issued:?}");
    assert!(issued.iter().any(|e| e["details"]["client_key_id"] == "k-PS256"), "{issued:?}");
}

/// The payload of a JWT, unverified.
fn decode(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

async fn bad_assertions_are_refused(app: TestApp) {
    let (op, org) = org(&app, "acme").await;
    let key = Key::new("ES256", "k1");
    let rsa = Key::new("RS256", "k2");
    let created = client(&app, &op, &org, json!({ "jwks": {"keys": [key.public, rsa.public]} })).await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let other = client(&app, &op, &org, json!({ "jwks": {"keys": [Key::new("ES256", "k1").public]} })).await;
    let other_id = other["client_id"].as_str().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = || claims(&app, &id);
    let with = |name: &str, value: Value| {
        let mut c = good();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(name);
        } else {
            c[name] = value;
        }
        c
    };

    let refused_client: Vec<(&str, String)> = vec![
        ("expired", key.sign(&with("exp", (now - 120).into()))),
        ("exp more than 5 minutes ahead", key.sign(&with("exp", (now + 900).into()))),
        ("issued in the future", key.sign(&with("iat", (now + 600).into()))),
        ("not yet valid", key.sign(&with("nbf", (now + 600).into()))),
        ("no exp", key.sign(&with("exp", Value::Null))),
        ("no jti", key.sign(&with("jti", Value::Null))),
        ("another audience", key.sign(&with("aud", "https://evil.example.com/oauth/token".into()))),
        (
            "audience a prefix of ours",
            key.sign(&with("aud", format!("{}.evil.example.com", app.ctx.issuer).into())),
        ),
        ("signed by another key", Key::new("ES256", "k1").sign(&good())),
        ("an unknown kid", key.sign_with(&good(), Some("k9"), None)),
        ("an access token's typ", key.sign_with(&good(), Some("k1"), Some("at+jwt"))),
        ("the other client's assertion as this one", Key::new("ES256", "k1").sign(&claims(&app, other_id))),
    ];
    for (case, assertion) in &refused_client {
        let (status, body) = with_assertion(&app, assertion, &[]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{case}: {body}");
    }

    // An assertion whose iss is not its sub is another issuer's token: it needs a client_id, and
    // the client's own key does not make it the client's.
    let foreign = key.sign(&with("iss", other_id.into()));
    assert_eq!(with_assertion(&app, &foreign, &[]).await.0, 400);
    assert_eq!(with_assertion(&app, &foreign, &[("client_id", &id)]).await.0, 401);

    // alg none, and HS256 keyed with the public key (the algorithm confusion).
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "kid": "k2"})), b64(&good()));
    let hmac = josekit::jws::HS256.signer_from_bytes(rsa.public.to_string().as_bytes()).unwrap();
    let mut header = JwsHeader::new();
    header.set_key_id("k2");
    let confused = jwt::encode_with_signer(
        &JwtPayload::from_map(good().as_object().unwrap().clone()).unwrap(),
        &header,
        &hmac,
    )
    .unwrap();
    for (case, assertion) in
        [("alg none", none), ("HS256 with the public key", confused), ("not a JWT", "a.b".into())]
    {
        let (status, body) = with_assertion(&app, &assertion, &[]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{case}: {body}");
    }

    // Malformed requests: RFC 6749 §5.2's invalid_request.
    let assertion = key.sign(&good());
    let form = |extra: &[(&str, &str)]| {
        let mut form = vec![("grant_type", "client_credentials"), ("client_assertion", assertion.as_str())];
        form.extend_from_slice(extra);
        form.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<_>>()
    };
    for (case, extra) in [
        ("no assertion type", vec![]),
        (
            "another assertion type",
            vec![("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")],
        ),
        ("a secret as well", vec![("client_assertion_type", ASSERTION_TYPE), ("client_secret", "writ_cs_x")]),
        ("another client_id", vec![("client_assertion_type", ASSERTION_TYPE), ("client_id", other_id)]),
    ] {
        let res = app.http.post(app.url("/oauth/token")).form(&form(&extra)).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{case}: {body}");
    }
    // Basic and an assertion together.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&id, Some("writ_cs_x"))
        .form(&form(&[("client_assertion_type", ASSERTION_TYPE)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // None of it used the jti: the good assertion still works, once.
    assert_eq!(with_assertion(&app, &assertion, &[]).await.0, 200);

    // A client that may use secrets only is not authenticated by a key, even one it registered.
    let secret_client = client(
        &app,
        &op,
        &org,
        json!({"jwks": {"keys": [Key::new("ES256", "k1").public]}, "token_endpoint_auth_methods": ["client_secret_basic"]}),
    )
    .await;
    let secret_id = secret_client["client_id"].as_str().unwrap();
    let secret = secret_client["client_secret"].as_str().unwrap();
    let (status, _) = with_assertion(&app, &key.sign(&claims(&app, secret_id)), &[]).await;
    assert_eq!(status, 401);
    // …nor by the method it was not allowed: client_secret_post.
    assert_eq!(app.token_request(secret_id, secret, &[]).await.status(), 401);
    let basic = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(secret_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
}

async fn keys_and_methods_are_managed_through_the_admin_api(app: TestApp) {
    let (op, org) = org(&app, "acme").await;
    let key = Key::new("ES256", "k1");
    let create = |fields: Value| {
        let mut body = json!({"name": "agent", "kind": "org", "org_id": org});
        body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        body
    };
    let private = {
        let p = ES256.generate_key_pair().unwrap();
        Value::Object(p.to_jwk_private_key().as_ref().clone())
    };
    for (case, fields, field) in [
        ("a private key", json!({"jwks": {"keys": [private]}}), "jwks"),
        (
            "keys two ways",
            json!({"jwks": {"keys": [key.public]}, "jwks_uri": "https://keys.example.com/jwks"}),
            "jwks_uri",
        ),
        (
            "no keys",
            json!({"token_endpoint_auth_methods": ["private_key_jwt"]}),
            "token_endpoint_auth_methods",
        ),
        (
            "an unknown method",
            json!({"token_endpoint_auth_methods": ["tls_client_auth"]}),
            "token_endpoint_auth_methods",
        ),
        ("no method", json!({"token_endpoint_auth_methods": []}), "token_endpoint_auth_methods"),
        ("a plain http uri", json!({"jwks_uri": "http://keys.example.com/jwks"}), "jwks_uri"),
        (
            "eleven keys",
            json!({"jwks": {"keys": (0..11).map(|i| { let mut k = key.public.clone(); k["kid"] = format!("k{i}").into(); k }).collect::<Vec<_>>()}}),
            "jwks",
        ),
        ("not a JWKS", json!({"jwks": [key.public]}), "jwks"),
    ] {
        let (status, body) = app.post("/admin/v1/clients", &op, &create(fields)).await;
        assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{case}: {body}");
    }

    // A secret client becomes key-only: its secrets go, and no new one can be added.
    let created = client(&app, &op, &org, json!({})).await;
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert_eq!(created["token_endpoint_auth_methods"], json!(["client_secret_basic", "client_secret_post"]));
    let path = format!("/admin/v1/clients/{id}");
    let (status, body) =
        app.patch(&path, &op, &json!({"token_endpoint_auth_methods": ["private_key_jwt"]})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("token_endpoint_auth_methods")),
        "keys first: {body}"
    );
    let (status, body) = app
        .patch(
            &path,
            &op,
            &json!({"token_endpoint_auth_methods": ["private_key_jwt"], "jwks": {"keys": [key.public]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["jwks"]["keys"][0]["kid"], "k1");
    assert_eq!(app.token_request(id, secret, &[]).await.status(), 401, "its secret is gone");
    assert_eq!(app.get(&format!("{path}/secrets"), &op).await.1["data"], json!([]));
    let (status, body) = app.post(&format!("{path}/secrets"), &op, &json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")), "{body}");
    assert_eq!(with_assertion(&app, &key.sign(&claims(&app, id)), &[]).await.0, 200);

    // Rotation: the new key works at once, the old one stops at once (every instance's cache).
    let rotated = Key::new("EdDSA", "k2");
    let (status, _) = app.patch(&path, &op, &json!({"jwks": {"keys": [rotated.public]}})).await;
    assert_eq!(status, 200);
    assert_eq!(with_assertion(&app, &rotated.sign(&claims(&app, id)), &[]).await.0, 200);
    assert_eq!(with_assertion(&app, &key.sign(&claims(&app, id)), &[]).await.0, 401);
    // The keys cannot go while private_key_jwt is the only method.
    let (status, body) = app.patch(&path, &op, &json!({"jwks": null})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("token_endpoint_auth_methods")), "{body}");

    // Another tenant's admin cannot see or change them.
    let scopes: &[&str] = &["admin:clients:read", "admin:clients:write"];
    let other = app.create_org(&op, "globex", &[("urn:writ:admin", scopes)]).await;
    let (admin, admin_secret) = app.create_org_client(&op, &other, &[("urn:writ:admin", scopes)]).await;
    let tenant = app.token(&admin, &admin_secret, &[("resource", "urn:writ:admin")]).await;
    assert_eq!(
        app.patch(&path, &tenant, &json!({"jwks": {"keys": [Key::new("ES256", "mine").public]}})).await.0,
        404
    );
    assert_eq!(with_assertion(&app, &rotated.sign(&claims(&app, id)), &[]).await.0, 200, "unchanged");

    // The audit log tells who changed the keys, naming the kids.
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?action=client.updated&client_id={id}"), &op).await;
    let update = events["data"].as_array().unwrap().last().unwrap();
    assert_eq!(update["details"]["keys"]["kids"], json!(["k2"]), "{update}");
}

/// A client that publishes its keys at a URL: fetched once, cached, and refetched once for an
/// unknown kid (a rotation), no more often than the interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_uri_is_fetched_cached_and_refetched_once_for_a_new_kid() {
    let app = writ_testkit::spawn_app(writ_testkit::Backend::Sqlite).await.unwrap();
    let (op, org) = org(&app, "acme").await;
    let first = Key::new("ES256", "2026-01");
    let published = Arc::new(Mutex::new(json!({ "keys": [first.public] }).to_string()));
    let serving = published.clone();
    let (base, hits) = super::fetch::server(Duration::ZERO, move |_| {
        super::fetch::ok(&serving.lock().unwrap(), "max-age=3600")
    })
    .await;
    let created = client(&app, &op, &org, json!({ "jwks_uri": format!("{base}/jwks") })).await;
    assert_eq!(created["jwks_uri"], format!("{base}/jwks"));
    let id = created["client_id"].as_str().unwrap();
    let count = || hits.load(std::sync::atomic::Ordering::Relaxed);

    assert_eq!(with_assertion(&app, &first.sign(&claims(&app, id)), &[]).await.0, 200);
    assert_eq!(with_assertion(&app, &first.sign(&claims(&app, id)), &[]).await.0, 200);
    assert_eq!(count(), 1, "fetched once, then cached");

    // The client rotates: a new kid sends Writ back for the keys, once.
    let second = Key::new("RS256", "2026-02");
    *published.lock().unwrap() = json!({ "keys": [first.public, second.public] }).to_string();
    assert_eq!(with_assertion(&app, &second.sign(&claims(&app, id)), &[]).await.0, 200);
    assert_eq!(count(), 2);
    // An unknown kid right after is refused without another fetch.
    let stranger = Key::new("ES256", "2026-03");
    assert_eq!(with_assertion(&app, &stranger.sign(&claims(&app, id)), &[]).await.0, 401);
    assert_eq!(count(), 2, "at most one refetch per interval");
    assert_eq!(with_assertion(&app, &second.sign(&claims(&app, id)), &[]).await.0, 200);
    assert_eq!(count(), 2);

    // A jwks_uri on a private address is refused at fetch time even when loopback is allowed.
    let (_, body) = app
        .patch(&format!("/admin/v1/clients/{id}"), &op, &json!({"jwks_uri": "https://10.1.2.3/jwks"}))
        .await;
    assert_eq!(body["jwks_uri"], "https://10.1.2.3/jwks");
    assert_eq!(with_assertion(&app, &second.sign(&claims(&app, id)), &[]).await.0, 401);
}
