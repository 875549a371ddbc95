//! The scaler's tick orders as they arrive: a batch of SQS messages (the
//! queue's event source on AWS, the local stack's poller here), each
//! ticking one group; several groups at once, within the batch.

use futures::stream::{self, StreamExt};
use streamfleet_core::ports::TickOrder;
use streamfleet_core::service::{OrderOutcome, Scaler, TickReport};

/// Orders of one batch carried out at once.
const ORDERS_AT_ONCE: usize = 10;

/// One message of the queue: its id and body.
pub struct QueuedOrder {
    pub id: String,
    pub body: String,
}

/// What a batch came to: its report, and the ids of the messages whose
/// tick failed (answered as the batch's item failures, so that the queue
/// delivers them again; by then a later order is often due, and the
/// redelivered one is dropped as stale).
pub struct BatchOutcome {
    pub report: TickReport,
    pub failed: Vec<String>,
}

pub async fn carry_out_orders(
    scaler: &Scaler,
    messages: Vec<QueuedOrder>,
    deadline: Option<time::OffsetDateTime>,
) -> BatchOutcome {
    let started = std::time::Instant::now();
    let outcomes: Vec<_> = stream::iter(messages.into_iter().map(|message| async move {
        let outcome = match serde_json::from_str::<TickOrder>(&message.body) {
            Ok(order) => Some(scaler.carry_out(&order, deadline).await.map_err(|e| (order.group, e))),
            // Not ours to retry: it would come back forever.
            Err(e) => {
                tracing::warn!(message = %message.id, error = %e, "a message on the tick queue is no tick order; dropped");
                None
            }
        };
        (message.id, outcome)
    }))
    .buffer_unordered(ORDERS_AT_ONCE)
    .collect()
    .await;
    let mut report = TickReport::default();
    let mut failed = Vec::new();
    for (id, outcome) in outcomes {
        let Some(outcome) = outcome else { continue };
        report.groups += 1;
        match outcome {
            Ok(OrderOutcome::Ticked(streamfleet_core::service::GroupTickOutcome::Ticked(records))) => {
                report.ticks += 1;
                report.decisions += records.len() as u32;
            }
            Ok(OrderOutcome::Ticked(streamfleet_core::service::GroupTickOutcome::Leased)) => {
                report.skipped += 1
            }
            Ok(OrderOutcome::Ticked(streamfleet_core::service::GroupTickOutcome::NoSuchGroup)) => {}
            // Left to the group's next order, like a group a tick had no
            // time left for.
            Ok(OrderOutcome::Stale) => report.deferred += 1,
            Err((group, e)) => {
                report.failed += 1;
                tracing::error!(group = %group, error = %e, "a queued tick failed; the queue delivers it again");
                failed.push(id);
            }
        }
    }
    // A batch's ticks run side by side: the batch takes as long as a tick
    // of every group did in a loop (the slow-tick alarm's metric; its
    // failures were counted by each tick).
    if report.groups > 0 {
        streamfleet_core::telemetry::tick(started.elapsed(), 0);
    }
    BatchOutcome { report, failed }
}

/// The SQS event's messages.
pub fn messages_of(payload: &serde_json::Value) -> Vec<QueuedOrder> {
    payload["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|record| record["eventSource"] == "aws:sqs")
        .map(|record| QueuedOrder {
            id: record["messageId"].as_str().unwrap_or_default().to_owned(),
            body: record["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// A partial batch response: the messages to deliver again.
pub fn batch_response(failed: &[String]) -> serde_json::Value {
    serde_json::json!({
        "batchItemFailures": failed.iter().map(|id| serde_json::json!({"itemIdentifier": id})).collect::<Vec<_>>()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_sqs_event_s_messages_are_its_records_from_sqs() {
        let event = json!({"Records": [
            {"messageId": "a", "body": "{}", "eventSource": "aws:sqs"},
            {"eventID": "x", "eventSource": "aws:dynamodb"},
            {"messageId": "b", "body": "no order", "eventSource": "aws:sqs"},
        ]});
        let messages = messages_of(&event);
        let ids: Vec<_> = messages.iter().map(|m| (m.id.as_str(), m.body.as_str())).collect();
        assert_eq!(ids, [("a", "{}"), ("b", "no order")]);
        assert!(messages_of(&json!({})).is_empty());
    }

    #[test]
    fn the_answer_names_each_failed_message_as_an_item_failure() {
        assert_eq!(batch_response(&[]), json!({"batchItemFailures": []}));
        assert_eq!(
            batch_response(&["a".to_owned(), "b".to_owned()]),
            json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]})
        );
    }
}
