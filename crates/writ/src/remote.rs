//! The everyday admin commands (`writ orgs`, `clients`, `secrets`, `revoke`): thin callers of the
//! admin API over HTTP, so they work against any deployment and are authorized and audited exactly
//! like every other admin call. They authenticate as the operator (or any client holding admin
//! scopes) with `--client-id` and the secret in `WRIT_CLIENT_SECRET` or a file
//! (`--client-secret-file`; never a flag, which every user of the machine sees in `ps`), or with the
//! credential file `writ serve` writes (`<data_dir>/operator.json`), and print readable tables, or
//! the API's JSON with `--json`.

use std::path::Path;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

/// Where the admin API is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// Base URL of Writ [default: the `issuer` of the credential file, else http://127.0.0.1:8080].
    #[arg(long = "url", id = "remote_url", env = "WRIT_URL", global = true)]
    pub url: Option<String>,
    /// Client id to authenticate as [default: the credential file's].
    #[arg(long = "client-id", id = "remote_client_id", env = "WRIT_CLIENT_ID", global = true)]
    pub client_id: Option<String>,
    /// A file holding its secret; or set WRIT_CLIENT_SECRET [default: the credential file's].
    #[arg(long = "client-secret-file", env = "WRIT_CLIENT_SECRET_FILE", global = true)]
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Refused: a secret on the command line is visible to every user of the machine.
    #[arg(long = "client-secret", id = "remote_client_secret", global = true, hide = true)]
    pub client_secret_flag: Option<writ_app::Secret>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// A `RESOURCE=SCOPE[,SCOPE…]` grant.
