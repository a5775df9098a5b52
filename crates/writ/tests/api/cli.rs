//! The `writ` binary itself: first start of the embedded default, `bootstrap`, `keys`, and the
//! admin commands against a live server.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use serde_json::Value;

pub fn writ() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_writ"));
    // Only what the test sets: no settings leak in from the environment of the test run.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("WRIT_") || k == "RUST_LOG") {
        cmd.env_remove(k);
    }
    cmd
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A running `writ serve`: the process, its port and what it logged until it listened. The rest
/// of its log is drained in the background so it never blocks on a full pipe.
pub struct Serve {
    pub child: std::process::Child,
    pub port: u16,
    pub log: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(dir: &std::path::Path, args: &[&str]) -> Serve {
    serve_with_env(dir, args, &[])
}

pub fn serve_with_env(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Serve {
    let mut child = writ()
        .args(["serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("serve exited before listening").unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening") {
            break line.split("port=").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Serve { child, port, log }
}

#[tokio::test]
async fn serve_creates_the_embedded_default_and_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let Serve { port, ref log, .. } = serve(dir.path(), &[]);
    let data = dir.path().join("writ-data");
    assert_eq!(mode(&data), 0o700);
    for f in ["kek", "pepper", "operator.json"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let cred: Value = serde_json::from_slice(&std::fs::read(data.join("operator.json")).unwrap()).unwrap();
    let secret = cred["client_secret"].as_str().unwrap();
    assert!(log.contains("operator.json"), "the path is logged");
    assert!(!log.contains(secret), "the secret is not");
    assert_eq!(cred["token_endpoint"], format!("http://localhost:{port}/oauth/token"));

    let res = writ_testkit::http_client()
        .post(format!("http://127.0.0.1:{port}/oauth/token"))
        .basic_auth(cred["client_id"].as_str().unwrap(), Some(secret))
        .form(&[("grant_type", "client_credentials"), ("resource", "urn:writ:admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[test]
fn bootstrap_prints_the_operator_once_and_adds_secrets_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| writ().args(args).arg("--data-dir").arg(&data).output().unwrap();

    let first = run(&["bootstrap"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let cred: Value = serde_json::from_slice(&first.stdout).unwrap();
    for key in ["client_id", "client_secret", "issuer", "token_endpoint", "admin_audience"] {
        assert!(cred[key].is_string(), "{key} in {cred}");
    }
    assert_eq!(cred["admin_audience"], "urn:writ:admin");
    assert_eq!(mode(&data.join("kek")), 0o600);
    assert!(!String::from_utf8_lossy(&first.stderr).contains(cred["client_secret"].as_str().unwrap()));

    let second = run(&["bootstrap"]);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exists"));

    let third = run(&["bootstrap", "--new-secret"]);
    assert!(third.status.success());
    let again: Value = serde_json::from_slice(&third.stdout).unwrap();
    assert_eq!(again["client_id"], cred["client_id"]);
    assert_ne!(again["client_secret"], cred["client_secret"]);

    assert!(run(&["migrate"]).status.success());
}

#[test]
fn settings_come_from_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("writ.toml");
    std::fs::write(&file, "issuer = \"https://file.example.com\"\n").unwrap();
    let issuer = |envs: &[(&str, &str)], args: &[&str], data: &str| -> String {
        let out = writ()
            .args(["bootstrap", "--config"])
            .arg(&file)
            .arg("--data-dir")
            .arg(dir.path().join(data))
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cred: Value = serde_json::from_slice(&out.stdout).unwrap();
        cred["issuer"].as_str().unwrap().to_owned()
    };
    assert_eq!(issuer(&[], &[], "a"), "https://file.example.com");
    let env = [("WRIT_ISSUER", "https://env.example.com")];
    assert_eq!(issuer(&env, &[], "b"), "https://env.example.com");
    assert_eq!(issuer(&env, &["--issuer", "https://flag.example.com"], "c"), "https://flag.example.com");

    std::fs::write(&file, "isuer = \"typo\"\n").unwrap();
    let out = writ().args(["migrate", "--config"]).arg(&file).output().unwrap();
    assert!(!out.status.success(), "an unknown setting is an error, not ignored");
}

#[test]
fn keys_can_be_listed_rotated_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> Value {
        let out = writ().args(args).arg("--data-dir").arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = run(&["keys", "list", "--json"]);
    assert_eq!(first.as_array().unwrap().len(), 1);
    let old = first[0]["kid"].as_str().unwrap().to_owned();
    let rotated = run(&["keys", "rotate", "--immediate", "--alg", "EdDSA", "--json"]);
    assert_eq!(rotated[0]["state"], "active");
    assert_eq!(rotated[0]["alg"], "EdDSA");
    let revoked = run(&["keys", "revoke", &old, "--json"]);
    assert_eq!(revoked[0]["state"], "revoked");
    let states: Vec<String> = run(&["keys", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        states.iter().filter(|s| *s == "active").count(),
        2,
        "ES256's successor and the EdDSA key: {states:?}"
    );
}

#[tokio::test]
async fn audit_records_queued_at_shutdown_are_written_sqlite() {
    audit_records_queued_at_shutdown_are_written(writ_testkit::Backend::Sqlite).await;
}

#[tokio::test]
async fn audit_records_queued_at_shutdown_are_written_postgres() {
    audit_records_queued_at_shutdown_are_written(writ_testkit::Backend::Postgres).await;
}

async fn audit_records_queued_at_shutdown_are_written(backend: writ_testkit::Backend) {
    let Some(db) = writ_testkit::TestDb::new(backend).await else { return };
    // A thousand requests of one client at once: the rate limit is not what this is about.
    let args = ["--database-url", db.url.as_str(), "--rate-limit-per-second", "0"];
    let boot = writ().arg("bootstrap").args(args).current_dir(db.dir.path()).output().unwrap();
    assert!(boot.status.success(), "{}", String::from_utf8_lossy(&boot.stderr));
    let cred: Value = serde_json::from_slice(&boot.stdout).unwrap();
    let mut server = serve(db.dir.path(), &args);
    let http = writ_testkit::http_client();
    // Many requests at once, so records are still queued when the signal arrives.
    let port = server.port;
    let requests = (0..1000).map(|_| {
        http.post(format!("http://127.0.0.1:{port}/oauth/token"))
            .basic_auth(cred["client_id"].as_str().unwrap(), cred["client_secret"].as_str())
            .form(&[("grant_type", "client_credentials"), ("resource", "urn:writ:admin")])
            .send()
    });
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.unwrap().status(), 200);
    }
    // SIGTERM: the server drains, then the audit writer flushes before the process exits.
    let term = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(term.success());
    assert!(server.child.wait().unwrap().success());

    let store = writ_store::Store::connect(&db.url).await.unwrap();
    let (mut issued, mut after) = (0, None);
    loop {
        let page = writ_store::Page { limit: 200, after };
        let events = writ_store::Audit::new(store.conn())
            .list(&writ_store::Tenant::Operator, &page, &writ_store::AuditFilter::action("token.issued"))
            .await
            .unwrap();
        issued += events.items.len();
        match events.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(issued, 1000);
    store.close().await.unwrap();
}

/// With an OTLP endpoint configured, request spans are exported to it over gRPC. A plain TCP
/// listener stands in for the collector: the exporter connecting and opening an HTTP/2 session is
/// the export starting.
#[tokio::test]
async fn request_spans_are_exported_over_otlp_when_configured() {
    use std::io::Read;
    let collector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut conn, _) = collector.accept().unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut preface = [0u8; 24];
        let _ = conn.read_exact(&mut preface);
        let _ = tx.send(preface.to_vec());
    });
    let dir = tempfile::tempdir().unwrap();
    let envs = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let server = serve_with_env(dir.path(), &[], &envs);
    // Nothing to export yet, so no connection; the request's spans are what gets sent.
    assert!(rx.recv_timeout(std::time::Duration::from_millis(800)).is_err(), "exported before any request");
    let res = writ_testkit::http_client()
        .get(format!("http://127.0.0.1:{}/.well-known/jwks.json", server.port))
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let preface = rx.recv_timeout(std::time::Duration::from_secs(15)).expect("no export within 15 s");
    assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "an HTTP/2 (gRPC) session");
}

writ_testkit::on_every_backend!(admin_commands_print_tables_and_json);

/// Runs `writ args…` against `app` as its operator: (success, stdout, stderr).
async fn admin_cli(app: &writ_testkit::TestApp, args: &[&str]) -> (bool, String, String) {
    let mut cmd = writ();
    cmd.args(args)
        .env("WRIT_URL", app.url(""))
        .env("WRIT_CLIENT_ID", &app.operator_id)
        .env("WRIT_CLIENT_SECRET", &app.operator_secret)
        .env("WRIT_DATA_DIR", "/nonexistent");
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

async fn admin_commands_print_tables_and_json(app: writ_testkit::TestApp) {
    let args =
        ["resources", "create", "--identifier", "https://api.example.com/billing", "--name", "Billing"];
    let (ok, out, err) =
        admin_cli(&app, &[&args[..], &["--scope", "invoices:read", "--json"]].concat()).await;
    assert!(ok, "{err}");
    let resource: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(resource["scopes"][0]["name"], "invoices:read");
    let (ok, out, _) = admin_cli(&app, &["resources", "list"]).await;
    assert!(ok && out.contains("https://api.example.com/billing") && out.contains("urn:writ:admin"), "{out}");

    let (ok, out, err) = admin_cli(
        &app,
        &[
            "orgs",
            "create",
            "--name",
            "Acme",
            "--slug",
            "acme",
            "--entitle",
            "https://api.example.com/billing=invoices:read",
            "--json",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let org: Value = serde_json::from_str(&out).unwrap();
    let org_id = org["id"].as_str().unwrap();
    assert_eq!(org["entitlements"][0]["scopes"], serde_json::json!(["invoices:read"]));

    // Tables: a header and one aligned row per object.
    let (ok, out, _) = admin_cli(&app, &["orgs", "list"]).await;
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("SLUG") && lines[0].contains("STATUS"), "{out}");
    assert!(lines.iter().any(|l| l.starts_with(org_id) && l.contains(" acme ")), "{out}");

    let grant = "https://api.example.com/billing=invoices:read";
    let args = ["clients", "create", "--name", "acme-sync", "--org", org_id, "--grant", grant, "--json"];
    let (ok, out, err) = admin_cli(&app, &args).await;
    assert!(ok, "{err}");
    assert!(err.contains("store client_secret now"));
    let client: Value = serde_json::from_str(&out).unwrap();
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    app.token(id, secret, &[]).await;

    let (ok, out, _) = admin_cli(&app, &["clients", "list", "--org", org_id]).await;
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "header and the one client: {out}");
    assert!(out.contains(id) && out.contains("acme-sync"));

    // Secrets: a second one, listed by prefix, never by value.
    let (ok, out, _) = admin_cli(&app, &["secrets", "create", id, "--json"]).await;
    assert!(ok);
    let second: Value = serde_json::from_str(&out).unwrap();
    let (ok, out, _) = admin_cli(&app, &["secrets", "list", id]).await;
    assert!(ok);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(!out.contains(secret) && !out.contains(second["client_secret"].as_str().unwrap()));
    let (ok, out, _) =
        admin_cli(&app, &["secrets", "delete", id, second["secret_id"].as_str().unwrap()]).await;
    assert!(ok && out.contains("deleted secret"), "{out}");

    // A client with a key: the PEM public key becomes its JWKS, and it has no secret.
    let dir = tempfile::tempdir().unwrap();
    let p256 = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let key = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&p256).unwrap()).unwrap();
    let public = dir.path().join("agent.pub");
    std::fs::write(&public, key.public_key_to_pem().unwrap()).unwrap();
    let args =
        ["clients", "create", "--name", "agent", "--org", org_id, "--grant", grant, "--json", "--public-key"];
    let (ok, out, err) = admin_cli(&app, &[&args[..], &[public.to_str().unwrap()]].concat()).await;
    assert!(ok, "{err}");
    assert!(!err.contains("store client_secret"), "{err}");
    let agent: Value = serde_json::from_str(&out).unwrap();
    assert!(agent.get("client_secret").is_none() && agent["jwks"]["keys"][0]["kty"] == "EC", "{agent}");
    let agent_id = agent["client_id"].as_str().unwrap();
    let signer =
        writ_token::AssertionSigner::from_pem(&key.private_key_to_pem_pkcs8().unwrap(), None, false).unwrap();
    let assertion = signer.sign(&super::private_key_jwt::claims(&app, agent_id)).unwrap();
    assert_eq!(super::private_key_jwt::with_assertion(&app, &assertion, &[]).await.0, 200);
    // set-keys: a JWK file replaces the key; the old one stops working.
    let rotated = super::private_key_jwt::Key::new("EdDSA", "agent-2");
    let jwk = dir.path().join("agent-2.json");
    std::fs::write(&jwk, rotated.public.to_string()).unwrap();
    let (ok, out, err) =
        admin_cli(&app, &["clients", "set-keys", agent_id, "--public-key", jwk.to_str().unwrap(), "--json"])
            .await;
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["jwks"]["keys"][0]["kid"], "agent-2");
    let assertion = signer.sign(&super::private_key_jwt::claims(&app, agent_id)).unwrap();
    assert_eq!(super::private_key_jwt::with_assertion(&app, &assertion, &[]).await.0, 401);
    let assertion = rotated.sign(&super::private_key_jwt::claims(&app, agent_id));
    assert_eq!(super::private_key_jwt::with_assertion(&app, &assertion, &[]).await.0, 200);
    let (ok, _, err) = admin_cli(&app, &["clients", "set-keys", agent_id, "--remove"]).await;
    assert!(!ok && err.contains("token_endpoint_auth_methods"), "private_key_jwt needs keys: {err}");

    // Disable, revoke, suspend: each takes effect.
    assert!(admin_cli(&app, &["clients", "disable", id]).await.0);
    assert_eq!(app.token_request(id, secret, &[]).await.status(), 401);
    assert!(admin_cli(&app, &["clients", "enable", id]).await.0);
    let (ok, out, _) = admin_cli(&app, &["revoke", "--client", id]).await;
    assert!(ok && out.contains("client") && out.contains(id), "{out}");
    let (ok, out, _) = admin_cli(&app, &["orgs", "suspend", org_id]).await;
    assert!(ok && out.contains("suspended"), "{out}");
    assert_eq!(app.token_request(id, secret, &[]).await.status(), 401);

    // Failures: the API's problem, a non-zero exit, nothing on stdout.
    let (ok, out, err) = admin_cli(&app, &["orgs", "get", "org_00000000000000000000000000"]).await;
    assert!(!ok && out.is_empty());
    assert!(err.contains("not_found"), "{err}");
    let (ok, _, err) = admin_cli(&app, &["orgs", "create", "--name", "x", "--slug", "Not A Slug"]).await;
    assert!(!ok && err.contains("field `slug`"), "{err}");
    let (ok, _, err) = admin_cli(&app, &["revoke"]).await;
    assert!(!ok && err.contains("--jti"), "{err}");
    let mut cmd = writ();
    cmd.args(["orgs", "list"]).env("WRIT_URL", app.url("")).env("WRIT_CLIENT_ID", &app.operator_id);
    cmd.env("WRIT_CLIENT_SECRET", "writ_cs_wrong").env("WRIT_DATA_DIR", "/nonexistent");
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not sign in"));
    // The secret from a file works; on the command line, where `ps` shows it, it is refused.
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{}\n", app.operator_secret)).unwrap();
    let mut cmd = writ();
    cmd.args(["orgs", "list", "--client-secret-file"]).arg(&secret_file);
    cmd.env("WRIT_URL", app.url(""))
        .env("WRIT_CLIENT_ID", &app.operator_id)
        .env("WRIT_DATA_DIR", "/nonexistent");
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut cmd = writ();
    cmd.args(["orgs", "list", "--client-secret", &app.operator_secret]);
    cmd.env("WRIT_URL", app.url(""))
        .env("WRIT_CLIENT_ID", &app.operator_id)
        .env("WRIT_DATA_DIR", "/nonexistent");
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WRIT_CLIENT_SECRET"));

    let (ok, out, _) = admin_cli(&app, &["orgs", "delete", org_id]).await;
    assert!(ok && out.contains("deleted org"), "{out}");
}

#[test]
fn bench_seed_writes_its_credentials_for_the_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials.txt");
    std::fs::write(&credentials, "left from an earlier run\n").unwrap();
    std::fs::set_permissions(&credentials, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = writ()
        .args(["bench-seed", "--clients", "3", "--emit", "3", "--credentials"])
        .arg(&credentials)
        .env("WRIT_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&credentials), 0o600);
    assert_eq!(std::fs::read_to_string(&credentials).unwrap().lines().count(), 3);
    assert_eq!(mode(&dir.path().join("data/writ.db")), 0o600);
}

/// `writ bench-seed-people` seeds what `cargo xtask bench --delegated` sends, and each piece works
/// against a live server: a refresh token (once), a code with its verifier, the consent page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_seed_people_seeds_what_the_delegated_bench_sends() {
    let app = writ_testkit::spawn_app(writ_testkit::Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = writ();
    cmd.args(["bench-seed-people", "--people", "2", "--codes", "3", "--out"])
        .arg(dir.path())
        .env("WRIT_DATA_DIR", &app.ctx.settings.data_dir)
        .env("WRIT_DATABASE_URL", app.ctx.settings.database_url());
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |name: &str| {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
        std::fs::read_to_string(dir.path().join(name)).unwrap()
    };
    let (refresh, codes, page) = (read("refresh.txt"), read("codes.txt"), read("page.txt"));
    assert_eq!((refresh.lines().count(), codes.lines().count()), (2, 3));
    let token = |form: String| {
        let app = &app;
        async move {
            let res = app
                .http
                .post(app.url("/oauth/token"))
                .body(form)
                .header("content-type", "application/x-www-form-urlencoded")
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let line = refresh.lines().next().unwrap().trim_start_matches('\t');
    let (status, body) = token(format!("grant_type=refresh_token&{line}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("writ_rt_"));
    assert_eq!(token(format!("grant_type=refresh_token&{line}")).await.0, 400, "each works once");
    let line = codes.lines().next().unwrap().trim_start_matches('\t');
    let (status, body) = token(format!("grant_type=authorization_code&{line}")).await;
    assert_eq!(status, 200, "{body}");
    let (cookie, path) = page.trim_end().split_once('\t').unwrap();
    let res = app.http.get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text().await.unwrap().contains("Benchmark agent"),
        "the consent page of a person not yet asked"
    );
}
