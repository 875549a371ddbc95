//! The scaler's tick orders on Amazon SQS: each order one message (its
//! group and time as JSON), delayed until its time, sent ten to a call and
//! several calls at once, since a scheduled invocation orders every group
//! several times over.

use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::stream::{self, StreamExt};
use streamfleet_core::ports::{QueueError, TickOrder, TickQueue};
use time::OffsetDateTime;

/// `SendMessageBatch` takes at most ten messages a call.
const ENTRIES_PER_CALL: usize = 10;
/// Calls in flight at once: 10,000 groups ordered six times a minute are
/// 6,000 calls, a few seconds at this many.
const CALLS_AT_ONCE: usize = 16;
/// Sends of the entries a call's answer refused one by one (not the
/// sender's fault). A failed call is retried by the SDK itself.
const SENDS_OF_REFUSED: usize = 2;
/// SQS delays a message by 15 minutes at most.
const MAX_DELAY_SECS: i64 = 900;

pub struct SqsTickQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsTickQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }

    /// Sends one call's entries, those refused again: how many were left
    /// unsent and why, on failure.
    async fn put(&self, mut pending: Vec<SendMessageBatchRequestEntry>) -> Result<(), QueueError> {
        let mut reason = String::new();
        for _ in 0..SENDS_OF_REFUSED {
            let call = self.client.send_message_batch().queue_url(&self.queue_url);
            let answer = match call.set_entries(Some(pending.clone())).send().await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::debug!(error = %DisplayErrorContext(&e), "SendMessageBatch failed");
                    let code = e.code().unwrap_or("no answer (network or timeout)");
                    return Err(QueueError {
                        unsent: pending.len(),
                        reason: format!("SendMessageBatch: {code}"),
                    });
                }
            };
            if answer.failed().is_empty() {
                return Ok(());
            }
            let refused: Vec<&str> = answer.failed().iter().map(|f| f.id()).collect();
            reason = format!("SendMessageBatch: {}", answer.failed()[0].code());
            if answer.failed().iter().any(|f| f.sender_fault()) {
                // The request itself is wrong: sending it again cannot help.
                return Err(QueueError { unsent: refused.len(), reason });
            }
            pending.retain(|entry| refused.contains(&entry.id()));
        }
        Err(QueueError { unsent: pending.len(), reason })
    }
}

/// Whole seconds from `now` until `at`, rounded up so that no order is
/// delivered before its time, within what SQS allows.
pub fn delay_secs(at: OffsetDateTime, now: OffsetDateTime) -> i32 {
    let millis = (at - now).whole_milliseconds();
    let secs = i64::try_from((millis + 999).div_euclid(1000)).unwrap_or(MAX_DELAY_SECS);
    secs.clamp(0, MAX_DELAY_SECS) as i32
}

fn entry(
    id: usize,
    order: &TickOrder,
    now: OffsetDateTime,
) -> Result<SendMessageBatchRequestEntry, QueueError> {
    let body = serde_json::to_string(order)
        .map_err(|e| QueueError { unsent: 1, reason: format!("a tick order did not serialize: {e}") })?;
    SendMessageBatchRequestEntry::builder()
        .id(id.to_string())
        .message_body(body)
        .delay_seconds(delay_secs(order.at, now))
        .build()
        .map_err(|e| QueueError { unsent: 1, reason: e.to_string() })
}

