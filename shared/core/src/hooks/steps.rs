//! The next step of a held lifecycle action: a pure function of the node,
//! its hold and `now`, so that the rules are tested without a cloud.

use std::time::Duration;

use time::OffsetDateTime;

use super::{HookKind, HookResult, LifecycleHold, PoolMove};
use crate::node::{Node, NodeState};

/// AWS ends any held action after 48 hours or 100 heartbeat timeouts,
/// whichever is shorter, whatever the heartbeats.
pub fn global_timeout(heartbeat_timeout_secs: u32) -> Duration {
    Duration::from_secs((100 * u64::from(heartbeat_timeout_secs)).min(48 * 3600))
}

#[derive(Debug, Clone, Copy)]
pub struct HoldContext {
    pub now: OffsetDateTime,
    /// The role's drain deadline: sessions left after it are cut.
    pub drain_deadline: Duration,
    /// Warm-up plus grace: a launch not heard from by then failed.
    pub launch_deadline: Duration,
    /// How long an instance entering the warm pool is given to initialise
    /// before the cloud stops it there (the pool's `initSecs`).
    pub pool_init: Duration,
    /// Silence after which a node's last report no longer counts.
    pub dead_after: Duration,
    /// The role's fault deadline: how long a silent node whose last report
    /// had sessions is held (its media may still flow; only its reports
    /// may be lost) before the answer is forced.
    pub fault_deadline: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldStep {
    /// Tell the cloud the action is still held (`RecordLifecycleActionHeartbeat`).
    KeepAlive,
    /// Answer the action.
    Complete { result: HookResult, forced: bool, reason: String },
    /// A claimed completion the cloud has not acknowledged: send it again.
    Resend { result: HookResult },
}

/// How long a claimed answer may go unacknowledged before it is sent again
/// (sooner as the hook's timeout nears: see `next_step`).
pub const RESEND_AFTER: Duration = Duration::from_secs(60);

fn since(now: OffsetDateTime, at: OffsetDateTime) -> Duration {
    (now - at).try_into().unwrap_or(Duration::ZERO)
}

/// What to do about `hold` now; `None` while there is nothing to do.
pub fn next_step(node: &Node, hold: &LifecycleHold, ctx: &HoldContext) -> Option<HoldStep> {
    let timeout = Duration::from_secs(u64::from(hold.heartbeat_timeout_secs));
    if let Some(result) = hold.result {
        // The claimant is sending it now; only an answer left unacknowledged
        // for a while (its send failed, or it died) is sent again. A claimed
        // answer is no longer kept alive, and AWS's timeout runs from the
        // last keep-alive (at or before the claim), after which it applies
        // the hook's default (ABANDON for a launch): once half of it has
        // passed, a send that had time to finish (a sixth of the timeout,
        // at most 10 s) is not waited on either.
        let claimed_for = hold.claimed_at.map(|at| since(ctx.now, at));
        let sent_in_time = (timeout / 6).min(Duration::from_secs(10));
        let late = since(ctx.now, hold.kept_at) >= timeout / 2;
        let stale = claimed_for.is_none_or(|c| c >= RESEND_AFTER || (late && c >= sent_in_time));
        return (hold.completed_at.is_none() && stale).then_some(HoldStep::Resend { result });
    }
    let held_for = since(ctx.now, hold.received_at);
    // Heartbeat at half the timeout, so that one late tick is no harm.
    let keep_alive = (since(ctx.now, hold.kept_at) >= timeout / 2).then_some(HoldStep::KeepAlive);
    let complete = |result, forced, reason: String| Some(HoldStep::Complete { result, forced, reason });
    match hold.kind {
        HookKind::Terminate => {
            let silence = node.last_heartbeat_at.map_or(Duration::MAX, |at| since(ctx.now, at));
            let silent = silence >= ctx.dead_after;
            // Viewers lookups sent since its last report count: an empty
            // report followed by a crowd is not an empty node.
            let sessions = node.held_or_coming();
            // Stop before AWS would end the hold on its own.
            let give_up_at =
                ctx.drain_deadline.min(global_timeout(hold.heartbeat_timeout_secs) - timeout / 2);
            if !matches!(node.state, NodeState::InService | NodeState::Draining) {
                complete(
                    HookResult::Continue,
                    false,
                    format!("no session to wait for: the node is {}", node.state.as_str()),
                )
            } else if sessions == 0 && silent {
                complete(
                    HookResult::Continue,
                    false,
                    "no session to wait for: the node went silent with none".into(),
                )
            } else if sessions == 0 {
                complete(HookResult::Continue, false, "drained: no session left".into())
            } else if silent && silence >= ctx.fault_deadline {
                // Silence is not death: a node that had viewers when it fell
                // silent is held like one that reports them, up to its
                // role's fault deadline.
                complete(
                    HookResult::Continue,
                    true,
                    format!(
                        "FORCED: silent {}s (fault deadline {}s) with {sessions} session(s) at its last report",
                        silence.as_secs(),
                        ctx.fault_deadline.as_secs()
                    ),
                )
            } else if held_for >= give_up_at {
                complete(
                    HookResult::Continue,
                    true,
                    format!(
                        "FORCED: held {}s (limit {}s) with {sessions} session(s) left",
                        held_for.as_secs(),
                        give_up_at.as_secs()
                    ),
                )
            } else {
                keep_alive
            }
        }
        // Into the warm pool: nothing reports there (the agent stays quiet
        // while its instance is `Warmed:*`), so the pool's `initSecs` is the
        // time it is given to initialise; a failed one fails when it is
        // brought into service, as a launch.
        HookKind::Launch if hold.warm_pool == Some(PoolMove::Entering) => {
            if held_for >= ctx.pool_init {
                complete(
                    HookResult::Continue,
                    false,
                    format!(
                        "initialised for {}s (the warm pool's initSecs): stopped in the pool until a scale-out takes it",
                        held_for.as_secs()
                    ),
                )
            } else {
                keep_alive
            }
        }
        HookKind::Launch => {
            if node.last_heartbeat_at.is_some() && node.state != NodeState::Failed {
                complete(HookResult::Continue, false, "first heartbeat arrived: in service".into())
            } else if node.state == NodeState::Failed || held_for >= ctx.launch_deadline {
                complete(
                    HookResult::Abandon,
                    false,
                    format!(
                        "no first heartbeat {}s after launch (warm-up + grace {}s): failed launch",
                        held_for.as_secs(),
                        ctx.launch_deadline.as_secs()
                    ),
                )
            } else {
                keep_alive
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::hooks::HookAction;
    use crate::names::{NodeId, Region};
    use crate::node::fixtures::node;

    const T0: OffsetDateTime = datetime!(2026-11-21 06:00 UTC);

    fn hold(kind: HookKind, timeout: u32) -> LifecycleHold {
        let action = HookAction {
            hook: "sf-terminate".into(),
            asg: "sf-live-edge-eu-west-1".into(),
            token: "tok".into(),
            instance: NodeId::parse("a").unwrap(),
            region: Region::parse("eu-west-1").unwrap(),
        };
        LifecycleHold::new(kind, action, timeout, T0)
    }

    fn ctx(after_secs: u64) -> HoldContext {
        HoldContext {
            now: T0 + Duration::from_secs(after_secs),
            drain_deadline: Duration::from_secs(3600),
            launch_deadline: Duration::from_secs(240),
            pool_init: Duration::from_secs(120),
            dead_after: Duration::from_secs(60),
            fault_deadline: Duration::from_secs(600),
        }
    }

    /// A node with `sessions` viewers that reported `ago` seconds before `at`.
    fn serving(sessions: u32, at: OffsetDateTime) -> Node {
        let mut n = node("a", at);
        n.state = NodeState::Draining;
        n.load.subscribers = sessions;
        n
    }

    #[test]
    fn a_node_with_sessions_is_held_and_kept_alive_at_half_the_timeout() {
        let h = hold(HookKind::Terminate, 300);
        assert_eq!(next_step(&serving(3, T0 + Duration::from_secs(100)), &h, &ctx(100)), None);
        assert_eq!(
            next_step(&serving(3, T0 + Duration::from_secs(150)), &h, &ctx(150)),
            Some(HoldStep::KeepAlive)
        );
        let mut kept = h.clone();
        kept.kept_at = T0 + Duration::from_secs(150);
        assert_eq!(next_step(&serving(3, T0 + Duration::from_secs(200)), &kept, &ctx(200)), None);
    }

    #[test]
    fn an_empty_node_is_let_go_at_once() {
        let step = next_step(&serving(0, T0), &hold(HookKind::Terminate, 300), &ctx(0));
        assert!(matches!(step, Some(HoldStep::Complete { result: HookResult::Continue, forced: false, .. })));
    }

    #[test]
    fn a_node_silent_with_sessions_is_held_until_its_fault_deadline() {
        let h = hold(HookKind::Terminate, 300);
        // Fell silent with 5 viewers a minute before the action came: its
        // reports may be all that is lost (the heartbeat path, the network).
        let silent = serving(5, T0 - Duration::from_secs(61));
        assert_eq!(next_step(&silent, &h, &ctx(0)), None);
        assert_eq!(next_step(&silent, &h, &ctx(150)), Some(HoldStep::KeepAlive));
        let step = next_step(&silent, &h, &ctx(539));
        assert!(
            matches!(step, Some(HoldStep::Complete { result: HookResult::Continue, forced: true, ref reason }) if reason.contains("fault deadline 600s")),
            "{step:?}"
        );
        // It reports again, still with viewers: held as any other.
        let back = serving(5, T0 + Duration::from_secs(530));
        assert_eq!(next_step(&back, &h, &ctx(539)), Some(HoldStep::KeepAlive));
    }

    #[test]
    fn silent_without_sessions_dead_or_pending_nodes_have_no_session_to_wait_for() {
        let h = hold(HookKind::Terminate, 300);
        let silent = serving(0, T0 - Duration::from_secs(61));
        assert!(matches!(next_step(&silent, &h, &ctx(0)), Some(HoldStep::Complete { forced: false, .. })));
        let never_reported = Node { last_heartbeat_at: None, ..serving(0, T0) };
        assert!(matches!(
            next_step(&never_reported, &h, &ctx(0)),
            Some(HoldStep::Complete { forced: false, .. })
        ));
        for state in [NodeState::Pending, NodeState::Dead, NodeState::Failed, NodeState::Terminating] {
            let mut n = serving(5, T0);
            n.state = state;
            assert!(matches!(next_step(&n, &h, &ctx(0)), Some(HoldStep::Complete { forced: false, .. })));
        }
    }

    #[test]
    fn the_drain_deadline_forces_the_answer() {
        let at = T0 + Duration::from_secs(3600);
        let step = next_step(&serving(2, at), &hold(HookKind::Terminate, 300), &ctx(3600));
        assert!(
            matches!(step, Some(HoldStep::Complete { result: HookResult::Continue, forced: true, ref reason }) if reason.contains("2 session"))
        );
    }

    #[test]
    fn the_global_timeout_comes_first_when_shorter_than_the_deadline() {
        // 30 s heartbeats: AWS gives up after 3000 s; streamfleet answers 15 s before.
        let mut c = ctx(2985);
        c.drain_deadline = Duration::from_secs(48 * 3600);
        let step = next_step(&serving(2, c.now), &hold(HookKind::Terminate, 30), &c);
        assert!(matches!(step, Some(HoldStep::Complete { forced: true, .. })));
        assert_eq!(global_timeout(7200), Duration::from_secs(48 * 3600));
        assert_eq!(global_timeout(300), Duration::from_secs(30_000));
    }

    #[test]
    fn a_launch_into_the_warm_pool_initialises_for_its_init_time_then_goes_on_unheard() {
        let mut h = hold(HookKind::Launch, 300);
        h.warm_pool = Some(PoolMove::Entering);
        let mut pooling = node("a", T0);
        pooling.state = NodeState::Pooling;
        pooling.last_heartbeat_at = None;
        assert_eq!(next_step(&pooling, &h, &ctx(60)), None, "initialising");
        assert_eq!(next_step(&pooling, &h, &ctx(119)), None, "initSecs is 120 s");
        // Past initSecs, CONTINUE (never ABANDON: nothing reports there).
        assert!(matches!(
            next_step(&pooling, &h, &ctx(120)),
            Some(HoldStep::Complete { result: HookResult::Continue, forced: false, .. })
        ));
    }

    #[test]
    fn a_launch_continues_on_its_first_heartbeat_and_is_abandoned_without_one() {
        let h = hold(HookKind::Launch, 300);
        let mut pending = node("a", T0);
        pending.state = NodeState::Pending;
        pending.last_heartbeat_at = None;
        assert_eq!(next_step(&pending, &h, &ctx(100)), None);
        assert!(matches!(
            next_step(&pending, &h, &ctx(240)),
            Some(HoldStep::Complete { result: HookResult::Abandon, .. })
        ));
        let up = node("a", T0 + Duration::from_secs(30));
        assert!(matches!(
            next_step(&up, &h, &ctx(30)),
            Some(HoldStep::Complete { result: HookResult::Continue, .. })
        ));
    }

    #[test]
    fn a_claimed_answer_is_resent_only_when_left_unacknowledged() {
        let mut h = hold(HookKind::Terminate, 300);
        h.result = Some(HookResult::Continue);
        h.claimed_at = Some(T0);
        assert_eq!(next_step(&serving(3, T0), &h, &ctx(30)), None, "its claimant is sending it");
        assert_eq!(
            next_step(&serving(3, T0), &h, &ctx(60)),
            Some(HoldStep::Resend { result: HookResult::Continue })
        );
        h.completed_at = Some(T0);
        assert_eq!(next_step(&serving(3, T0), &h, &ctx(60)), None);
    }

    #[test]
    fn a_claimed_answer_is_resent_before_a_short_heartbeat_timeout_lapses() {
        let mut h = hold(HookKind::Launch, 30);
        h.result = Some(HookResult::Continue);
        h.claimed_at = Some(T0);
        assert_eq!(next_step(&serving(3, T0), &h, &ctx(14)), None);
        assert_eq!(
            next_step(&serving(3, T0), &h, &ctx(15)),
            Some(HoldStep::Resend { result: HookResult::Continue })
        );
    }

    #[test]
    fn a_claimed_answer_is_resent_before_the_timeout_counted_from_the_last_keep_alive() {
        // Kept alive 200 s before the claim (300 s timeout): AWS gives up
        // 100 s after it, sooner than the usual minute and a tick.
        let mut h = hold(HookKind::Launch, 300);
        h.kept_at = T0;
        h.result = Some(HookResult::Continue);
        h.claimed_at = Some(T0 + Duration::from_secs(200));
        assert_eq!(next_step(&serving(3, T0), &h, &ctx(205)), None, "its claimant is sending it");
        assert_eq!(
            next_step(&serving(3, T0), &h, &ctx(210)),
            Some(HoldStep::Resend { result: HookResult::Continue })
        );
    }

    #[test]
    fn viewers_sent_since_an_empty_report_hold_a_termination() {
        let h = hold(HookKind::Terminate, 300);
        let crowd = Node { seats_taken: 30, ..serving(0, T0) };
        assert_eq!(next_step(&crowd, &h, &ctx(0)), None);
        let silent_crowd = Node { seats_taken: 30, ..serving(0, T0 - Duration::from_secs(61)) };
        assert_eq!(next_step(&silent_crowd, &h, &ctx(0)), None);
    }

    #[test]
    fn hook_timeouts_stay_within_aws_bounds() {
        assert_eq!(hold(HookKind::Launch, 5).heartbeat_timeout_secs, 30);
        assert_eq!(hold(HookKind::Launch, 10_000).heartbeat_timeout_secs, 7200);
    }
}