fn grant(s: &str) -> Result<Value, String> {
    let (resource, scopes) = s.split_once('=').ok_or("expected RESOURCE=SCOPE[,SCOPE…]")?;
    let scopes: Vec<&str> = scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    Ok(json!({ "resource": resource, "scopes": scopes }))
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// List every org.
    List,
    /// Show one org.
    Get { org_id: String },
    /// Create an org.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        /// What its clients may be granted: RESOURCE=SCOPE[,SCOPE…] (repeatable).
        #[arg(long = "entitle", value_parser = grant)]
        entitlements: Vec<Value>,
    },
    /// Suspend an org: every client is refused and every token revoked.
    Suspend { org_id: String },
    /// Reactivate a suspended org.
    Activate { org_id: String },
    /// Delete an org with its users, clients and secrets, revoking their tokens.
    Delete { org_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// List every resource (API) with its scopes.
    List,
    /// Register an API and its scopes.
    Create {
        /// The API's identifier: the audience of its tokens (`https://api.example.com/billing`).
        #[arg(long)]
        identifier: String,
        #[arg(long)]
        name: String,
        /// A scope it understands (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// List clients (every client, or one org's).
    List {
        #[arg(long = "org")]
        org_id: Option<String>,
    },
    /// Show one client.
    Get { client_id: String },
    /// Create a client; its secret is shown this once.
    Create {
        #[arg(long)]
        name: String,
        /// `org`, `user` or `service`.
        #[arg(long, default_value = "org")]
        kind: String,
        #[arg(long = "org")]
        org_id: Option<String>,
        #[arg(long = "user")]
        user_id: Option<String>,
        /// RESOURCE=SCOPE[,SCOPE…] (repeatable).
        #[arg(long = "grant", value_parser = grant)]
        grants: Vec<Value>,
        /// Token lifetime in seconds (300 to 86400).
        #[arg(long)]
        ttl: Option<u32>,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Set how a client authenticates: its keys (private_key_jwt) and its methods.
    SetKeys {
        client_id: String,
        #[command(flatten)]
        keys: KeyArgs,
        /// Remove the client's keys.
        #[arg(long, conflicts_with_all = ["public_key", "jwks_uri"])]
        remove: bool,
    },
    /// Disable a client: its next token request is refused.
    Disable { client_id: String },
    /// Enable a disabled client.
    Enable { client_id: String },
    /// Delete a client with its secrets, revoking its tokens.
    Delete { client_id: String },
}

/// A client's keys and methods, for `private_key_jwt`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// A file with the client's public key: PEM (`openssl pkey -pubout`), a JWK or a JWKS. With
    /// no --auth-method, the client then uses private_key_jwt only (and has no secret).
    #[arg(long, conflicts_with = "jwks_uri")]
    public_key: Option<std::path::PathBuf>,
    /// Where the client publishes its public keys (https://).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// client_secret_basic, client_secret_post or private_key_jwt (repeatable).
    #[arg(long = "auth-method")]
    auth_methods: Vec<String>,
}

impl KeyArgs {
    /// The request fields these flags set.
    fn fields(self) -> Result<Vec<(&'static str, Value)>, Failure> {
        let mut fields = Vec::new();
        if let Some(path) = self.public_key {
            fields.push(("jwks", read_jwks(&path)?));
        }
        if let Some(uri) = self.jwks_uri {
            fields.push(("jwks_uri", Value::from(uri)));
        }
        if !self.auth_methods.is_empty() {
            fields.push(("token_endpoint_auth_methods", Value::from(self.auth_methods)));
        }
        Ok(fields)
    }
}

/// A JWKS from a file holding a PEM public key, a JWK or a JWKS.
fn read_jwks(path: &Path) -> Result<Value, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    let bad = |e: &dyn std::fmt::Display| Failure(format!("{}: {e}", path.display()));
    if bytes.starts_with(b"-----BEGIN") {
        let jwk = writ_token::public_jwk_from_pem(&bytes).map_err(|e| bad(&e))?;
        return Ok(json!({ "keys": [jwk] }));
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| bad(&e))?;
    Ok(if value.get("keys").is_some() { value } else { json!({ "keys": [value] }) })
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// List a client's secrets (metadata only).
    List { client_id: String },
    /// Add a secret to a client; its value is shown this once.
    Create {
        client_id: String,
        /// When it stops working (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// Delete a secret: it stops working at once.
    Delete { client_id: String, secret_id: String },
}

/// What to revoke: exactly one of `--jti`, `--client` (optionally with `--secret`), `--org`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// One token, by its jti.
    #[arg(long, conflicts_with_all = ["client", "org"])]
    pub jti: Option<String>,
    /// Every token of this client (or, with --secret, those one secret minted).
    #[arg(long, conflicts_with = "org")]
    pub client: Option<String>,
    #[arg(long, requires = "client")]
    pub secret: Option<String>,
    /// Every token of this org.
    #[arg(long)]
    pub org: Option<String>,
}