#[async_trait]
impl TickQueue for SqsTickQueue {
    async fn send(&self, orders: &[TickOrder], now: OffsetDateTime) -> Result<(), QueueError> {
        let mut calls = Vec::new();
        for chunk in orders.chunks(ENTRIES_PER_CALL) {
            let entries = chunk.iter().enumerate().map(|(i, order)| entry(i, order, now)).collect();
            calls.push(match entries {
                Ok(entries) => futures::future::Either::Left(self.put(entries)),
                Err(e) => futures::future::Either::Right(std::future::ready(Err(QueueError {
                    unsent: chunk.len(),
                    ..e
                }))),
            });
        }
        // One call failing does not keep the others from being sent.
        QueueError::of_all(
            stream::iter(calls)
                .buffer_unordered(CALLS_AT_ONCE)
                .filter_map(|sent| async move { sent.err() })
                .collect()
                .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
    use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use streamfleet_core::names::GroupName;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

    fn orders(count: usize, at: OffsetDateTime) -> Vec<TickOrder> {
        (0..count).map(|i| TickOrder { group: GroupName::parse(format!("g{i}")).unwrap(), at }).collect()
    }

    fn sent(id: &str) -> SendMessageBatchResultEntry {
        SendMessageBatchResultEntry::builder()
            .id(id)
            .message_id("m")
            .md5_of_message_body("x")
            .build()
            .unwrap()
    }

    fn refused(id: &str, sender_fault: bool) -> BatchResultErrorEntry {
        BatchResultErrorEntry::builder()
            .id(id)
            .code("InternalError")
            .sender_fault(sender_fault)
            .build()
            .unwrap()
    }

    #[test]
    fn an_order_waits_until_its_time_rounded_up_and_at_most_fifteen_minutes() {
        assert_eq!(delay_secs(NOW, NOW), 0);
        assert_eq!(delay_secs(NOW - Duration::from_secs(3), NOW), 0);
        assert_eq!(delay_secs(NOW + Duration::from_millis(9_200), NOW), 10);
        assert_eq!(delay_secs(NOW + Duration::from_secs(20), NOW), 20);
        assert_eq!(delay_secs(NOW + Duration::from_secs(3600), NOW), 900);
    }

    #[tokio::test]
    async fn twenty_three_orders_go_as_three_calls_each_delayed_to_its_time() {
        let calls = mock!(aws_sdk_sqs::Client::send_message_batch)
            .match_requests(|r| {
                let order: TickOrder = serde_json::from_str(r.entries()[0].message_body()).unwrap();
                r.queue_url() == Some("q")
                    && r.entries().iter().all(|e| e.delay_seconds() == Some(20))
                    && order.at == NOW + Duration::from_secs(20)
            })
            .then_output(|| {
                SendMessageBatchOutput::builder()
                    .set_successful(Some(vec![]))
                    .set_failed(Some(vec![]))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&calls]);

        SqsTickQueue::new(client, "q").send(&orders(23, NOW + Duration::from_secs(20)), NOW).await.unwrap();
        assert_eq!(calls.num_calls(), 3);
    }

    #[tokio::test]
    async fn entries_refused_by_sqs_are_sent_again_and_only_those() {
        let answered = mock!(aws_sdk_sqs::Client::send_message_batch)
            .match_requests(|r| r.entries().len() == 3)
            .then_output(|| {
                SendMessageBatchOutput::builder()
                    .successful(sent("0"))
                    .successful(sent("2"))
                    .failed(refused("1", false))
                    .build()
                    .unwrap()
            });
        let resent = mock!(aws_sdk_sqs::Client::send_message_batch)
            .match_requests(|r| r.entries().len() == 1 && r.entries()[0].id() == "1")
            .then_output(|| {
                SendMessageBatchOutput::builder()
                    .successful(sent("1"))
                    .set_failed(Some(vec![]))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sqs, RuleMode::Sequential, [&answered, &resent]);

        SqsTickQueue::new(client, "q").send(&orders(3, NOW), NOW).await.unwrap();
        assert_eq!((answered.num_calls(), resent.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn entries_refused_for_the_sender_s_fault_are_not_sent_again() {
        let refusing = mock!(aws_sdk_sqs::Client::send_message_batch).then_output(|| {
            SendMessageBatchOutput::builder()
                .set_successful(Some(vec![]))
                .failed(refused("0", true))
                .build()
                .unwrap()
        });
        let client = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&refusing]);

        let error = SqsTickQueue::new(client, "q").send(&orders(1, NOW), NOW).await.unwrap_err();
        assert_eq!((error.unsent, error.reason.as_str()), (1, "SendMessageBatch: InternalError"));
        assert_eq!(refusing.num_calls(), 1);
    }
}
