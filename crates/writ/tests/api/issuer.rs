//! The issuer's behaviour over the admin API: client kinds and their claims, changes that must take
//! effect at once (through the client cache), and the secret lifecycle.

use serde_json::{Value, json};
use writ_store::{Audit, Page, Tenant};
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";

pub(crate) fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

pub(crate) async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or_default().to_owned())
}

on_every_backend!(
    client_kinds_carry_their_claims,
    changes_take_effect_at_once,
    secrets_rotate_and_are_audited
);

async fn client_kinds_carry_their_claims(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read", "invoices:write"])]).await;

    // A service client: no org claims.
    let body = json!({"name": "svc", "kind": "service", "grants": [{"resource": BILLING, "scopes": ["invoices:write"]}],
                      "token_ttl_seconds": 600});
    let (status, svc) = app.post("/admin/v1/clients", &op, &body).await;
    assert_eq!(status, 201, "{svc}");
    let token =
        app.token(svc["client_id"].as_str().unwrap(), svc["client_secret"].as_str().unwrap(), &[]).await;
    let claims = claims_of(&token);
    assert!(claims.get("oid").is_none() && claims.get("uid").is_none());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);

    // A user client: oid and uid, and never more than the user holds — at creation, and after the
    // user's grants shrink.
    let both = json!([{"resource": BILLING, "scopes": ["invoices:read", "invoices:write"]}]);
    let (status, user) = app
        .post("/admin/v1/users", &op, &json!({"email": "Ann@Acme.example", "org_id": org, "grants": both}))
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], "ann@acme.example");
    let user_id = user["id"].as_str().unwrap();
    let agent =
        json!({"name": "ann-agent", "kind": "user", "org_id": org, "user_id": user_id, "grants": both});
    let (status, uc) = app.post("/admin/v1/clients", &op, &agent).await;
    assert_eq!(status, 201, "{uc}");
    let (uid, usecret) = (uc["client_id"].as_str().unwrap(), uc["client_secret"].as_str().unwrap());
    let claims = claims_of(&app.token(uid, usecret, &[]).await);
    assert_eq!(claims["oid"], org.as_str());
    assert_eq!(claims["uid"], user_id);
    assert_eq!(claims["scope"], "invoices:read invoices:write");

    let read_only = json!({"grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]});
    let (status, body) = app.patch(&format!("/admin/v1/users/{user_id}"), &op, &read_only).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(&app.token(uid, usecret, &[]).await);
    assert_eq!(claims["scope"], "invoices:read", "capped by the user's own grants");
    let res = app.token_request(uid, usecret, &[("scope", "invoices:write")]).await;
    assert_eq!(error_of(res).await, (400, "invalid_scope".into()));
    let (status, body) = app.post("/admin/v1/clients", &op, &agent).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("grants")), "{body}");

    // A disabled user's clients are refused like a wrong secret; a deleted user takes its clients.
    let disable = json!({"status": "disabled"});
    assert_eq!(app.patch(&format!("/admin/v1/users/{user_id}"), &op, &disable).await.0, 200);
    assert_eq!(error_of(app.token_request(uid, usecret, &[]).await).await, (401, "invalid_client".into()));
    assert_eq!(app.delete(&format!("/admin/v1/users/{user_id}"), &op).await.0, 204);
    assert_eq!(app.get(&format!("/admin/v1/clients/{uid}"), &op).await.0, 404);
    assert_eq!(app.get(&format!("/admin/v1/users/{user_id}"), &op).await.0, 404);
}

