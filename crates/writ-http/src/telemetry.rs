//! Telemetry shared by every binary: logs to stderr, and OTLP traces when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (gRPC; the standard `OTEL_*` variables apply). Incoming W3C
//! `traceparent` headers continue the caller's trace. Call [`init`] once, inside the Tokio runtime,
//! and keep the guard: dropping it flushes the spans still buffered.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Flushes and shuts the trace exporter down on drop.
#[must_use]
#[derive(Debug)]
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: flushing traces failed: {e}");
        }
    }
}

/// Starts logging with `filter` (`RUST_LOG` wins when set) and, when an OTLP endpoint is
/// configured, trace export as `service` (`OTEL_SERVICE_NAME` wins). A second call in the same
/// process leaves the first subscriber in place.
pub fn init(filter: &str, service: &'static str) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let provider =
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty()).and_then(|_| {
            match tracer_provider(service) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("telemetry: OTLP export disabled: {e}");
                    None
                }
            }
        });
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("writ")));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let _ = tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init();
    TelemetryGuard(provider)
}

fn tracer_provider(
    service: &'static str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build())
}
