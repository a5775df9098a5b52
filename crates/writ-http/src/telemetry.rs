//! Logging setup shared by every binary: one call at start, returning a guard to keep alive.

use tracing_subscriber::EnvFilter;

/// Flushes on drop (OTLP export, when added, hangs off this guard).
#[must_use]
#[derive(Debug)]
pub struct TelemetryGuard(());

/// Starts logging to stderr with `filter` (`RUST_LOG` wins when set). Safe to call twice: the
/// second call leaves the first subscriber in place.
pub fn init(filter: &str) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    TelemetryGuard(())
}
