//! A slot (a role in a region) the cloud fails on fails every tick until
//! someone fixes its cause: a template that does not exist, a permission,
//! a quota. Said every tick, it buries the decision log and the logs in
//! one line repeated; said once when it starts (or changes) and once when
//! it clears, it is news. The scaler's memory keeps what is going on.

use time::OffsetDateTime;

use crate::group::NodeGroup;
use crate::ports::SlotFailure;
use crate::scaling::{Action, Decider, Decision, DecisionRecord, ScalerMemory};

/// The records (and log lines) a tick's slot failures come to: a failure
/// that starts or changes, and one that cleared.
pub(super) fn fault_news(
    group: &NodeGroup,
    failures: &[SlotFailure],
    memory: &mut ScalerMemory,
    now: OffsetDateTime,
) -> Vec<DecisionRecord> {
    let mut records = Vec::new();
    for failure in failures {
        let (role, region, error) = (failure.role, &failure.region, failure.error.to_string());
        if !memory.note_fault(role, region, &error, now) {
            tracing::debug!(group = %group.name(), %role, %region, %error, "the cloud still fails for this role here");
            continue;
        }
        tracing::error!(group = %group.name(), %role, %region, %error, "the cloud fails for this role here: nothing is decided for it until this clears (said again when it does)");
        records.push(DecisionRecord {
            at: now,
            decision: Decision {
                action: Action::SyncFailed,
                role: Some(role),
                region: Some(region.clone()),
                reason: format!(
                    "the cloud could not be brought in line for this role here: {error}; nothing is decided \
                     for it until it is (held actions are renewed first); said again when it clears"
                ),
                numbers: None,
                by: Decider::Scaler,
            },
            outcome: format!("failed: {error}"),
        });
    }
    let slots =
        group.spec.roles.keys().flat_map(|role| group.spec.regions.iter().map(move |r| (*role, &r.region)));
    for (role, region) in slots {
        if failures.iter().any(|f| f.role == role && &f.region == region) {
            continue;
        }
        let Some(fault) = memory.clear_fault(role, region) else { continue };
        tracing::info!(group = %group.name(), %role, %region, ticks = fault.ticks, error = %fault.error, "the cloud is in line for this role here again");
        records.push(DecisionRecord {
            at: now,
            decision: Decision {
                action: Action::SyncRecovered { ticks: fault.ticks },
                role: Some(role),
                region: Some(region.clone()),
                reason: format!(
                    "the cloud is in line for this role here again, after {} failed tick(s) since {}: {}",
                    fault.ticks, fault.since, fault.error
                ),
                numbers: None,
                by: Decider::Scaler,
            },
            outcome: "done".into(),
        });
    }
    records
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;
    use crate::group::{example_spec, Role};
    use crate::ports::FleetError;

    const T0: OffsetDateTime = datetime!(2026-12-03 18:00 UTC);

    fn refused(group: &NodeGroup, code: &str) -> SlotFailure {
        SlotFailure {
            role: Role::Edge,
            region: group.spec.regions[0].region.clone(),
            error: FleetError::Refused(format!("CreateAutoScalingGroup: {code}")),
        }
    }

    fn types(records: &[DecisionRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| serde_json::to_value(&r.decision.action).unwrap()["type"].to_string())
            .collect()
    }

    #[test]
    fn a_failure_is_said_when_it_starts_changes_and_clears_not_every_tick() {
        let group = NodeGroup::new(example_spec("live"), T0);
        let mut memory = ScalerMemory::default();
        let tick = |memory: &mut ScalerMemory, failures: &[SlotFailure], after: u64| {
            types(&fault_news(&group, failures, memory, T0 + Duration::from_secs(after)))
        };
        let missing = refused(&group, "InvalidLaunchTemplateName.NotFound");
        assert_eq!(tick(&mut memory, std::slice::from_ref(&missing), 0), ["\"syncFailed\""]);
        assert!(tick(&mut memory, std::slice::from_ref(&missing), 10).is_empty(), "the same failure: quiet");
        assert!(tick(&mut memory, std::slice::from_ref(&missing), 20).is_empty());
        let denied = refused(&group, "AccessDenied");
        assert_eq!(tick(&mut memory, &[denied], 30), ["\"syncFailed\""], "another cause is news");
        let cleared = fault_news(&group, &[], &mut memory, T0 + Duration::from_secs(40));
        assert_eq!(types(&cleared), ["\"syncRecovered\""]);
        assert!(cleared[0].decision.reason.contains("AccessDenied"), "{}", cleared[0].decision.reason);
        assert!(tick(&mut memory, &[], 50).is_empty(), "said once");
    }

    #[test]
    fn a_cloud_that_throttles_on_one_call_then_another_is_one_failure() {
        let group = NodeGroup::new(example_spec("live"), T0);
        let mut memory = ScalerMemory::default();
        let unavailable = |what: &str| SlotFailure {
            role: Role::Edge,
            region: group.spec.regions[0].region.clone(),
            error: FleetError::Unavailable(what.to_owned().into()),
        };
        let at = |secs| T0 + Duration::from_secs(secs);
        let said =
            fault_news(&group, &[unavailable("DescribeAutoScalingGroups: Throttling")], &mut memory, at(0));
        assert_eq!(types(&said), ["\"syncFailed\""]);
        let again = fault_news(
            &group,
            &[unavailable("UpdateAutoScalingGroup: RequestLimitExceeded")],
            &mut memory,
            at(10),
        );
        assert!(again.is_empty(), "still unavailable: not news");
        let fault = &memory.slot_faults()[0].2;
        assert_eq!((fault.since, fault.ticks), (T0, 2));
        assert!(fault.error.contains("RequestLimitExceeded"), "the latest error is kept");
    }
}
