//! Logs (tracing, text or JSON, a request id on every line) and Prometheus
//! metrics (per route and status, plus what the store and projections report).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Latency buckets in seconds: 100 µs .. 10 s, about three per decade.
const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Append batch sizes: powers of two up to the writer's batch bound.
const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Starts logging in `format`, filtered by `DOCKET_LOG` (default `info`,
/// `warn` for sled and NATS).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("DOCKET_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sled=warn,tower_http=info,async_nats=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // `try_init` fails only when a subscriber is already set (tests): fine.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Installs the process-wide metrics recorder once; later calls reuse it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    LATENCY_BUCKETS_SECONDS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("docket_append_batch_size".into()),
                        BATCH_SIZE_BUCKETS,
                    )
                })
                .expect("the bucket lists above are non-empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (tests); metrics then
            // go there, and this handle renders an empty page.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// What the event store's writer reports per group commit, as histograms:
/// requests per commit, the flush + `fdatasync` time, and the whole commit.
/// Handles are taken once: the writer thread records without a lookup.
pub fn commit_histograms() -> docket_eventstore::CommitObserver {
    let batch_size = metrics::histogram!("docket_append_batch_size");
    let flush = metrics::histogram!("docket_append_flush_duration_seconds");
    let commit = metrics::histogram!("docket_append_commit_duration_seconds");
    Box::new(move |report| {
        batch_size.record(report.appends as f64);
        flush.record(report.flush.as_secs_f64());
        commit.record(report.total.as_secs_f64());
    })
}

/// Counts and times every request by route template and status.
pub async fn record_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("docket_http_requests_total", &labels).increment(1);
    metrics::histogram!("docket_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
