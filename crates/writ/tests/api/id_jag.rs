//! Enterprise-managed authorization (docs/mcp.md): an org's IdP, trusted by the operator for that
//! org, issues ID-JAGs (`typ: oauth-id-jag+jwt`); a client presents one with the jwt-bearer grant
//! and its own credentials, and gets the person's token — within the ID-JAG, the client, the org
//! and the person — once per `jti`; every other shape is refused.

use serde_json::{Value, json};
use writ_testkit::{TestApp, on_every_backend};

use super::delegation::{BILLING, claims, token, world};
use super::private_key_jwt::Key;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const IDP: &str = "https://idp.acme.example";

on_every_backend!(an_org_idp_grants_a_persons_token_to_a_client);

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An ID-JAG's claims: Ada, for `client_id`, at `app`.
fn id_jag(app: &TestApp, client_id: &str) -> Value {
    json!({"iss": IDP, "sub": "ada-at-idp", "email": "ada@acme.example", "aud": app.ctx.issuer,
           "client_id": client_id, "jti": writ_core::id::new_token_id(), "iat": now(), "exp": now() + 300,
           "resource": BILLING, "scope": "invoices:read"})
}

async fn exchange(
    app: &TestApp,
    client: (&str, &str),
    assertion: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![("grant_type", JWT_BEARER), ("assertion", assertion)];
    form.extend_from_slice(extra);
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(client.0, Some(client.1))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn an_org_idp_grants_a_persons_token_to_a_client(app: TestApp) {
    let w = world(&app).await;
    let (_, metadata) = app.get("/.well-known/oauth-authorization-server", "").await;
    assert_eq!(
        metadata["authorization_grant_profiles_supported"],
        json!(["urn:ietf:params:oauth:grant-profile:id-jag"])
    );
    let idp = Key::new("ES256", "idp-1");
    // The operator trusts the IdP for acme's people, named by email.
    let body = json!({"issuer": IDP, "name": "Acme IdP", "jwks": {"keys": [idp.public]},
                      "id_jag": {"org_id": w.org, "user_claim": "email"}});
    let (status, issuer) = app.post("/admin/v1/trusted-issuers", &w.op, &body).await;
    assert_eq!(status, 201, "{issuer}");
    assert_eq!(issuer["id_jag"], json!({"org_id": w.org, "user_claim": "email"}));
    // A confidential agent of acme that may use the jwt-bearer grant for people.
    let grants = json!([{"resource": BILLING, "scopes": ["invoices:read", "invoices:write"]}]);
    let (status, agent) = app
        .post(
            "/admin/v1/clients",
            &w.op,
            &json!({"name": "Acme MCP agent", "kind": "org", "org_id": w.org, "grants": grants,
                    "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]}),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    let client = (
        agent["client_id"].as_str().unwrap().to_owned(),
        agent["client_secret"].as_str().unwrap().to_owned(),
    );
    let me = (client.0.as_str(), client.1.as_str());

    let jag = |claims: &Value| idp.sign_with(claims, Some("idp-1"), Some("oauth-id-jag+jwt"));
    let good = id_jag(&app, me.0);
    let assertion = jag(&good);
    let (status, body) = exchange(&app, me, &assertion, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "no refresh token: the client comes back with a new ID-JAG");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (access["sub"].as_str(), access["oid"].as_str()),
        (Some(w.user.as_str()), Some(w.org.as_str()))
    );
    assert_eq!((access["aud"].as_str(), access["scope"].as_str()), (Some(BILLING), Some("invoices:read")));
    assert!(access["cred"].as_str().unwrap().starts_with("azn_"));
    let first = body["access_token"].as_str().unwrap().to_owned();
    // Used once.
    let (status, again) = exchange(&app, me, &assertion, &[]).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "{again}");

    // Shapes that are refused, each with a fresh jti.
    let other = Key::new("ES256", "idp-1");
    let with = |patch: Value| {
        let mut c = id_jag(&app, me.0);
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    // Without its typ it is no ID-JAG, but a client's own assertion, which comes alone.
    let untyped = idp.sign_with(&id_jag(&app, me.0), Some("idp-1"), Some("JWT"));
    let (status, body) = exchange(&app, me, &untyped, &[]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    for (assertion, why) in [
        (other.sign_with(&id_jag(&app, me.0), Some("idp-1"), Some("oauth-id-jag+jwt")), "another key"),
        (jag(&with(json!({"aud": "https://elsewhere.example"}))), "another audience"),
        (jag(&with(json!({"aud": [app.ctx.issuer, "https://elsewhere.example"]}))), "two audiences"),
        (jag(&with(json!({"client_id": w.native}))), "another client"),
        (jag(&with(json!({"jti": null}))), "no jti"),
        (jag(&with(json!({"exp": now() - 60}))), "expired"),
        (jag(&with(json!({"exp": now() + 7200, "iat": now()}))), "longer than the issuer allows"),
        (jag(&with(json!({"email": "nobody@acme.example"}))), "nobody of the org"),
        (jag(&with(json!({"iss": "https://idp.other.example"}))), "an untrusted issuer"),
    ] {
        let (status, body) = exchange(&app, me, &assertion, &[]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{why}: {body}");
    }
    // Beyond the ID-JAG's scope or resource: said as such.
    let (status, body) = exchange(&app, me, &jag(&id_jag(&app, me.0)), &[("scope", "invoices:write")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (status, body) =
        exchange(&app, me, &jag(&id_jag(&app, me.0)), &[("resource", "https://api.example.com/files")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")), "{body}");
    // Beyond what the person holds (Ada may only read): the ID-JAG cannot widen it.
    let (status, body) = exchange(&app, me, &jag(&with(json!({"scope": "invoices:write"}))), &[]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    // The client must still authenticate.
    let (status, body) = exchange(&app, (me.0, "writ_cs_wrong"), &jag(&id_jag(&app, me.0)), &[]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    // An ID-JAG is never a client's credential.
    let as_credential = [
        ("grant_type", "client_credentials"),
        ("client_id", me.0),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
    ];
    let jag_credential = jag(&id_jag(&app, me.0));
    let mut form = as_credential.to_vec();
    form.push(("client_assertion", &jag_credential));
    let (status, body) = token(&app, &form, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");

    // The exchange is the person's consent, given through the IdP: the person sees it, and
    // withdrawing it ends the token.
    let (_, consents) = app.get(&format!("/admin/v1/users/{}/consents", w.user), &w.op).await;
    let consent =
        consents["data"].as_array().unwrap().iter().find(|c| c["client_id"] == me.0).unwrap().clone();
    let (status, _) = app
        .delete(&format!("/admin/v1/users/{}/consents/{}", w.user, consent["id"].as_str().unwrap()), &w.op)
        .await;
    assert_eq!(status, 204);
    let introspected: Value = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(me.0, Some(me.1))
        .form(&[("token", first.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false, "{introspected}");

    // Unbound, the issuer's ID-JAGs are no longer taken.
    let id = issuer["id"].as_str().unwrap();
    let (status, body) =
        app.patch(&format!("/admin/v1/trusted-issuers/{id}"), &w.op, &json!({"id_jag": null})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = exchange(&app, me, &jag(&id_jag(&app, me.0)), &[]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}