/// An error to print: a problem document from the API, or why it could not be asked.
#[derive(Debug)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An authenticated admin API session.
struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn connect(remote: &Remote, data_dir: &Path) -> Result<Self, Failure> {
        let file = data_dir.join("operator.json");
        let stored: Option<Value> =
            std::fs::read_to_string(&file).ok().and_then(|text| serde_json::from_str(&text).ok());
        let from_file = |k: &str| stored.as_ref().and_then(|v| v[k].as_str()).map(str::to_owned);
        let url = remote
            .url
            .clone()
            .or_else(|| from_file("issuer"))
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_owned();
        let missing = || {
            Failure(format!(
                "no credentials: pass --client-id (or WRIT_CLIENT_ID) with the secret in WRIT_CLIENT_SECRET \
                 or --client-secret-file, or run where {} exists",
                file.display()
            ))
        };
        if remote.client_secret_flag.is_some() {
            return Err(Failure(
                "--client-secret is refused: every user of this machine can read it in `ps`. Put the \
                 secret in WRIT_CLIENT_SECRET or a file named by --client-secret-file"
                    .into(),
            ));
        }
        let id = remote.client_id.clone().or_else(|| from_file("client_id")).ok_or_else(missing)?;
        let secret = match &remote.client_secret_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?
                    .trim()
                    .to_owned(),
            ),
            None => std::env::var("WRIT_CLIENT_SECRET").ok().filter(|s| !s.is_empty()),
        };
        let secret = secret.or_else(|| from_file("client_secret")).ok_or_else(missing)?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Failure(format!("cannot build an HTTP client: {e}")))?;
        let res = http
            .post(format!("{url}/oauth/token"))
            .basic_auth(&id, Some(&secret))
            .form(&[("grant_type", "client_credentials"), ("resource", writ_core::ADMIN_AUDIENCE)])
            .send()
            .await
            .map_err(|e| Failure(format!("cannot reach {url}: {e}")))?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or_default();
        match body["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(Self { http, url, token: token.to_owned() }),
            _ => Err(Failure(format!(
                "could not sign in as {id}: {} ({})",
                body["error_description"].as_str().unwrap_or("no token"),
                body["error"].as_str().unwrap_or(status.as_str())
            ))),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let mut req =
            self.http.request(method, format!("{}/admin/v1{path}", self.url)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.map_err(|e| Failure(format!("cannot reach {}: {e}", self.url)))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(body);
        }
        let detail = body["detail"].as_str().unwrap_or("the request failed");
        let mut message =
            format!("{detail} ({}, {})", body["code"].as_str().unwrap_or("error"), status.as_u16());
        if let Some(field) = body["field"].as_str() {
            message.push_str(&format!(" — field `{field}`"));
        }
        Err(Failure(message))
    }

    async fn set_status(&self, path: &str, status: &str) -> Result<Value, Failure> {
        self.call(Method::PATCH, path, Some(json!({ "status": status }))).await
    }

    /// Every item of a list, following the cursor.
    async fn list(&self, path: &str) -> Result<Value, Failure> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page_path = match &after {
                Some(cursor) => format!("{path}{sep}limit=200&after={cursor}"),
                None => format!("{path}{sep}limit=200"),
            };
            let page = self.call(Method::GET, &page_path, None).await?;
            items.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(Value::Array(items)),
            }
        }
    }
}

const ORG_COLUMNS: &[(&str, &str)] =
    &[("ID", "/id"), ("SLUG", "/slug"), ("NAME", "/name"), ("STATUS", "/status"), ("CREATED", "/created_at")];
const RESOURCE_COLUMNS: &[(&str, &str)] =
    &[("ID", "/id"), ("IDENTIFIER", "/identifier"), ("NAME", "/name"), ("BUILT-IN", "/builtin")];
const CLIENT_COLUMNS: &[(&str, &str)] = &[
    ("CLIENT ID", "/client_id"),
    ("NAME", "/name"),
    ("KIND", "/kind"),
    ("ORG", "/org_id"),
    ("STATUS", "/status"),
    ("TTL", "/token_ttl_seconds"),
];
const SECRET_COLUMNS: &[(&str, &str)] = &[
    ("SECRET ID", "/secret_id"),
    ("PREFIX", "/display_prefix"),
    ("CREATED", "/created_at"),
    ("EXPIRES", "/expires_at"),
    ("LAST USED", "/last_used_at"),
];