async fn changes_take_effect_at_once(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    let (id, secret) =
        app.create_org_client(&op, &org, &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    app.token(&id, &secret, &[]).await; // now cached

    // Entitlements shrink: the next token shrinks too; emptied, the client is granted nothing.
    let shrink = json!({"entitlements": [{"resource": BILLING, "scopes": ["invoices:read"]}]});
    let http = &app.http;
    let patch = |path: String, body: Value| http.patch(app.url(&path)).bearer_auth(&op).json(&body).send();
    assert_eq!(patch(format!("/admin/v1/orgs/{org}"), shrink).await.unwrap().status(), 200);
    assert_eq!(claims_of(&app.token(&id, &secret, &[]).await)["scope"], "invoices:read");
    assert_eq!(
        patch(format!("/admin/v1/orgs/{org}"), json!({"entitlements": []})).await.unwrap().status(),
        200
    );
    assert_eq!(
        error_of(app.token_request(&id, &secret, &[]).await).await,
        (400, "unauthorized_client".into())
    );
    let restore =
        json!({"entitlements": [{"resource": BILLING, "scopes": ["invoices:read", "invoices:write"]}]});
    assert_eq!(patch(format!("/admin/v1/orgs/{org}"), restore).await.unwrap().status(), 200);

    // Suspended org, then disabled client: invalid_client, exactly like a wrong secret.
    assert_eq!(
        patch(format!("/admin/v1/orgs/{org}"), json!({"status": "suspended"})).await.unwrap().status(),
        200
    );
    assert_eq!(error_of(app.token_request(&id, &secret, &[]).await).await, (401, "invalid_client".into()));
    assert_eq!(
        patch(format!("/admin/v1/orgs/{org}"), json!({"status": "active"})).await.unwrap().status(),
        200
    );
    app.token(&id, &secret, &[]).await;
    let res = patch(format!("/admin/v1/clients/{id}"), json!({"status": "disabled"})).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(error_of(app.token_request(&id, &secret, &[]).await).await, (401, "invalid_client".into()));
    let res = patch(format!("/admin/v1/clients/{id}"), json!({"status": "enabled"})).await.unwrap();
    assert_eq!(res.status(), 422);

    // Grants can be changed, within the entitlements only.
    let res = patch(format!("/admin/v1/clients/{id}"), json!({"status": "active", "token_ttl_seconds": 900}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let claims = claims_of(&app.token(&id, &secret, &[]).await);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    let too_much =
        json!({"grants": [{"resource": writ_core::ADMIN_AUDIENCE, "scopes": ["admin:orgs:read"]}]});
    assert_eq!(patch(format!("/admin/v1/clients/{id}"), too_much).await.unwrap().status(), 422);
}

async fn secrets_rotate_and_are_audited(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read"]).await;
    let org = app.create_org(&op, "acme", &[(BILLING, &["invoices:read"])]).await;
    let (id, first) = app.create_org_client(&op, &org, &[(BILLING, &["invoices:read"])]).await;
    let secrets_path = format!("/admin/v1/clients/{id}/secrets");

    // A second secret works at once, alongside the first.
    let (status, second) = app.post(&secrets_path, &op, &json!({})).await;
    assert_eq!(status, 201, "{second}");
    let second_secret = second["client_secret"].as_str().unwrap().to_owned();
    app.token(&id, &second_secret, &[]).await;
    app.token(&id, &first, &[]).await;

    // The list shows metadata, never values, and when each was last used.
    app.ctx.audit.flush().await;
    let (status, list) = app.get(&secrets_path, &op).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&second_secret) && !list.to_string().contains(&first));
    assert!(list["data"].as_array().unwrap().iter().all(|s| s["last_used_at"].is_string()), "{list}");

    // The issuance audit record names the secret that authenticated.
    let events = Audit::new(app.ctx.store.conn())
        .list(
            &Tenant::Operator,
            &Page { limit: 200, after: None },
            &writ_store::AuditFilter::action("token.issued"),
        )
        .await
        .unwrap()
        .items;
    let last = events.last().unwrap();
    let first_id = list["data"][0]["secret_id"].as_str().unwrap();
    assert_eq!(last.details["secret_id"], first_id);
    assert_eq!(last.target_id.as_deref(), last.details["jti"].as_str());
    assert_eq!(last.org_id.as_ref().map(|o| o.as_str()), Some(org.as_str()));

    // The writer records use times in one statement per batch, and never moves one back: a batch
    // arriving late with older times leaves the newer ones.
    let ids: Vec<writ_core::SecretId> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| writ_core::SecretId::parse(s["secret_id"].as_str().unwrap()).unwrap())
        .collect();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::hours(1)).replace_nanosecond(0).unwrap();
    let earlier = later - time::Duration::minutes(30);
    let conn = app.ctx.store.conn();
    writ_store::touch_secrets(conn, &[(ids[0].clone(), later), (ids[1].clone(), earlier)]).await.unwrap();
    writ_store::touch_secrets(conn, &[(ids[0].clone(), earlier), (ids[1].clone(), later)]).await.unwrap();
    let (_, list) = app.get(&secrets_path, &op).await;
    let rfc3339 = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    for secret in list["data"].as_array().unwrap() {
        let at = time::OffsetDateTime::parse(
            secret["last_used_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(rfc3339(at), rfc3339(later), "{list}");
    }

    // Deleting the first: it fails at once, the second keeps working.
    let res = app
        .http
        .delete(app.url(&format!("{secrets_path}/{first_id}")))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(error_of(app.token_request(&id, &first, &[]).await).await, (401, "invalid_client".into()));
    app.token(&id, &second_secret, &[]).await;
    let res = app
        .http
        .delete(app.url(&format!("{secrets_path}/{first_id}")))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // At most five usable secrets.
    for _ in 0..4 {
        assert_eq!(app.post(&secrets_path, &op, &json!({})).await.0, 201);
    }
    let (status, body) = app.post(&secrets_path, &op, &json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("too_many_secrets")));

    // An expiring secret stops working when it expires.
    let (_, list) = app.get(&secrets_path, &op).await;
    let victim = list["data"][1]["secret_id"].as_str().unwrap();
    let url = app.url(&format!("{secrets_path}/{victim}"));
    assert_eq!(app.http.delete(url).bearer_auth(&op).send().await.unwrap().status(), 204);
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, expiring) = app.post(&secrets_path, &op, &json!({"expires_at": soon})).await;
    assert_eq!(status, 201, "{expiring}");
    let expiring = expiring["client_secret"].as_str().unwrap().to_owned();
    app.token(&id, &expiring, &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(error_of(app.token_request(&id, &expiring, &[]).await).await, (401, "invalid_client".into()));
    let (status, body) = app.post(&secrets_path, &op, &json!({"expires_at": "2001-01-01T00:00:00Z"})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("expires_at")));
}

