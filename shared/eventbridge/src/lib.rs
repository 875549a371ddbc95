//! Decision events on Amazon EventBridge: each decision the log holds, as
//! one event (`source: streamfleet`, `detail-type: Scaling Decision`, the
//! record and its group as `detail`) on the bus the deployment names, for
//! operators' rules to route to chat, SNS, a pager.

use async_trait::async_trait;
use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use streamfleet_core::names::GroupName;
use streamfleet_core::ports::{DecisionEvents, EventsError};
use streamfleet_core::scaling::{DecisionEvent, DecisionRecord, EVENT_DETAIL_TYPE, EVENT_SOURCE};

/// `PutEvents` takes at most ten entries a call.
const ENTRIES_PER_CALL: usize = 10;

/// Sends of the entries a call's answer refused one by one (throttled, an
/// internal error). A failed call is retried by the SDK itself.
const SENDS_OF_REFUSED: usize = 2;

/// The most a publication may take, retries included: decisions are
/// published while their writer holds the group's lease (a scaler tick) or
/// answers an operator, and a slow EventBridge must not hold either.
pub const PUBLISH_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

pub struct EventBridgeDecisions {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeDecisions {
    /// `bus`: the event bus's name or ARN (`default` for the account's own).
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self { client, bus: bus.into() }
    }

    fn entry(
        &self,
        group: &GroupName,
        record: &DecisionRecord,
    ) -> Result<PutEventsRequestEntry, EventsError> {
        let detail = serde_json::to_string(&DecisionEvent { group, record })
            .map_err(|e| EventsError { unsent: 1, reason: format!("a decision did not serialize: {e}") })?;
        let at_ms = i64::try_from(record.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        Ok(PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(EVENT_DETAIL_TYPE)
            .detail(detail)
            .event_bus_name(&self.bus)
            .time(DateTime::from_millis(at_ms))
            .build())
    }

    /// One call's entries, those refused sent again: the number left
    /// unsent and why, on failure.
    async fn put(&self, mut pending: Vec<PutEventsRequestEntry>) -> Result<(), EventsError> {
        let mut reason = String::new();
        for _ in 0..SENDS_OF_REFUSED {
            let answer = match self.client.put_events().set_entries(Some(pending.clone())).send().await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::debug!(error = %DisplayErrorContext(&e), "PutEvents failed");
                    let code = e.code().unwrap_or("no answer (network or timeout)");
                    return Err(EventsError { unsent: pending.len(), reason: format!("PutEvents: {code}") });
                }
            };
            if answer.failed_entry_count() == 0 {
                return Ok(());
            }
            // The answer's entries are in the request's order.
            let mut refused = Vec::new();
            for (entry, result) in pending.into_iter().zip(answer.entries()) {
                if let Some(code) = result.error_code() {
                    reason = format!("PutEvents: {code}");
                    refused.push(entry);
                }
            }
            pending = refused;
        }
        Err(EventsError { unsent: pending.len(), reason })
    }
}

impl EventBridgeDecisions {
    /// Every chunk at once; one failing does not keep the others from
    /// being sent.
    async fn publish_all(&self, group: &GroupName, records: &[DecisionRecord]) -> Result<(), EventsError> {
        let calls = records.chunks(ENTRIES_PER_CALL).map(|chunk| async move {
            match chunk.iter().map(|r| self.entry(group, r)).collect::<Result<Vec<_>, _>>() {
                Ok(entries) => self.put(entries).await,
                Err(e) => Err(EventsError { unsent: chunk.len(), ..e }),
            }
        });
        EventsError::of_all(
            futures::future::join_all(calls).await.into_iter().filter_map(Result::err).collect(),
        )
    }
}

#[async_trait]
impl DecisionEvents for EventBridgeDecisions {
    async fn publish(&self, group: &GroupName, records: &[DecisionRecord]) -> Result<(), EventsError> {
        match tokio::time::timeout(PUBLISH_BUDGET, self.publish_all(group, records)).await {
            Ok(published) => published,
            // Some may have gone: counted as unsent, the log has them all.
            Err(_) => Err(EventsError {
                unsent: records.len(),
                reason: format!("PutEvents: no answer within {} s", PUBLISH_BUDGET.as_secs()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    fn records(count: usize) -> Vec<DecisionRecord> {
        (0..count)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "at": "2026-12-06T10:00:00.250Z",
                    "action": {"type": "launch", "role": "edge", "region": "eu-west-1", "count": i + 1},
                    "reason": "below the minimum",
                    "outcome": "done",
                }))
                .unwrap()
            })
            .collect()
    }

    fn accepted() -> PutEventsResultEntry {
        PutEventsResultEntry::builder().event_id("id").build()
    }

    fn throttled() -> PutEventsResultEntry {
        PutEventsResultEntry::builder().error_code("ThrottlingException").error_message("slow down").build()
    }

    fn group() -> GroupName {
        GroupName::parse("live").unwrap()
    }

    #[tokio::test]
    async fn twelve_decisions_go_as_ten_then_two_each_named_with_its_group_and_time() {
        let first = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|r| {
                let entries = r.entries();
                let detail: serde_json::Value = serde_json::from_str(entries[0].detail().unwrap()).unwrap();
                entries.len() == 10
                    && entries.iter().all(|e| {
                        (e.source(), e.detail_type(), e.event_bus_name())
                            == (Some("streamfleet"), Some("Scaling Decision"), Some("ops-bus"))
                    })
                    && detail["group"] == "live"
                    && detail["action"]["count"] == 1
                    && entries[0].time().map(|t| t.to_millis().unwrap()) == Some(1_796_551_200_250)
            })
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
        let second = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|r| r.entries().len() == 2)
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&first, &second]);

        EventBridgeDecisions::new(client, "ops-bus").publish(&group(), &records(12)).await.unwrap();
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn the_entries_a_call_refused_are_sent_again_and_only_those() {
        let answered = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|r| r.entries().len() == 3)
            .then_output(|| {
                PutEventsOutput::builder()
                    .failed_entry_count(1)
                    .entries(accepted())
                    .entries(throttled())
                    .entries(accepted())
                    .build()
            });
        let resent = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|r| {
                let detail: serde_json::Value =
                    serde_json::from_str(r.entries()[0].detail().unwrap()).unwrap();
                r.entries().len() == 1 && detail["action"]["count"] == 2
            })
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).entries(accepted()).build());
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&answered, &resent]);

        EventBridgeDecisions::new(client, "default").publish(&group(), &records(3)).await.unwrap();
        assert_eq!((answered.num_calls(), resent.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn entries_refused_twice_are_counted_unsent_with_the_reason() {
        let refusing = mock!(aws_sdk_eventbridge::Client::put_events)
            .then_output(|| PutEventsOutput::builder().failed_entry_count(1).entries(throttled()).build());
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&refusing]);

        let error =
            EventBridgeDecisions::new(client, "default").publish(&group(), &records(1)).await.unwrap_err();
        assert_eq!((error.unsent, error.reason.as_str()), (1, "PutEvents: ThrottlingException"));
        assert_eq!(refusing.num_calls(), SENDS_OF_REFUSED);
    }
}
