//! A group's health as an operator reads it: is the scaler looking at the
//! group, and can the cloud be brought in line for each of its roles in
//! each region? Worked out from the scaler's memory, which remembers each
//! slot's failure (when it started, how many ticks, the error) and the last
//! tick; nothing is written for it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::ScalerMemory;
use crate::group::{GroupStatus, NodeGroup, Role};
use crate::names::Region;

/// A scaler silent this long on a group is news: the schedule runs it
/// every minute at most, and ticks come every few seconds.
pub const SCALER_SILENT_AFTER: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum HealthStatus {
    /// The scaler ticks the group and the cloud does what it is asked.
    Ok,
    /// Some roles or regions fail, or the scaler has not ticked the group
    /// lately: the rest still scales.
    Degraded,
    /// The cloud fails for every role in every region: nothing scales.
    Failing,
}

/// What the cloud answers for one role in one region, tick after tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotError {
    pub role: Role,
    pub region: Region,
    /// The cloud's call that failed (`CreateAutoScalingGroup`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The cloud's error code (`InvalidLaunchTemplateName.NotFound`), or
    /// `Refused` / `Unavailable` when it gave none.
    pub code: String,
    /// The whole error as the scaler saw it.
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
    /// Ticks that failed so, in a row.
    pub ticks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupHealth {
    pub status: HealthStatus,
    /// Why, in words; absent when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the scaler last ticked the group (absent before its first tick).
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_tick_at: Option<OffsetDateTime>,
    /// The last error of each role and region the cloud fails for.
    #[serde(default)]
    pub errors: Vec<SlotError>,
}

/// The group's health from what the scaler remembers of it (`None`: the
/// scaler never ticked it).
pub fn health_of(group: &NodeGroup, memory: Option<&ScalerMemory>, now: OffsetDateTime) -> GroupHealth {
    let last_tick_at = memory.and_then(ScalerMemory::last_tick);
    let errors: Vec<SlotError> = memory
        .map(|m| m.slot_faults())
        .unwrap_or_default()
        .into_iter()
        // A role or region the spec dropped while it failed is not the group's now.
        .filter(|(role, region, _)| {
            group.spec.roles.contains_key(role) && group.spec.regions.iter().any(|r| &r.region == region)
        })
        .map(|(role, region, fault)| {
            let (operation, code) = cause_of(&fault.error);
            SlotError {
                role,
                region,
                operation,
                code,
                message: fault.error,
                since: fault.since,
                ticks: fault.ticks,
            }
        })
        .collect();
    let slots = group.spec.roles.len() * group.spec.regions.len();
    let silent_since = last_tick_at.unwrap_or(group.created_at);
    let silent = group.status == GroupStatus::Active && now - silent_since >= SCALER_SILENT_AFTER;
    let (status, reason) = if !errors.is_empty() && errors.len() >= slots {
        (
            HealthStatus::Failing,
            Some(format!("the cloud fails for every role in every region: {}", summary(&errors))),
        )
    } else if !errors.is_empty() {
        let reason =
            format!("the cloud fails for {} of {slots} role/region(s): {}", errors.len(), summary(&errors));
        (HealthStatus::Degraded, Some(reason))
    } else if silent {
        let reason = match last_tick_at {
            Some(at) => format!("the scaler has not ticked this group since {at}"),
            None => "the scaler has never ticked this group".to_owned(),
        };
        (HealthStatus::Degraded, Some(reason))
    } else {
        (HealthStatus::Ok, None)
    };
    GroupHealth { status, reason, last_tick_at, errors }
}

fn summary(errors: &[SlotError]) -> String {
    let each: Vec<String> = errors
        .iter()
        .map(|e| match &e.operation {
            Some(op) => format!("{} in {}: {op} {} ({} tick(s))", e.role, e.region, e.code, e.ticks),
            None => format!("{} in {}: {} ({} tick(s))", e.role, e.region, e.code, e.ticks),
        })
        .collect();
    each.join("; ")
}