/// An issuer with a path (`https://auth.example.com/tenant`): its metadata at the three places
/// clients look (RFC 8414 §3's inserted path, OpenID Connect's inserted and appended forms), each
/// with the issuer exactly; its endpoints answer under the path too, as without a proxy stripping
/// it; another path is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_with_a_path_is_discovered_in_all_three_places() {
    const ISSUER: &str = "https://auth.example.com/tenant";
    let app = writ_testkit::spawn_app_with(writ_testkit::Backend::Sqlite, |s| s.issuer = Some(ISSUER.into()))
        .await
        .unwrap();
    for path in [
        "/.well-known/oauth-authorization-server/tenant",
        "/.well-known/openid-configuration/tenant",
        "/tenant/.well-known/openid-configuration",
    ] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let doc: serde_json::Value = res.json().await.unwrap();
        assert_eq!(doc["issuer"], ISSUER, "{path}");
        assert_eq!(doc["token_endpoint"], format!("{ISSUER}/oauth/token"));
        assert_eq!(doc["authorization_endpoint"], format!("{ISSUER}/oauth/authorize"));
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    }
    for path in [
        "/.well-known/oauth-authorization-server/other",
        "/.well-known/openid-configuration/tenant/more",
        "/other/.well-known/openid-configuration",
        "/tenants/.well-known/openid-configuration",
    ] {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }

    // The token endpoint (and the JWKS) under the issuer's path, as its metadata says.
    let op = app.operator_token().await;
    app.create_resource(&op, "https://api.example.com/billing", &["invoices:read"]).await;
    let org = app.create_org(&op, "acme", &[("https://api.example.com/billing", &["invoices:read"])]).await;
    let (id, secret) =
        app.create_org_client(&op, &org, &[("https://api.example.com/billing", &["invoices:read"])]).await;
    let res = app
        .http
        .post(app.url("/tenant/oauth/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token: serde_json::Value = res.json().await.unwrap();
    let claims = token["access_token"].as_str().unwrap().split('.').nth(1).unwrap().to_owned();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(app.http.get(app.url("/tenant/.well-known/jwks.json")).send().await.unwrap().status(), 200);
}

/// Without a path, the path forms are not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_without_a_path_has_no_path_forms() {
    let app = writ_testkit::spawn_app(writ_testkit::Backend::Sqlite).await.unwrap();
    assert_eq!(
        app.http.get(app.url("/.well-known/oauth-authorization-server")).send().await.unwrap().status(),
        200
    );
    for path in ["/.well-known/oauth-authorization-server/x", "/.well-known/openid-configuration/x"] {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
}
