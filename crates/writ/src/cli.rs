//! The `writ` command line: `serve`, `migrate`, `bootstrap`, `keys` and `openapi` work on the
//! deployment's own settings; `orgs`, `resources`, `clients`, `secrets` and `revoke` call the
//! admin API.

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use writ_app::Deployment;
use writ_app::operator::{self as bootstrap, BootstrapError, OperatorCredential};
use writ_core::ADMIN_AUDIENCE;
use writ_http::settings::SettingsArgs;

/// Writ: machine-to-machine authorization. With no settings, `writ serve` runs the embedded
/// default (SQLite and in-memory state under ./writ-data).
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub remote: crate::remote::Remote,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the issuer, admin and guard APIs on one port.
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Create the operator client and print its credential as JSON (once per deployment).
    Bootstrap {
        /// The operator exists already: repair it (its grants, status and limits) and print a new
        /// secret for it instead.
        #[arg(long)]
        new_secret: bool,
    },
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print an OpenAPI document (`admin`, `issuer` or `guard`).
    Openapi {
        #[arg(default_value = "admin")]
        name: String,
    },
    /// Manage organizations (through the admin API).
    #[command(subcommand)]
    Orgs(crate::remote::OrgsCommand),
    /// Manage resources: the APIs tokens are for (through the admin API).
    #[command(subcommand)]
    Resources(crate::remote::ResourcesCommand),
    /// Manage machine clients (through the admin API).
    #[command(subcommand)]
    Clients(crate::remote::ClientsCommand),
    /// Manage client secrets (through the admin API).
    #[command(subcommand)]
    Secrets(crate::remote::SecretsCommand),
    /// Revoke tokens: one, a client's, a secret's or an org's (through the admin API).
    Revoke(crate::remote::RevokeArgs),
    /// Create many clients directly in the database, for `cargo xtask bench`.
    #[command(hide = true)]
    BenchSeed {
        #[arg(long)]
        clients: usize,
        /// Write the credentials of the first N clients (`Basic …` lines).
        #[arg(long, default_value_t = 10_000)]
        emit: usize,
        #[arg(long)]
        credentials: std::path::PathBuf,
    },
    /// Create people with consents, refresh tokens and codes for one agent directly in the
    /// database, for `cargo xtask bench --delegated`.
    #[command(hide = true)]
    BenchSeedPeople {
        #[arg(long)]
        people: usize,
        #[arg(long)]
        codes: usize,
        /// Where `refresh.txt`, `codes.txt` and `page.txt` go.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List every key with its state.
    List,
    /// Publish a new key; it signs after the publish delay (or at once with --immediate).
    Rotate {
        /// ES256, RS256 or EdDSA [default: the deployment's].
        #[arg(long)]
        alg: Option<String>,
        #[arg(long)]
        immediate: bool,
    },
    /// Withdraw a key at once (a compromised key).
    Revoke { kid: String },
}

pub async fn run(cli: Cli) -> ExitCode {
    let settings = match cli.settings.load() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let (remote, data_dir) = (cli.remote, settings.data_dir.clone());
    let admin = match cli.command {
        Command::Orgs(cmd) => crate::remote::orgs(&remote, &data_dir, cmd).await,
        Command::Resources(cmd) => crate::remote::resources(&remote, &data_dir, cmd).await,
        Command::Clients(cmd) => crate::remote::clients(&remote, &data_dir, cmd).await,
        Command::Secrets(cmd) => crate::remote::secrets(&remote, &data_dir, cmd).await,
        Command::Revoke(args) => crate::remote::revoke(&remote, &data_dir, args).await,
        local => return run_local(settings, local, remote.json).await,
    };
    admin.map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
}

/// The commands that work on the deployment's own settings rather than through the API.
async fn run_local(settings: writ_app::Settings, command: Command, as_json: bool) -> ExitCode {
    let _telemetry = writ_http::telemetry::init(&settings.log, "writ");
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::Bootstrap { new_secret } => bootstrap(settings, new_secret).await,
        Command::Keys(cmd) => keys(settings, cmd, as_json).await,
        Command::Openapi { name } => match crate::openapi_documents().into_iter().find(|(n, _)| *n == name) {
            Some((_, doc)) => match serde_json::to_string_pretty(&doc) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            },
            None => {
                eprintln!("error: no OpenAPI document named `{name}`");
                ExitCode::from(2)
            }
        },
        Command::BenchSeed { clients, emit, credentials } => {
            let d = match deployment(settings).await {
                Ok(d) => d,
                Err(e) => return fail(&e),
            };
            crate::seed::seed(&d, clients, emit, &credentials)
                .await
                .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
        }
        Command::BenchSeedPeople { people, codes, out } => {
            let d = match deployment(settings).await {
                Ok(d) => d,
                Err(e) => return fail(&e),
            };
            crate::seed::seed_people(&d, people, codes, &out)
                .await
                .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
        }
        Command::Orgs(_)
        | Command::Resources(_)
        | Command::Clients(_)
        | Command::Secrets(_)
        | Command::Revoke(_) => ExitCode::SUCCESS,
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

