//! Tenant isolation, exhaustively: every admin route — enumerated from the route table, so a new
//! route cannot be forgotten — called with tenant A's token (holding every admin scope) against
//! tenant B's objects. Each answers as if B's objects did not exist, never names them, and
//! changes nothing.

use reqwest::Method;
use serde_json::{Value, json};
use writ_core::{ADMIN_AUDIENCE, ADMIN_SCOPES};
use writ_testkit::{TestApp, on_every_backend};

const BILLING: &str = "https://api.example.com/billing";
const TABLES: [&str; 13] = [
    "orgs",
    "org_entitlements",
    "users",
    "user_grants",
    "clients",
    "client_grants",
    "client_secrets",
    "federated_credentials",
    "trusted_issuers",
    "resources",
    "audit_events",
    "invitations",
    "consents",
];

on_every_backend!(every_admin_route_hides_other_tenants);

/// What tenant A must get from a route called on tenant B's objects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// B's object is not found, exactly like a missing one.
    NotFound,
    /// Operator-only: refused whatever the object.
    Forbidden,
    /// Answered, from A's own data only.
    Ok,
    /// A body naming B's org reads exactly like one naming an org that does not exist.
    SameAsMissing,
}

/// The expectation and body of each admin operation. A route missing here fails the test.
fn plan(operation: &str, b: &Objects) -> (Expect, Option<Value>) {
    use Expect::*;
    match operation {
        "get_org"
        | "get_client"
        | "get_user"
        | "list_secrets"
        | "delete_org"
        | "delete_client"
        | "delete_user"
        | "delete_secret"
        | "list_federated_credentials"
        | "delete_federated_credential"
        | "list_consents"
        | "revoke_consent" => (NotFound, None),
        "create_federated_credential" => (
            NotFound,
            Some(json!({"issuer": b.issuer_url, "name": "x", "subject": "system:serviceaccount:a:*"})),
        ),
        "list_trusted_issuers" | "get_trusted_issuer" | "delete_trusted_issuer" => (Forbidden, None),
        "create_trusted_issuer" => (Forbidden, Some(json!({"issuer": "https://x.example.com", "name": "x"}))),
        "update_trusted_issuer" => (Forbidden, Some(json!({"single_use": false}))),
        "update_org" => (NotFound, Some(json!({"name": "pwned"}))),
        "update_client" | "update_user" => (NotFound, Some(json!({"status": "disabled"}))),
        "create_secret" | "revoke_client_tokens" | "invite_user" => (NotFound, Some(json!({}))),
        "create_revocation" => (NotFound, Some(json!({"client_id": b.client}))),
        "list_orgs" | "list_clients" | "list_users" | "list_audit_events" | "list_resources"
        | "get_resource" => (Ok, None),
        "create_client" => (
            SameAsMissing,
            Some(
                json!({"name": "x", "kind": "org", "org_id": b.org, "grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]}),
            ),
        ),
        "create_user" => (SameAsMissing, Some(json!({"email": "x@b.example", "org_id": b.org}))),
        "create_org" => (Forbidden, Some(json!({"name": "x", "slug": "x-org"}))),
        "update_resource" => (Forbidden, Some(json!({"name": "x"}))),
        "create_resource" => (Forbidden, Some(json!({"identifier": "https://x.example", "name": "x"}))),
        "delete_resource" | "list_keys" | "revoke_key" => (Forbidden, None),
        "rotate_key" => (Forbidden, Some(json!({}))),
        other => panic!("admin route `{other}` is not in the tenant walk: add it to plan()"),
    }
}

/// Tenant B's objects.
struct Objects {
    org: String,
    client: String,
    secret: String,
    user: String,
    user_client: String,
    resource: String,
    kid: String,
    issuer: String,
    issuer_url: String,
    credential: String,
    consent: String,
}

impl Objects {
    fn path(&self, template: &str) -> String {
        template
            .replace("{org_id}", &self.org)
            .replace("{client_id}", &self.client)
            .replace("{secret_id}", &self.secret)
            .replace("{user_id}", &self.user)
            .replace("{resource_id}", &self.resource)
            .replace("{kid}", &self.kid)
            .replace("{issuer_id}", &self.issuer)
            .replace("{credential_id}", &self.credential)
            .replace("{consent_id}", &self.consent)
    }

    fn mentioned_in(&self, text: &str) -> Option<&str> {
        [
            &self.org,
            &self.client,
            &self.secret,
            &self.user,
            &self.user_client,
            &self.credential,
            &self.consent,
        ]
        .into_iter()
        .map(String::as_str)
        .chain(["org-b", "bob@b.example"])
        .find(|id| text.contains(id))
    }
}

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in TABLES {
        out.push(writ_testkit::count_rows(app.ctx.store.conn(), table).await.unwrap());
    }
    out
}

async fn every_admin_route_hides_other_tenants(app: TestApp) {
    let op = app.operator_token().await;
    app.create_resource(&op, BILLING, &["invoices:read", "invoices:write"]).await;
    let every_admin_scope: Vec<&str> = ADMIN_SCOPES.iter().map(|(s, _)| *s).collect();
    let org_a = app
        .create_org(&op, "org-a", &[(BILLING, &["invoices:read"]), (ADMIN_AUDIENCE, &every_admin_scope)])
        .await;
    let org_b = app.create_org(&op, "org-b", &[(BILLING, &["invoices:read", "invoices:write"])]).await;
    let (a_admin, a_secret) =
        app.create_org_client(&op, &org_a, &[(ADMIN_AUDIENCE, &every_admin_scope)]).await;
    let tenant = app.token(&a_admin, &a_secret, &[("resource", ADMIN_AUDIENCE)]).await;

    let (b_client, b_secret) = app.create_org_client(&op, &org_b, &[(BILLING, &["invoices:read"])]).await;
    let (_, secrets) = app.get(&format!("/admin/v1/clients/{b_client}/secrets"), &op).await;
    let grants = json!([{"resource": BILLING, "scopes": ["invoices:read"]}]);
    let (_, user) = app
        .post("/admin/v1/users", &op, &json!({"email": "bob@b.example", "org_id": org_b, "grants": grants}))
        .await;
    let body = json!({"name": "bob-agent", "kind": "user", "org_id": org_b, "user_id": user["id"], "grants": grants});
    let (status, user_client) = app.post("/admin/v1/clients", &op, &body).await;
    assert_eq!(status, 201, "{user_client}");
    let (_, resources) = app.get("/admin/v1/resources", &op).await;
    let billing = resources["data"].as_array().unwrap().iter().find(|r| r["identifier"] == BILLING).unwrap();
    let (_, keys) = app.get("/admin/v1/keys", &op).await;
    let issuer_url = "https://token.actions.githubusercontent.com";
    let (_, issuer) =
        app.post("/admin/v1/trusted-issuers", &op, &json!({"issuer": issuer_url, "name": "GitHub"})).await;
    let body = json!({"issuer": issuer_url, "name": "b deploys", "subject": "repo:b/app:*"});
    let (status, credential) =
        app.post(&format!("/admin/v1/clients/{b_client}/federated-credentials"), &op, &body).await;
    assert_eq!(status, 201, "{credential}");
    let b = Objects {
        org: org_b.clone(),
        client: b_client.clone(),
        secret: secrets["data"][0]["secret_id"].as_str().unwrap().to_owned(),
        user: user["id"].as_str().unwrap().to_owned(),
        user_client: user_client["client_id"].as_str().unwrap().to_owned(),
        resource: billing["id"].as_str().unwrap().to_owned(),
        kid: keys["data"][0]["kid"].as_str().unwrap().to_owned(),
        issuer: issuer["id"].as_str().unwrap().to_owned(),
        issuer_url: issuer_url.to_owned(),
        credential: credential["id"].as_str().unwrap().to_owned(),
        consent: super::delegation::stored_consent(&app, &org_b, user["id"].as_str().unwrap(), &b_client)
            .await,
    };
    let b_views = [
        format!("/admin/v1/orgs/{org_b}"),
        format!("/admin/v1/clients/{b_client}"),
        format!("/admin/v1/clients/{b_client}/secrets"),
        format!("/admin/v1/clients/{b_client}/federated-credentials"),
        format!("/admin/v1/users/{}", b.user),
        format!("/admin/v1/clients/{}", b.user_client),
    ];
    let mut before = Vec::new();
    for path in &b_views {
        before.push(app.get(path, &op).await);
    }
    let rows_before = counts(&app).await;

    let spec = writ_admin::openapi();
    let mut walked = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let Some(id) = operation["operationId"].as_str() else { continue };
            let (expect, body) = plan(id, &b);
            let mut path = b.path(template);
            let takes_org = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "org_id" && p["in"] == "query"));
            if takes_org {
                path.push_str(&format!("?org_id={org_b}"));
            }
            let (status, answer) = app.call(method.clone(), &path, &tenant, body.as_ref()).await;
            let what = format!("{method} {path} ({id}) → {status} {answer}");
            assert_eq!(b.mentioned_in(&answer.to_string()), None, "leaks B: {what}");
            match expect {
                Expect::NotFound => {
                    assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{what}")
                }
                Expect::Forbidden => assert_eq!(status, 403, "{what}"),
                Expect::Ok => {
                    assert_eq!(status, 200, "{what}");
                    if takes_org {
                        assert_eq!(answer["data"], json!([]), "B's org filter must give nothing: {what}");
                    }
                }
                Expect::SameAsMissing => {
                    let missing_org = "org_01m840pc5reg6ryj3yqh3rs90m";
                    let body = body.as_ref().unwrap().to_string().replace(&org_b, missing_org);
                    let body: Value = serde_json::from_str(&body).unwrap();
                    let missing = app.call(method.clone(), &path, &tenant, Some(&body)).await;
                    assert_eq!((status, answer.clone()), missing, "{what}");
                    assert_eq!(status, 422, "{what}");
                }
            }
            walked += 1;
        }
    }
    assert!(walked >= 37, "walked only {walked} routes");

    // Nothing changed, nothing was written, and B's client still works.
    assert_eq!(counts(&app).await, rows_before, "rows of {TABLES:?}");
    for (path, seen) in b_views.iter().zip(&before) {
        assert_eq!(&app.get(path, &op).await, seen, "{path}");
    }
    app.token(&b_client, &b_secret, &[]).await;
}
