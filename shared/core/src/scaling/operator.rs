//! What an operator steers the scaler with: launches asked for now, and a
//! pause of its own decisions. Pure: the plan and the tick apply them.

use time::OffsetDateTime;

use super::decision::{Action, Decider, Decision, Numbers};
use super::memory::ScalerMemory;
use crate::group::Role;
use crate::names::Region;
use crate::node::DrainCause;

/// The launch an operator's ask for `asked` nodes of a role in a region
/// comes to, `count` nodes running or coming there: as many as the role's
/// max leaves room for (the API refuses more, but asks may race).
pub(super) fn operator_launch(
    role: Role,
    region: &Region,
    asked: u32,
    count: u32,
    numbers: &Numbers,
) -> Decision {
    let max = numbers.max;
    let launch = asked.min(max.saturating_sub(count));
    let (action, reason) = if launch == 0 {
        (
            Action::LaunchDeclined { role, region: region.clone(), asked },
            format!("an operator asked for {asked} node(s); the role's max of {max} leaves no room ({count} running or coming)"),
        )
    } else if launch < asked {
        (
            Action::Launch { role, region: region.clone(), count: launch },
            format!("an operator asked for {asked} node(s); {launch} within the role's max of {max}"),
        )
    } else {
        (
            Action::Launch { role, region: region.clone(), count: launch },
            format!("an operator asked for {asked} node(s)"),
        )
    };
    Decision {
        action,
        role: Some(role),
        region: Some(region.clone()),
        reason,
        numbers: Some(numbers.clone()),
        by: Decider::Operator,
    }
}

/// Whether a paused group's scaler holds the decision back: what changes
/// capacity on the scaler's own account. Marks, holds and answers, the
/// table's bookkeeping, a deletion's drain and an operator's own decisions
/// go on.
pub fn held_by_pause(decision: &Decision) -> bool {
    if decision.by == Decider::Operator {
        return false;
    }
    matches!(
        decision.action,
        Action::Launch { .. }
            | Action::Readmit { .. }
            | Action::Drain { cause: DrainCause::ScaleIn, .. }
            | Action::Terminate { .. }
    )
}

/// The decision a pause starting or ending comes to (said once each), and
/// the memory kept of it.
pub fn pause_news(paused: bool, memory: &mut ScalerMemory, now: OffsetDateTime) -> Option<Decision> {
    let say = |action: Action, reason: String| Decision {
        action,
        role: None,
        region: None,
        reason,
        numbers: None,
        by: Decider::Operator,
    };
    match (paused, memory.paused_since) {
        (true, None) => {
            memory.paused_since = Some(now.unix_timestamp());
            Some(say(
                Action::ScalingPaused,
                "scaling is paused (scalingPaused): nothing is launched, scaled in or terminated on the \
                 scaler's own account until it resumes; lifecycle holds are still settled, silent nodes \
                 marked, and an operator's launches and drains carried out"
                    .into(),
            ))
        }
        (false, Some(since)) => {
            memory.paused_since = None;
            let secs = u64::try_from(now.unix_timestamp() - since).unwrap_or(0);
            Some(say(Action::ScalingResumed { secs }, format!("scaling resumed after {secs} s paused")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::names::NodeId;

    fn region() -> Region {
        Region::parse("eu-west-1").unwrap()
    }

    fn numbers(max: u32) -> Numbers {
        Numbers { max, ..Numbers::default() }
    }

    proptest! {
        #[test]
        fn an_operator_s_launch_never_takes_a_role_past_its_max(asked in 1u32..50, count in 0u32..30, max in 0u32..30) {
            let decision = operator_launch(Role::Edge, &region(), asked, count, &numbers(max));
            prop_assert_eq!(decision.by, Decider::Operator);
            match decision.action {
                Action::Launch { count: launched, .. } => {
                    prop_assert!(launched >= 1 && launched <= asked);
                    prop_assert!(count + launched <= max);
                }
                Action::LaunchDeclined { asked: said, .. } => {
                    prop_assert_eq!(said, asked);
                    prop_assert!(count >= max);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    #[test]
    fn a_pause_holds_the_scaler_s_capacity_changes_only() {
        let node = NodeId::parse("i-0abc").unwrap();
        let scaler = |action: Action| Decision {
            action,
            role: None,
            region: None,
            reason: String::new(),
            numbers: None,
            by: Decider::Scaler,
        };
        let launch = Action::Launch { role: Role::Edge, region: region(), count: 2 };
        assert!(held_by_pause(&scaler(launch.clone())));
        assert!(held_by_pause(&scaler(Action::Drain { node: node.clone(), cause: DrainCause::ScaleIn })));
        assert!(held_by_pause(&scaler(Action::Terminate { node: node.clone(), forced: false })));
        assert!(!held_by_pause(&scaler(Action::MarkDead { node: node.clone() })));
        assert!(!held_by_pause(&scaler(Action::Drain { node, cause: DrainCause::GroupDeletion })));
        let asked = Decision { by: Decider::Operator, ..scaler(launch) };
        assert!(!held_by_pause(&asked), "an operator's launch goes on");
    }

    #[test]
    fn a_pause_is_said_when_it_starts_and_when_it_ends() {
        let t0 = datetime!(2026-12-03 18:00 UTC);
        let mut memory = ScalerMemory::default();
        assert_eq!(pause_news(false, &mut memory, t0), None);
        assert_eq!(pause_news(true, &mut memory, t0).unwrap().action, Action::ScalingPaused);
        assert_eq!(pause_news(true, &mut memory, t0 + std::time::Duration::from_secs(10)), None);
        let resumed = pause_news(false, &mut memory, t0 + std::time::Duration::from_secs(90)).unwrap();
        assert_eq!(resumed.action, Action::ScalingResumed { secs: 90 });
        assert_eq!(memory.paused_since, None);
    }
}
