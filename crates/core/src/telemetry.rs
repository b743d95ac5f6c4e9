//! Logging, tracing and metrics setup shared by `wump-api` and `wump-worker`.
//!
//! Logs go to stdout (JSON by default, one object per line, with the active span, its
//! parents, and the OpenTelemetry trace and span ids when exporting). When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans and metrics are also exported
//! over OTLP/gRPC; the exporters read the standard `OTEL_*` variables themselves.

use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_otlp::{MetricExporter, SpanExporter};
use opentelemetry_sdk::{
    Resource,
    metrics::{MeterProviderBuilder, SdkMeterProvider},
    propagation::TraceContextPropagator,
    trace::SdkTracerProvider,
};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::settings::{LogFormat, TelemetrySettings};

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the exporters alive; dropping it flushes and shuts them down.
#[derive(Debug, Default)]
#[must_use = "telemetry stops exporting when the guard is dropped"]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Shutdown errors at exit have nowhere useful to go but stderr.
        if let Some(provider) = self.tracer_provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("telemetry: flushing traces failed: {err}");
        }
        if let Some(provider) = self.meter_provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("telemetry: flushing metrics failed: {err}");
        }
    }
}

/// Installs the global subscriber for `service` (e.g. `wump-api`). Call once, early in `main`,
/// inside the Tokio runtime (the OTLP exporters need it).
pub fn init(service: &str, settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    install(service, settings, None)
}

/// [`init`] with a global meter provider even without OTLP, which `add_readers` extends
/// (the api adds its Prometheus exporter behind `/metrics` with `builder.with_reader(..)`).
pub fn init_with_meters(
    service: &str,
    settings: &TelemetrySettings,
    add_readers: impl FnOnce(MeterProviderBuilder) -> MeterProviderBuilder + 'static,
) -> Result<TelemetryGuard, TelemetryError> {
    install(service, settings, Some(Box::new(add_readers)))
}

type AddReader = Box<dyn FnOnce(MeterProviderBuilder) -> MeterProviderBuilder>;

fn install(
    service: &str,
    settings: &TelemetrySettings,
    add_reader: Option<AddReader>,
) -> Result<TelemetryGuard, TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::try_new(&settings.log_filter)?,
    };
    let fmt = match settings.log_format {
        LogFormat::Json => json_subscriber::fmt::layer()
            .with_current_span(true)
            .with_span_list(true)
            .with_opentelemetry_ids(true)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };

    let service = if settings.service_name.is_empty() {
        service
    } else {
        &settings.service_name
    };
    let resource = Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    // A tracer provider is installed even without an exporter: it is what gives every span
    // the trace and span ids the JSON logs carry (and a `traceparent` to continue).
    let mut tracer_provider = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut guard = TelemetryGuard::default();
    let mut meters: Option<MeterProviderBuilder> = None;
    if otlp_configured() {
        let spans = SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        tracer_provider = tracer_provider.with_batch_exporter(spans);
        let metrics = MetricExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        meters = Some(
            SdkMeterProvider::builder()
                .with_resource(resource.clone())
                .with_periodic_exporter(metrics),
        );
    }
    if let Some(add_reader) = add_reader {
        let builder = meters
            .take()
            .unwrap_or_else(|| SdkMeterProvider::builder().with_resource(resource.clone()));
        meters = Some(add_reader(builder));
    }
    if let Some(meters) = meters {
        let meter_provider = meters.build();
        global::set_meter_provider(meter_provider.clone());
        guard.meter_provider = Some(meter_provider);
    }
    // W3C `traceparent`/`tracestate`: incoming requests continue their caller's trace.
    global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer_provider = tracer_provider.build();
    let otel =
        tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer(service.to_owned()));
    guard.tracer_provider = Some(tracer_provider);

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()?;
    Ok(guard)
}

fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|var| std::env::var(var).is_ok_and(|v| !v.is_empty()))
}
