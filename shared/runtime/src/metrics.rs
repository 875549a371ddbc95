//! Metrics on Lambda: what the domain records through the `metrics` facade
//! (`streamfleet_core::telemetry`) is written to the function's log as
//! CloudWatch Embedded Metric Format documents at the end of each
//! invocation, and CloudWatch turns them into metrics (namespace
//! `streamfleet`, dimension `Function` beside each metric's own). No API
//! call, no permission: the log is the transport. Elsewhere (the local
//! stack, the tests) no recorder is installed and recording costs nothing.

use std::sync::OnceLock;

use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::Function;

/// The CloudWatch namespace of every streamfleet metric.
pub const NAMESPACE: &str = "streamfleet";

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the recorder, once per process (a cold start).
pub fn init_metrics(function: Function) {
    match Builder::new().cloudwatch_namespace(NAMESPACE).with_dimension("Function", function.binary()).init()
    {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
        }
        Err(e) => tracing::warn!(error = %e, "metrics are off: the recorder could not be installed"),
    }
}

/// Writes what this invocation recorded to the log (stdout, as the Lambda
/// runtime collects it).
pub fn flush_metrics() {
    flush_metrics_to(std::io::stdout().lock());
}

/// `flush_metrics`, to another writer.
pub fn flush_metrics_to(writer: impl std::io::Write) {
    if let Some(collector) = COLLECTOR.get() {
        if let Err(e) = collector.flush(writer) {
            tracing::warn!(error = %e, "metrics could not be written");
        }
    }
}
