//! `writ`: the all-in-one server and CLI.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    writ::cli::run(writ::cli::Cli::parse()).await
}