/// The operation and code of a remembered slot error. The clouds word their
/// errors `<kind>: <Operation>: <Code>` (`FleetError`); anything else is
/// kept whole in `message` with the kind as its code.
fn cause_of(error: &str) -> (Option<String>, String) {
    let kind = if error.contains("unavailable") { "Unavailable" } else { "Refused" };
    let Some((_, rest)) = error.split_once(": ") else { return (None, kind.to_owned()) };
    let word = |s: &str, first_upper: bool| {
        !s.is_empty()
            && (!first_upper || s.starts_with(|c: char| c.is_ascii_uppercase()))
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    };
    match rest.split_once(": ") {
        Some((operation, code)) if word(operation, true) && word(code, false) => {
            (Some(operation.to_owned()), code.to_owned())
        }
        Some((operation, _)) if word(operation, true) => (Some(operation.to_owned()), kind.to_owned()),
        _ => (None, kind.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::group::example_spec;

    const T0: OffsetDateTime = datetime!(2026-12-03 18:00 UTC);

    fn ticked(at: OffsetDateTime) -> ScalerMemory {
        ScalerMemory { last_tick: Some(at.unix_timestamp()), ..ScalerMemory::default() }
    }

    #[test]
    fn a_group_the_scaler_ticks_without_error_is_ok() {
        let group = NodeGroup::new(example_spec("live"), T0);
        let health =
            health_of(&group, Some(&ticked(T0 + Duration::from_secs(60))), T0 + Duration::from_secs(65));
        assert_eq!(health.status, HealthStatus::Ok);
        assert_eq!(health.reason, None);
        assert_eq!(health.last_tick_at, Some(T0 + Duration::from_secs(60)));
        let fresh = health_of(&group, None, T0 + Duration::from_secs(10));
        assert_eq!(fresh.status, HealthStatus::Ok, "not ticked yet, but only just created");
    }

    #[test]
    fn one_failing_slot_degrades_the_group_and_every_slot_failing_fails_it() {
        let group = NodeGroup::new(example_spec("live"), T0);
        let slots: Vec<(Role, Region)> = group
            .spec
            .roles
            .keys()
            .flat_map(|role| group.spec.regions.iter().map(|r| (*role, r.region.clone())))
            .collect();
        assert!(slots.len() >= 2, "the example has several slots");
        let mut memory = ticked(T0 + Duration::from_secs(100));
        let refused = "the cloud backend refused: CreateAutoScalingGroup: InvalidLaunchTemplateName.NotFound";
        memory.note_fault(slots[0].0, &slots[0].1, refused, T0);
        memory.note_fault(slots[0].0, &slots[0].1, refused, T0 + Duration::from_secs(10));
        let health = health_of(&group, Some(&memory), T0 + Duration::from_secs(101));
        assert_eq!(health.status, HealthStatus::Degraded);
        let error = &health.errors[0];
        assert_eq!(error.operation.as_deref(), Some("CreateAutoScalingGroup"));
        assert_eq!(error.code, "InvalidLaunchTemplateName.NotFound");
        assert_eq!((error.since, error.ticks), (T0, 2));
        assert!(health.reason.unwrap().contains("InvalidLaunchTemplateName.NotFound"));

        let unavailable = "the cloud backend is unavailable: DescribeAutoScalingGroups: Throttling";
        for (role, region) in &slots[1..] {
            memory.note_fault(*role, region, unavailable, T0);
        }
        let health = health_of(&group, Some(&memory), T0 + Duration::from_secs(101));
        assert_eq!(health.status, HealthStatus::Failing);
        assert_eq!(health.errors.len(), slots.len());
    }

    #[test]
    fn a_failure_of_a_region_the_spec_dropped_is_not_the_group_s() {
        let group = NodeGroup::new(example_spec("live"), T0);
        let mut memory = ticked(T0 + Duration::from_secs(100));
        let gone = Region::parse("ap-south-2").unwrap();
        memory.note_fault(
            Role::Edge,
            &gone,
            "the cloud backend refused: CreateAutoScalingGroup: AccessDenied",
            T0,
        );
        let health = health_of(&group, Some(&memory), T0 + Duration::from_secs(101));
        assert_eq!((health.status, health.errors.len()), (HealthStatus::Ok, 0));
    }

    #[test]
    fn a_scaler_silent_on_an_active_group_degrades_it() {
        let group = NodeGroup::new(example_spec("live"), T0);
        let later = T0 + SCALER_SILENT_AFTER + Duration::from_secs(1);
        let health = health_of(&group, Some(&ticked(T0)), later);
        assert_eq!(health.status, HealthStatus::Degraded);
        assert!(health.reason.unwrap().contains("not ticked"));
        assert_eq!(
            health_of(&group, None, later).reason.as_deref(),
            Some("the scaler has never ticked this group")
        );
    }

    #[test]
    fn an_error_not_worded_by_a_cloud_is_kept_whole() {
        assert_eq!(
            cause_of("the cloud backend refused: role edge has neither imageId nor launchTemplate"),
            (None, "Refused".to_owned())
        );
        assert_eq!(
            cause_of(
                "the cloud backend is unavailable: DescribeAutoScalingGroups: no answer (network or timeout)"
            ),
            (Some("DescribeAutoScalingGroups".to_owned()), "Unavailable".to_owned())
        );
        assert_eq!(
            cause_of("the cloud backend is unavailable: DescribeAutoScalingGroups: ThrottlingException"),
            (Some("DescribeAutoScalingGroups".to_owned()), "ThrottlingException".to_owned())
        );
    }
}
