//! The scaler's tick queue on the emulator, run as on AWS: a stand-in for
//! the schedule orders every group's ticks on the queue each
//! `schedule_every`, and consumers receive its messages ten at a time and
//! hand them to the scaler function's own batch handler, deleting those it
//! did not report failed: what Lambda's SQS event source does for the
//! scaler function (moto has SQS, not Lambda's pollers).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use streamfleet_core::service::Scaler;
use streamfleet_runtime::{carry_out_orders, BatchOutcome, QueuedOrder};

/// Messages in one batch (the templates' `BatchSize`).
const BATCH: i32 = 10;

/// A queue for tick orders, as the templates make it: a failed order comes
/// back after `retry_after`, orders are kept an hour.
pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    retry_after: Duration,
) -> anyhow::Result<String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let created = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, retry_after.as_secs().max(1).to_string())
        .attributes(QueueAttributeName::MessageRetentionPeriod, "3600")
        .send()
        .await
        .with_context(|| format!("creating the tick queue {name}"))?;
    created.queue_url.context("the queue has a URL")
}

/// One batch: up to ten orders received (waiting up to `wait` for the
/// first), carried out, and those that did not fail deleted.
pub async fn consume_once(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    scaler: &Scaler,
    wait: Duration,
) -> anyhow::Result<BatchOutcome> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(BATCH)
        .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
        .send()
        .await
        .context("receiving tick orders")?;
    let messages = received.messages();
    let orders = messages
        .iter()
        .map(|m| QueuedOrder {
            id: m.message_id().unwrap_or_default().to_owned(),
            body: m.body().unwrap_or_default().to_owned(),
        })
        .collect();
    let outcome = carry_out_orders(scaler, orders, None).await;
    // One call for the batch, as Lambda's poller deletes.
    let done: Vec<_> = messages
        .iter()
        .filter(|message| !outcome.failed.iter().any(|failed| Some(failed.as_str()) == message.message_id()))
        .filter_map(|message| message.receipt_handle())
        .enumerate()
        .map(|(i, handle)| {
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(handle)
                .build()
                .expect("id and receipt handle are set")
        })
        .collect();
    // Not deleted: delivered again after the visibility timeout, and then
    // dropped as stale or ticked again (leases keep it single); the ticks
    // that ran are reported all the same.
    if !done.is_empty() {
        match sqs.delete_message_batch().queue_url(queue_url).set_entries(Some(done)).send().await {
            Ok(deleted) if deleted.failed().is_empty() => {}
            Ok(deleted) => {
                let codes: Vec<&str> = deleted.failed().iter().map(|f| f.code()).collect();
                tracing::warn!(?codes, "some orders carried out were not deleted");
            }
            Err(e) => {
                let error = aws_sdk_sqs::error::DisplayErrorContext(&e);
                tracing::warn!(%error, "the orders carried out were not deleted");
            }
        }
    }
    Ok(outcome)
}

/// `count` consumers of the queue, for as long as the process runs.
pub fn spawn_consumers(sqs: aws_sdk_sqs::Client, queue_url: String, scaler: Arc<Scaler>, count: usize) {
    for _ in 0..count {
        let (sqs, queue_url, scaler) = (sqs.clone(), queue_url.clone(), scaler.clone());
        tokio::spawn(async move {
            loop {
                match consume_once(&sqs, &queue_url, &scaler, Duration::from_secs(1)).await {
                    Ok(outcome) if outcome.report.decisions > 0 || outcome.report.failed > 0 => {
                        tracing::info!(
                            decisions = outcome.report.decisions,
                            failed = outcome.report.failed,
                            "queued ticks"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "the tick queue could not be read");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

/// The schedule: every `every`, the groups' ticks until the next one are
/// ordered.
pub fn spawn_schedule(scaler: Arc<Scaler>, every: Duration) {
    tokio::spawn(async move {
        let mut schedule = tokio::time::interval(every);
        schedule.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            schedule.tick().await;
            if let Err(e) = scaler.dispatch().await {
                tracing::warn!(error = %e, "ticks could not be ordered; the next schedule tries again");
            }
        }
    });
}
