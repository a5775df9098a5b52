//! Workload identity federation (issue 18, points 3 and 4): tokens shaped exactly like GitHub
//! Actions OIDC tokens, Kubernetes projected service-account tokens and SPIFFE JWT-SVIDs, minted
//! by issuers started here (one serving OIDC discovery and its JWKS, two whose keys are
//! registered inline), authenticate clients through federated credentials; bad ones are refused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use writ_testkit::{TestApp, on_every_backend};

use super::private_key_jwt::Key;

const BILLING: &str = "https://api.example.com/billing";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An OIDC issuer on loopback: discovery at `/.well-known/openid-configuration`, keys at `/jwks`.
struct Issuer {
    url: String,
    key: Key,
    hits: Arc<std::sync::atomic::AtomicU64>,
}

async fn oidc_issuer(key: Key) -> Issuer {
    let base = Arc::new(Mutex::new(String::new()));
    let jwks = json!({ "keys": [key.public] }).to_string();
    let known = base.clone();
    let (url, hits) = super::fetch::server(Duration::ZERO, move |path| {
        let base = known.lock().unwrap().clone();
        let body = match path {
            "/.well-known/openid-configuration" => json!({
                "issuer": base, "jwks_uri": format!("{base}/jwks"),
                "id_token_signing_alg_values_supported": ["RS256"], "response_types_supported": ["id_token"],
            })
            .to_string(),
            _ => jwks.clone(),
        };
        super::fetch::ok(&body, "max-age=300")
    })
    .await;
    *base.lock().unwrap() = url.clone();
    Issuer { url, key, hits }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A GitHub Actions OIDC token's claims, as GitHub mints them, for `aud`.
fn github(iss: &str, aud: &str, repo: &str, branch: &str) -> Value {
    let owner = repo.split('/').next().unwrap();
    json!({
        "jti": writ_core::id::new_token_id(),
        "sub": format!("repo:{repo}:ref:refs/heads/{branch}"),
        "aud": aud,
        "ref": format!("refs/heads/{branch}"),
        "sha": "d6f3e2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5",
        "repository": repo,
        "repository_owner": owner,
        "repository_owner_id": "65432",
        "run_id": "8123456789",
        "run_number": "42",
        "run_attempt": "1",
        "repository_visibility": "private",
        "repository_id": "123456",
        "actor_id": "98765",
        "actor": "octocat",
        "workflow": "deploy",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_protected": "true",
        "ref_type": "branch",
        "workflow_ref": format!("{repo}/.github/workflows/deploy.yml@refs/heads/{branch}"),
        "workflow_sha": "d6f3e2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5",
        "job_workflow_ref": format!("{repo}/.github/workflows/deploy.yml@refs/heads/{branch}"),
        "job_workflow_sha": "d6f3e2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5",
        "runner_environment": "github-hosted",
        "iss": iss,
        "nbf": now() - 5,
        "exp": now() + 295,
        "iat": now() - 5,
    })
}

/// A Kubernetes projected service-account token's claims.
fn kubernetes(iss: &str, aud: &str, namespace: &str, account: &str) -> Value {
    json!({
        "aud": [aud],
        "exp": now() + 3590,
        "iat": now() - 10,
        "iss": iss,
        "jti": writ_core::id::new_token_id(),
        "kubernetes.io": {
            "namespace": namespace,
            "node": {"name": "node-1", "uid": "5b1c4f2e-0d9a-4c8e-9f1b-2a3c4d5e6f70"},
            "pod": {"name": format!("{account}-7d9f8c6b5-x2k4p"), "uid": "0c7e5a1d-3b2f-4e6a-8d9c-1f2e3a4b5c6d"},
            "serviceaccount": {"name": account, "uid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
        },
        "nbf": now() - 10,
        "sub": format!("system:serviceaccount:{namespace}:{account}"),
    })
}

/// A SPIFFE JWT-SVID's claims.
fn spiffe(iss: &str, aud: &str, id: &str) -> Value {
    json!({ "aud": [aud], "exp": now() + 300, "iat": now(), "iss": iss, "sub": id })
}

/// A client-credentials request authenticated by a platform token for `client_id`.
async fn with_token(app: &TestApp, client_id: &str, token: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", token),
        ("resource", BILLING),
    ];
    let res = app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// The jwt-bearer grant with a platform token for `client_id`.
async fn by_grant(app: &TestApp, client_id: &str, token: &str) -> (u16, Value) {
    let form =
        [("grant_type", JWT_BEARER), ("client_id", client_id), ("assertion", token), ("resource", BILLING)];
    let res = app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The operator token, an org entitled to billing, and a federated-only client of it.
async fn setup(app: &TestApp, slug: &str) -> (String, String, String) {
    let op = app.operator_token().await;
    if !app.get("/admin/v1/resources", &op).await.1.to_string().contains(BILLING) {
        app.create_resource(&op, BILLING, &["invoices:read"]).await;
    }
    let org = app.create_org(&op, slug, &[(BILLING, &["invoices:read"])]).await;
    let body = json!({"name": "deployer", "kind": "org", "org_id": org, "token_endpoint_auth_methods": ["federated"],
                      "grants": [{"resource": BILLING, "scopes": ["invoices:read"]}]});
    let (status, client) = app.post("/admin/v1/clients", &op, &body).await;
    assert_eq!(status, 201, "{client}");
    assert!(client.get("client_secret").is_none(), "a federated-only client has no secret");
    (op, org, client["client_id"].as_str().unwrap().to_owned())
}

async fn trust(app: &TestApp, op: &str, body: Value) -> Value {
    let (status, issuer) = app.post("/admin/v1/trusted-issuers", op, &body).await;
    assert_eq!(status, 201, "{issuer}");
    issuer
}

async fn attach(app: &TestApp, op: &str, client: &str, body: Value) -> Value {
    let (status, credential) =
        app.post(&format!("/admin/v1/clients/{client}/federated-credentials"), op, &body).await;
    assert_eq!(status, 201, "{credential}");
    credential
}

async fn introspect(app: &TestApp, token: &str) -> bool {
    let res = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(&app.operator_id, Some(&app.operator_secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    res.json::<Value>().await.unwrap()["active"].as_bool().unwrap()
}

on_every_backend!(kubernetes_and_spiffe_tokens_stand_for_clients);
writ_testkit::on_every_backend_with!(super::super::private_key_jwt::lenient; github_actions_tokens_stand_for_a_client);

async fn github_actions_tokens_stand_for_a_client(app: TestApp) {
    let (op, _, client) = setup(&app, "acme").await;
    let github_issuer = oidc_issuer(Key::new("RS256", "gh-1")).await;
    let issuer = trust(&app, &op, json!({"issuer": github_issuer.url, "name": "GitHub Actions"})).await;
    assert_eq!(
        (issuer["single_use"].as_bool(), issuer["max_token_lifetime_seconds"].as_u64()),
        (Some(true), Some(3600))
    );
    let credential = attach(
        &app,
        &op,
        &client,
        json!({"issuer": github_issuer.url, "name": "deploy from main", "subject": "repo:acme/app:ref:refs/heads/main",
               "claims": {"repository_owner": "acme", "job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/main"}}),
    )
    .await;
    let aud = app.ctx.issuer.clone();
    let good = || github_issuer.key.sign(&github(&github_issuer.url, &aud, "acme/app", "main"));

    // client_assertion, then the jwt-bearer grant: each token once.
    let token = good();
    let (status, body) = with_token(&app, &client, &token).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let claims = payload(&access);
    assert_eq!(
        (claims["sub"].as_str(), claims["cred"].as_str()),
        (Some(client.as_str()), credential["id"].as_str())
    );
    let (status, body) = with_token(&app, &client, &token).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "a replay");
    let (status, body) = by_grant(&app, &client, &good()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(github_issuer.hits.load(std::sync::atomic::Ordering::Relaxed), 2, "discovery and keys, once");

    // What is refused, and why.
    let stranger = oidc_issuer(Key::new("RS256", "gh-1")).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = github(&github_issuer.url, &aud, "acme/app", "main");
        f(&mut c);
        github_issuer.key.sign(&c)
    };
    let forged_none = {
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": "gh-1"})),
            b64(&github(&github_issuer.url, &aud, "acme/app", "main"))
        )
    };
    let hmac = {
        let secret = github_issuer.key.public.to_string();
        let signer = josekit::jws::HS256.signer_from_bytes(secret.as_bytes()).unwrap();
        let mut header = josekit::jws::JwsHeader::new();
        header.set_key_id("gh-1");
        let claims = github(&github_issuer.url, &aud, "acme/app", "main");
        josekit::jwt::encode_with_signer(
            &josekit::jwt::JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap(),
            &header,
            &signer,
        )
        .unwrap()
    };
    let refused: Vec<(&str, String)> = vec![
        ("an untrusted issuer", stranger.key.sign(&github(&stranger.url, &aud, "acme/app", "main"))),
        (
            "the trusted issuer's name, another key",
            stranger.key.sign(&github(&github_issuer.url, &aud, "acme/app", "main")),
        ),
        ("another audience", with(&|c| c["aud"] = "https://github.com/acme".into())),
        ("another branch", github_issuer.key.sign(&github(&github_issuer.url, &aud, "acme/app", "dev"))),
        (
            "another repository",
            github_issuer.key.sign(&github(&github_issuer.url, &aud, "acme/other", "main")),
        ),
        ("another owner's claims", with(&|c| c["repository_owner"] = "evil".into())),
        (
            "expired",
            with(&|c| {
                c["exp"] = (now() - 120).into();
                c["iat"] = (now() - 400).into();
            }),
        ),
        ("longer-lived than allowed", with(&|c| c["exp"] = (now() + 7200).into())),
        ("issued in the future", with(&|c| c["iat"] = (now() + 600).into())),
        (
            "no jti from a single-use issuer",
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
        ),
        (
            "an unknown kid",
            github_issuer.key.sign_with(
                &github(&github_issuer.url, &aud, "acme/app", "main"),
                Some("gh-9"),
                None,
            ),
        ),
        ("alg none", forged_none),
        ("HS256 keyed with the public key", hmac),
    ];
    for (case, token) in &refused {
        let (status, body) = with_token(&app, &client, token).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{case}: {body}");
    }
    // A client without the credential, and a client that may not use federation.
    let (_, org2, other) = setup(&app, "globex").await;
    assert_eq!(with_token(&app, &other, &good()).await.0, 401, "another client, no credential");
    let (secret_client, _) = app.create_org_client(&op, &org2, &[(BILLING, &["invoices:read"])]).await;
    attach(
        &app,
        &op,
        &secret_client,
        json!({"issuer": github_issuer.url, "name": "x", "subject": "repo:acme/app:ref:refs/heads/main"}),
    )
    .await;
    assert_eq!(with_token(&app, &secret_client, &good()).await.0, 401, "a client not allowed `federated`");
    // Malformed: the grant with other credentials, or without a client id.
    let token = good();
    let form = [("grant_type", JWT_BEARER), ("assertion", token.as_str())];
    let res = app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let form = [
        ("grant_type", JWT_BEARER),
        ("client_id", client.as_str()),
        ("assertion", token.as_str()),
        ("client_secret", "writ_cs_x"),
    ];
    let res = app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // The audit record names the external identity.
    app.ctx.audit.flush().await;
    let (_, events) =
        app.get(&format!("/admin/v1/audit-events?action=token.issued&client_id={client}"), &op).await;
    let issued =
        events["data"].as_array().unwrap().iter().find(|e| e["actor"]["id"] == client.as_str()).unwrap();
    assert_eq!(issued["details"]["external_issuer"], github_issuer.url.as_str());
    assert_eq!(issued["details"]["external_subject"], "repo:acme/app:ref:refs/heads/main");
    assert_eq!(issued["details"]["auth_method"], "federated");

    // Removing the credential revokes what it minted, and its identities no longer stand for
    // the client.
    assert!(introspect(&app, &access).await);
    let path =
        format!("/admin/v1/clients/{client}/federated-credentials/{}", credential["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, &op).await.0, 204);
    assert!(!introspect(&app, &access).await, "revoked with its credential");
    assert_eq!(with_token(&app, &client, &good()).await.0, 401);
}

async fn kubernetes_and_spiffe_tokens_stand_for_clients(app: TestApp) {
    let (op, _, client) = setup(&app, "acme").await;
    // A cluster whose keys are not public: registered inline; its tokens are reused until the
    // kubelet rotates them, so not single-use.
    let cluster_key = Key::new("RS256", "k8s-1");
    let cluster = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let issuer = trust(
        &app,
        &op,
        json!({"issuer": cluster, "name": "prod cluster", "jwks": {"keys": [cluster_key.public]},
               "single_use": false, "max_token_lifetime_seconds": 3600}),
    )
    .await;
    attach(
        &app,
        &op,
        &client,
        json!({"issuer": cluster, "name": "payments pods", "subject": "system:serviceaccount:payments:*",
               "claims": {"kubernetes.io.namespace": "payments"}}),
    )
    .await;
    let aud = app.ctx.token_endpoint();
    let token = cluster_key.sign(&kubernetes(cluster, &aud, "payments", "api"));
    for _ in 0..2 {
        let (status, body) = with_token(&app, &client, &token).await;
        assert_eq!(status, 200, "the same projected token, reused: {body}");
    }
    assert_eq!(
        with_token(&app, &client, &cluster_key.sign(&kubernetes(cluster, &aud, "billing", "api"))).await.0,
        401
    );
    // Two credentials that both match make the token ambiguous: refused until one goes.
    let overlapping = attach(
        &app,
        &op,
        &client,
        json!({"issuer": cluster, "name": "the api pod", "subject": "system:serviceaccount:payments:api"}),
    )
    .await;
    assert_eq!(with_token(&app, &client, &token).await.0, 401, "several credentials match");
    let path =
        format!("/admin/v1/clients/{client}/federated-credentials/{}", overlapping["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, &op).await.0, 204);
    assert_eq!(with_token(&app, &client, &token).await.0, 200);

    // A SPIFFE trust domain, by its own audience.
    let spire_key = Key::new("ES256", "spire-1");
    let spire = "https://spire.example.org";
    trust(
        &app,
        &op,
        json!({"issuer": spire, "name": "SPIRE", "jwks": {"keys": [spire_key.public]}, "single_use": false}),
    )
    .await;
    attach(
        &app,
        &op,
        &client,
        json!({"issuer": spire, "name": "api workload", "subject": "spiffe://example.org/ns/prod/sa/api",
               "audience": "https://writ.example.com/spiffe"}),
    )
    .await;
    let svid = spire_key.sign(&spiffe(
        spire,
        "https://writ.example.com/spiffe",
        "spiffe://example.org/ns/prod/sa/api",
    ));
    assert_eq!(by_grant(&app, &client, &svid).await.0, 200);
    let other_aud = spire_key.sign(&spiffe(
        spire,
        "https://elsewhere.example.com",
        "spiffe://example.org/ns/prod/sa/api",
    ));
    assert_eq!(by_grant(&app, &client, &other_aud).await.0, 401);

    // Deleting the cluster's trust revokes its tokens and its credentials go with it.
    let (status, body) = with_token(&app, &client, &token).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("/admin/v1/trusted-issuers/{}", issuer["id"].as_str().unwrap()), &op).await.0,
        204
    );
    assert!(!introspect(&app, &access).await);
    assert_eq!(with_token(&app, &client, &token).await.0, 401);
    let (_, list) = app.get(&format!("/admin/v1/clients/{client}/federated-credentials"), &op).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "the SPIFFE credential stays: {list}");
}

/// The admin side: only the operator trusts issuers; tenants attach credentials to their own
/// clients only, naming trusted issuers only; the rules of a credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_trusts_issuers_and_tenants_keep_to_their_clients() {
    let app = writ_testkit::spawn_app(writ_testkit::Backend::Sqlite).await.unwrap();
    let (op, _, client) = setup(&app, "acme").await;
    let key = Key::new("ES256", "k");
    let body = json!({"issuer": "https://token.actions.githubusercontent.com", "name": "GitHub", "jwks": {"keys": [key.public]}});
    trust(&app, &op, body.clone()).await;
    assert_eq!(app.post("/admin/v1/trusted-issuers", &op, &body).await.0, 409);
    for (case, bad, field) in [
        (
            "keys two ways",
            json!({"issuer": "https://a.example.com", "name": "a", "jwks": {"keys": [key.public]}, "jwks_uri": "https://a.example.com/jwks"}),
            "jwks_uri",
        ),
        (
            "a lifetime too short",
            json!({"issuer": "https://b.example.com", "name": "b", "max_token_lifetime_seconds": 10}),
            "max_token_lifetime_seconds",
        ),
        ("not a URL", json!({"issuer": "urn:example:issuer", "name": "c"}), "issuer"),
        ("plain http", json!({"issuer": "http://issuer.example.com", "name": "d"}), "issuer"),
    ] {
        let (status, problem) = app.post("/admin/v1/trusted-issuers", &op, &bad).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{case}: {problem}");
    }

    // A tenant admin: its own clients only, trusted issuers only, never the issuers themselves.
    let scopes: &[&str] =
        &["admin:clients:read", "admin:clients:write", "admin:keys:read", "admin:keys:write"];
    let admin_org = app.create_org(&op, "globex", &[("urn:writ:admin", &scopes[..2])]).await;
    let (admin, secret) = app.create_org_client(&op, &admin_org, &[("urn:writ:admin", &scopes[..2])]).await;
    let tenant = app.token(&admin, &secret, &[("resource", "urn:writ:admin")]).await;
    assert_eq!(app.get("/admin/v1/trusted-issuers", &tenant).await.0, 403);
    let credential = json!({"issuer": "https://token.actions.githubusercontent.com", "name": "x", "subject": "repo:globex/app:*"});
    let path = format!("/admin/v1/clients/{client}/federated-credentials");
    assert_eq!(app.post(&path, &tenant, &credential).await.0, 404, "another org's client");
    assert_eq!(app.get(&path, &tenant).await.0, 404);
    let (_, own) = app
        .post(
            "/admin/v1/clients",
            &tenant,
            &json!({"name": "ci", "kind": "org", "token_endpoint_auth_methods": ["federated"]}),
        )
        .await;
    let own_path = format!("/admin/v1/clients/{}/federated-credentials", own["client_id"].as_str().unwrap());
    let (status, created) = app.post(&own_path, &tenant, &credential).await;
    assert_eq!(status, 201, "{created}");
    for (case, bad, field) in [
        (
            "an untrusted issuer",
            json!({"issuer": "https://evil.example.com", "name": "x", "subject": "a"}),
            "issuer",
        ),
        (
            "any subject, no claim",
            json!({"issuer": "https://token.actions.githubusercontent.com", "name": "x", "subject": "*"}),
            "subject",
        ),
        (
            "a claim Writ checks itself",
            json!({"issuer": "https://token.actions.githubusercontent.com", "name": "x", "subject": "a", "claims": {"aud": "x"}}),
            "claims",
        ),
    ] {
        let (status, problem) = app.post(&own_path, &tenant, &bad).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{case}: {problem}");
    }
}