async fn serve(settings: writ_app::Settings) -> ExitCode {
    let embedded = settings.database_url.is_none();
    let app = match crate::build(settings).await {
        Ok(app) => app,
        Err(e) => return fail(&e),
    };
    let ctx = app.context().clone();
    match bootstrap::operator_id(&ctx).await {
        Ok(Some(_)) => {}
        Ok(None) if embedded => {
            let path = ctx.settings.data_dir.join("operator.json");
            match bootstrap::create_operator(&ctx).await {
                Ok(cred) => match write_credential(&path, &ctx, &cred) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "created the operator; its credential is in this file")
                    }
                    Err(e) => return fail(&format!("cannot write {}: {e}", path.display())),
                },
                Err(e) => return fail(&e),
            }
        }
        Ok(None) => tracing::warn!("no operator exists yet: run `writ bootstrap` to create one"),
        Err(e) => return fail(&e),
    }
    tracing::info!(port = app.port(), metrics_port = app.metrics_port(), issuer = %ctx.issuer, "listening");
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

async fn migrate(mut settings: writ_app::Settings) -> ExitCode {
    settings.auto_migrate = true;
    if let Err(e) = settings.ensure_data_dir() {
        return fail(&e);
    }
    let store = match writ_store::Store::connect(&settings.database_url()).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match store.migrate().await {
        Ok(()) => {
            eprintln!("migrations applied ({})", writ_store::backend_name(store.conn()));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

async fn bootstrap(settings: writ_app::Settings, new_secret: bool) -> ExitCode {
    let ctx = match deployment(settings).await {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let result = if new_secret {
        bootstrap::repair_operator(&ctx).await
    } else {
        bootstrap::create_operator(&ctx).await
    };
    match result {
        Ok(cred) => {
            println!("{}", credential_json(&ctx, &cred));
            ExitCode::SUCCESS
        }
        Err(e @ BootstrapError::AlreadyExists(_)) => {
            eprintln!("error: {e} (writ bootstrap --new-secret)");
            ExitCode::FAILURE
        }
        Err(e) => fail(&e),
    }
}

async fn keys(settings: writ_app::Settings, cmd: KeysCommand, as_json: bool) -> ExitCode {
    use writ_core::{Actor, KeyId, SigningAlg};
    let ctx = match deployment(settings).await {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let result = match cmd {
        KeysCommand::List => writ_store::Keys::new(ctx.store.conn()).list().await.map_err(|e| e.to_string()),
        KeysCommand::Rotate { alg, immediate } => {
            let alg = match alg.as_deref().map(SigningAlg::parse).transpose() {
                Ok(alg) => alg.unwrap_or(ctx.settings.signing_alg),
                Err(e) => return fail(&e),
            };
            writ_app::keys::rotate(&ctx, &ctx, alg, immediate, Actor::Operator)
                .await
                .map(|k| vec![k])
                .map_err(|e| e.to_string())
        }
        KeysCommand::Revoke { kid } => match KeyId::parse(&kid) {
            Ok(kid) => writ_app::keys::revoke(&ctx, &ctx, &kid, Actor::Operator)
                .await
                .map(|k| vec![k])
                .map_err(|e| e.to_string()),
            Err(e) => return fail(&e),
        },
    };
    match result {
        Ok(keys) => {
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({ "kid": k.kid.as_str(), "alg": k.alg.as_str(), "state": k.state.as_str(),
                                 "created_at": k.created_at.format(&Rfc3339).unwrap_or_default() })
                })
                .collect();
            if as_json {
                println!("{}", serde_json::Value::Array(rows));
            } else {
                let columns =
                    [("KID", "/kid"), ("ALG", "/alg"), ("STATE", "/state"), ("CREATED", "/created_at")];
                print!("{}", crate::remote::table(&rows, &columns));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// The deployment as a command that serves nothing sees it (`bootstrap`, `keys`): no runtime, no
/// subscription; the issuer is the one the server on `addr` would have.
async fn deployment(settings: writ_app::Settings) -> Result<Deployment, writ_app::InitError> {
    let port = settings.addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let issuer = settings.issuer_for_port(port);
    Deployment::open(settings, issuer).await
}

fn credential_json(ctx: &Deployment, cred: &OperatorCredential) -> serde_json::Value {
    json!({
        "client_id": cred.client_id.as_str(),
        "client_secret": cred.client_secret.expose(),
        "issuer": ctx.issuer,
        "token_endpoint": ctx.token_endpoint(),
        "admin_audience": ADMIN_AUDIENCE,
    })
}

fn write_credential(path: &Path, ctx: &Deployment, cred: &OperatorCredential) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&credential_json(ctx, cred)).map_err(std::io::Error::other)?;
    writ_app::settings::write_private(path, format!("{text}\n").as_bytes())
}
