//! `writ-admin`: the admin alone, for deployments that scale services separately.

use clap::Parser;

/// Writ admin service. Settings: a TOML file (--config), then WRIT_* variables, then flags.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    settings: writ_http::settings::SettingsArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    writ_http::server::serve_main("writ-admin", Cli::parse().settings, &[writ_admin::SERVICE]).await
}