/// What a command answers, and how to show it.
enum Shown {
    Rows(Value, &'static [(&'static str, &'static str)]),
    Object(Value),
    Nothing(String),
}

pub async fn orgs(remote: &Remote, data_dir: &Path, cmd: OrgsCommand) -> Result<(), Failure> {
    let api = Api::connect(remote, data_dir).await?;
    let shown = match cmd {
        OrgsCommand::List => Shown::Rows(api.list("/orgs").await?, ORG_COLUMNS),
        OrgsCommand::Get { org_id } => {
            Shown::Object(api.call(Method::GET, &format!("/orgs/{org_id}"), None).await?)
        }
        OrgsCommand::Create { name, slug, entitlements } => {
            let body = json!({ "name": name, "slug": slug, "entitlements": entitlements });
            Shown::Object(api.call(Method::POST, "/orgs", Some(body)).await?)
        }
        OrgsCommand::Suspend { org_id } => {
            Shown::Object(api.set_status(&format!("/orgs/{org_id}"), "suspended").await?)
        }
        OrgsCommand::Activate { org_id } => {
            Shown::Object(api.set_status(&format!("/orgs/{org_id}"), "active").await?)
        }
        OrgsCommand::Delete { org_id } => {
            api.call(Method::DELETE, &format!("/orgs/{org_id}"), None).await?;
            Shown::Nothing(format!("deleted org {org_id}"))
        }
    };
    show(remote.json, shown);
    Ok(())
}

pub async fn resources(remote: &Remote, data_dir: &Path, cmd: ResourcesCommand) -> Result<(), Failure> {
    let api = Api::connect(remote, data_dir).await?;
    let shown = match cmd {
        ResourcesCommand::List => Shown::Rows(api.list("/resources").await?, RESOURCE_COLUMNS),
        ResourcesCommand::Create { identifier, name, scopes } => {
            let scopes: Vec<Value> = scopes.iter().map(|s| json!({ "name": s })).collect();
            let body = json!({ "identifier": identifier, "name": name, "scopes": scopes });
            Shown::Object(api.call(Method::POST, "/resources", Some(body)).await?)
        }
    };
    show(remote.json, shown);
    Ok(())
}

pub async fn clients(remote: &Remote, data_dir: &Path, cmd: ClientsCommand) -> Result<(), Failure> {
    let api = Api::connect(remote, data_dir).await?;
    let shown = match cmd {
        ClientsCommand::List { org_id } => {
            let path = org_id.map_or_else(|| "/clients".to_owned(), |org| format!("/clients?org_id={org}"));
            Shown::Rows(api.list(&path).await?, CLIENT_COLUMNS)
        }
        ClientsCommand::Get { client_id } => {
            Shown::Object(api.call(Method::GET, &format!("/clients/{client_id}"), None).await?)
        }
        ClientsCommand::Create { name, kind, org_id, user_id, grants, ttl, keys } => {
            let mut body = json!({ "name": name, "kind": kind, "grants": grants });
            for (key, value) in [
                ("org_id", org_id.map(Value::from)),
                ("user_id", user_id.map(Value::from)),
                ("token_ttl_seconds", ttl.map(Value::from)),
            ] {
                if let Some(value) = value {
                    body[key] = value;
                }
            }
            for (key, value) in keys.fields()? {
                body[key] = value;
            }
            let created = api.call(Method::POST, "/clients", Some(body)).await?;
            if created.get("client_secret").is_some() {
                eprintln!("note: store client_secret now; Writ keeps only a hash and cannot show it again");
            }
            Shown::Object(created)
        }
        ClientsCommand::SetKeys { client_id, keys, remove } => {
            let mut body = json!({});
            if remove {
                body["jwks"] = Value::Null;
            }
            for (key, value) in keys.fields()? {
                body[key] = value;
            }
            if body.as_object().is_some_and(serde_json::Map::is_empty) {
                return Err(Failure(
                    "nothing to set: give --public-key, --jwks-uri, --remove or --auth-method".into(),
                ));
            }
            Shown::Object(api.call(Method::PATCH, &format!("/clients/{client_id}"), Some(body)).await?)
        }
        ClientsCommand::Disable { client_id } => {
            Shown::Object(api.set_status(&format!("/clients/{client_id}"), "disabled").await?)
        }
        ClientsCommand::Enable { client_id } => {
            Shown::Object(api.set_status(&format!("/clients/{client_id}"), "active").await?)
        }
        ClientsCommand::Delete { client_id } => {
            api.call(Method::DELETE, &format!("/clients/{client_id}"), None).await?;
            Shown::Nothing(format!("deleted client {client_id}"))
        }
    };
    show(remote.json, shown);
    Ok(())
}

pub async fn secrets(remote: &Remote, data_dir: &Path, cmd: SecretsCommand) -> Result<(), Failure> {
    let api = Api::connect(remote, data_dir).await?;
    let shown = match cmd {
        SecretsCommand::List { client_id } => {
            Shown::Rows(api.list(&format!("/clients/{client_id}/secrets")).await?, SECRET_COLUMNS)
        }
        SecretsCommand::Create { client_id, expires_at } => {
            let body = expires_at.map_or_else(|| json!({}), |at| json!({ "expires_at": at }));
            let created =
                api.call(Method::POST, &format!("/clients/{client_id}/secrets"), Some(body)).await?;
            eprintln!("note: store client_secret now; Writ keeps only a hash and cannot show it again");
            Shown::Object(created)
        }
        SecretsCommand::Delete { client_id, secret_id } => {
            api.call(Method::DELETE, &format!("/clients/{client_id}/secrets/{secret_id}"), None).await?;
            Shown::Nothing(format!("deleted secret {secret_id}"))
        }
    };
    show(remote.json, shown);
    Ok(())
}

pub async fn revoke(remote: &Remote, data_dir: &Path, args: RevokeArgs) -> Result<(), Failure> {
    let (path, body) = match (args.jti, args.client, args.secret, args.org) {
        (Some(jti), None, None, None) => ("/revocations".to_owned(), json!({ "jti": jti })),
        (None, Some(client), None, None) => ("/revocations".to_owned(), json!({ "client_id": client })),
        (None, Some(client), Some(secret), None) => {
            (format!("/clients/{client}/revoke-tokens"), json!({ "secret_id": secret }))
        }
        (None, None, None, Some(org)) => ("/revocations".to_owned(), json!({ "org_id": org })),
        _ => return Err(Failure("name what to revoke: --jti, --client [--secret] or --org".into())),
    };
    let api = Api::connect(remote, data_dir).await?;
    let revoked = api.call(Method::POST, &path, Some(body)).await?;
    show(remote.json, Shown::Object(revoked));
    Ok(())
}

fn show(json: bool, shown: Shown) {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    match shown {
        Shown::Rows(rows, _) | Shown::Object(rows) if json => println!("{}", pretty(&rows)),
        Shown::Nothing(message) if json => println!("{}", json!({ "ok": true, "message": message })),
        Shown::Rows(rows, columns) => {
            print!("{}", table(rows.as_array().map(Vec::as_slice).unwrap_or_default(), columns))
        }
        Shown::Object(object) => print!("{}", fields(&object)),
        Shown::Nothing(message) => println!("{message}"),
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Rows under a header, in columns as wide as their widest cell.
pub(crate) fn table(rows: &[Value], columns: &[(&str, &str)]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|(_, pointer)| cell(row.pointer(pointer))).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (header, _))| {
            cells.iter().map(|r| r[i].chars().count()).chain([header.len()]).max().unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(columns.iter().map(|(h, _)| *h).collect());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// One object as `field  value` lines; nested values as compact JSON.
fn fields(object: &Value) -> String {
    let Some(map) = object.as_object() else { return format!("{object}\n") };
    let width = map.keys().map(String::len).max().unwrap_or(0);
    map.iter().map(|(k, v)| format!("{k:<width$}  {}\n", cell(Some(v)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_mark_missing_cells() {
        let rows = [json!({"id": "org_1", "slug": "acme"}), json!({"id": "org_22", "slug": null})];
        let out = table(&rows, &[("ID", "/id"), ("SLUG", "/slug")]);
        assert_eq!(out, "ID      SLUG\norg_1   acme\norg_22  -\n");
        assert_eq!(
            grant("https://a.example=x:read, x:write").unwrap()["scopes"],
            json!(["x:read", "x:write"])
        );
        assert!(grant("no-equals-sign").is_err());
    }
}
