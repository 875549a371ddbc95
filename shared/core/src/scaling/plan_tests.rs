use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;

use super::*;
use crate::group::{example_spec, GroupStatus, NodeGroup, Role};
use crate::names::{NodeId, Region};
use crate::node::fixtures::node;
use crate::node::{DrainCause, Node, NodeState};

const NOW: OffsetDateTime = datetime!(2026-11-21 06:00 UTC);

/// The example group (edges: min 2, max 20, step 2, capacity 1000) in eu-west-1 only.
fn group() -> NodeGroup {
    let mut spec = example_spec("live");
    spec.regions.truncate(1);
    // The plan's rules, on thresholds of their own (defaults change with tuning).
    for role in spec.roles.values_mut() {
        role.scale.scale_out_threshold_pct = 60;
        role.scale.scale_in_threshold_pct = 30;
    }
    NodeGroup {
        spec,
        version: 1,
        status: GroupStatus::Active,
        node_count: 0,
        enroll_generation: 1,
        incarnation: String::new(),
        created_at: NOW,
        updated_at: NOW,
    }
}

fn edge(id: &str, subscribers: u32) -> Node {
    let mut n = node(id, NOW);
    n.load.subscribers = subscribers;
    n
}

fn origin(id: &str) -> Node {
    Node { role: Role::Origin, ..node(id, NOW) }
}

fn run(group: &NodeGroup, nodes: &[Node], pressure: &Pressure, memory: &ScalerMemory) -> Vec<Decision> {
    run_seen(group, nodes, pressure, memory, &HashSet::new())
}

/// `run`, with the instances the cloud's health checks failed.
fn run_seen(
    group: &NodeGroup,
    nodes: &[Node],
    pressure: &Pressure,
    memory: &ScalerMemory,
    unhealthy: &HashSet<NodeId>,
) -> Vec<Decision> {
    run_owed(group, nodes, pressure, memory, unhealthy, &Shortfall::new())
}

/// `run_seen`, with what the cloud was asked for and does not run yet.
fn run_owed(
    group: &NodeGroup,
    nodes: &[Node],
    pressure: &Pressure,
    memory: &ScalerMemory,
    unhealthy: &HashSet<NodeId>,
    shortfall: &Shortfall,
) -> Vec<Decision> {
    plan(&PlanInput {
        group,
        nodes,
        pressure,
        asked: &Pressure::new(),
        memory,
        unhealthy,
        shortfall,
        now: NOW,
        settings: PlanSettings::default(),
    })
}

fn actions(decisions: &[Decision]) -> Vec<Action> {
    decisions.iter().map(|d| d.action.clone()).collect()
}

fn eu() -> Region {
    Region::parse("eu-west-1").unwrap()
}

fn id(s: &str) -> NodeId {
    NodeId::parse(s).unwrap()
}

#[test]
fn instances_in_the_warm_pool_are_neither_capacity_nor_capacity_to_come() {
    let busy = [origin("o"), edge("a", 700), edge("b", 600)];
    let mut pooled = busy.to_vec();
    for id in ["p1", "p2", "p3"] {
        let mut n = edge(id, 0);
        n.state = NodeState::Pooling;
        n.last_heartbeat_at = None;
        n.launched_at = Some(NOW);
        pooled.push(n);
    }
    let memory = ScalerMemory::default();
    assert_eq!(
        actions(&run(&group(), &pooled, &Pressure::new(), &memory)),
        actions(&run(&group(), &busy, &Pressure::new(), &memory)),
        "the same scale-out, pool or not: the pool is the cloud's to draw on"
    );
}

#[test]
fn a_busy_role_scales_out_by_step() {
    let nodes = [origin("o"), edge("a", 700), edge("b", 600)];
    let decisions = run(&group(), &nodes, &Pressure::new(), &ScalerMemory::default());
    assert_eq!(actions(&decisions), [Action::Launch { role: Role::Edge, region: eu(), count: 2 }]);
    let numbers = decisions[0].numbers.clone().unwrap();
    assert_eq!((numbers.load_pct, numbers.serving), (65, 2));
    assert!(decisions[0].reason.contains("65%"), "{}", decisions[0].reason);
}

#[test]
fn refused_lookups_scale_out_even_at_low_load() {
    let nodes = [origin("o"), edge("a", 100), edge("b", 100)];
    let pressure = Pressure::from([((Role::Edge, eu()), 3)]);
    assert_eq!(
        actions(&run(&group(), &nodes, &pressure, &ScalerMemory::default())),
        [Action::Launch { role: Role::Edge, region: eu(), count: 2 }]
    );
}

#[test]
fn within_the_scale_out_cooldown_only_what_the_demand_needs_is_bought() {
    let mut memory = ScalerMemory::default();
    memory.record_scale_out(Role::Edge, &eu(), NOW - Duration::from_secs(30));
    // At the threshold, nothing to come: the step waits for the cooldown.
    let at_threshold = [origin("o"), edge("a", 600), edge("b", 600)];
    assert_eq!(actions(&run(&group(), &at_threshold, &Pressure::new(), &memory)), []);
    // A trickle of refusals the room in use does not confirm: nothing either.
    let refused = Pressure::from([((Role::Edge, eu()), 3)]);
    let half_full = [origin("o"), edge("a", 400), edge("b", 400)];
    assert_eq!(actions(&run(&group(), &half_full, &refused, &memory)), []);
    // Full nodes and viewers waiting: what they need, cooldown or not
    // (ticks come seconds apart in a flash crowd).
    let full = [origin("o"), edge("a", 950), edge("b", 950)];
    let decisions = run(&group(), &full, &Pressure::from([((Role::Edge, eu()), 600)]), &memory);
    assert!(matches!(actions(&decisions)[..], [Action::Launch { count, .. }] if count >= 1), "{decisions:?}");
    assert!(decisions[0].reason.contains("cooldown"), "{}", decisions[0].reason);
}

#[test]
fn max_caps_a_scale_out() {
    let nodes = [origin("o"), edge("a", 900), edge("b", 900)];
    let mut capped = group();
    capped.spec.roles.get_mut(&Role::Edge).unwrap().scale.max = 3;
    assert_eq!(
        actions(&run(&capped, &nodes, &Pressure::new(), &ScalerMemory::default())),
        [Action::Launch { role: Role::Edge, region: eu(), count: 1 }]
    );
}

#[test]
fn a_seat_buffer_keeps_free_seats_in_service_and_holds_back_scale_in() {
    let mut buffered = group();
    buffered.spec.roles.get_mut(&Role::Edge).unwrap().scale.buffer =
        Some(crate::group::SeatBuffer { seats: 1500, pct: 0 });
    // 1000 of 2000 seats in use (50 %, below every threshold): 1000 free,
    // 500 short: one node, two with the role's step.
    let nodes = [origin("o"), edge("a", 500), edge("b", 500)];
    let decisions = run(&buffered, &nodes, &Pressure::new(), &ScalerMemory::default());
    assert_eq!(actions(&decisions), [Action::Launch { role: Role::Edge, region: eu(), count: 2 }]);
    assert!(decisions[0].reason.contains("buffer"), "{}", decisions[0].reason);
    // Low load that would be scaled in keeps the nodes the buffer needs.
    let quiet: Vec<Node> =
        std::iter::once(origin("o")).chain(["a", "b", "c", "d"].map(|n| edge(n, 100))).collect();
    let drains = |group: &NodeGroup| {
        actions(&run(group, &quiet, &Pressure::new(), &ScalerMemory::default()))
            .into_iter()
            .filter(|a| matches!(a, Action::Drain { .. }))
            .count()
    };
    assert_eq!(drains(&group()), 2, "down to the minimum without a buffer");
    // 400 in use and 1500 free need 1900 seats: two nodes of the four stay.
    assert_eq!(drains(&buffered), 2);
    buffered.spec.roles.get_mut(&Role::Edge).unwrap().scale.buffer =
        Some(crate::group::SeatBuffer { seats: 2000, pct: 0 });
    assert_eq!(drains(&buffered), 1, "2400 seats: three stay");
    // As a share of the capacity.
    buffered.spec.roles.get_mut(&Role::Edge).unwrap().scale.buffer =
        Some(crate::group::SeatBuffer { seats: 0, pct: 90 });
    assert_eq!(drains(&buffered), 0, "400 in use needs 4000 seats for 90 % free");
}

fn interrupted(id: &str, subscribers: u32) -> Node {
    let mut n = edge(id, subscribers);
    n.state = NodeState::Draining;
    n.drain_cause = Some(DrainCause::Interruption);
    n.cordoned = true;
    n
}

#[test]
fn an_interrupted_node_s_viewers_get_room_at_once_cooldown_or_not() {
    // Two edges at 50 % and one the cloud is taking away with 900 viewers:
    // the 1,900 sessions want 3.2 nodes' room at 60 %, 2 serve.
    let nodes = [origin("o"), edge("a", 500), edge("b", 500), interrupted("c", 900)];
    let mut memory = ScalerMemory::default();
    memory.record_scale_out(Role::Edge, &eu(), NOW - Duration::from_secs(30));
    let decisions = run(&group(), &nodes, &Pressure::new(), &memory);
    assert_eq!(actions(&decisions), [Action::Launch { role: Role::Edge, region: eu(), count: 2 }]);
    assert!(decisions[0].reason.contains("interrupting"), "{}", decisions[0].reason);
    // Once the replacements warm up, nothing more is bought.
    let mut warming: Vec<Node> = nodes.to_vec();
    for id in ["p1", "p2"] {
        let mut p = node(id, NOW);
        p.state = NodeState::Pending;
        p.launched_at = Some(NOW - Duration::from_secs(10));
        p.last_heartbeat_at = None;
        warming.push(p);
    }
    assert_eq!(actions(&run(&group(), &warming, &Pressure::new(), &memory)), []);
}

#[test]
fn an_interrupted_node_whose_viewers_fit_elsewhere_buys_nothing_and_goes_once_empty() {
    let nodes = [origin("o"), edge("a", 100), edge("b", 100), interrupted("c", 50)];
    assert_eq!(actions(&run(&group(), &nodes, &Pressure::new(), &ScalerMemory::default())), []);
    // Never readmitted, even when the others fill up.
    let busy = [origin("o"), edge("a", 900), edge("b", 900), interrupted("c", 50)];
    let grown = actions(&run(&group(), &busy, &Pressure::new(), &ScalerMemory::default()));
    assert!(grown.iter().all(|a| matches!(a, Action::Launch { .. })), "{grown:?}");
    let empty = [origin("o"), edge("a", 100), edge("b", 100), interrupted("c", 0)];
    assert_eq!(
        actions(&run(&group(), &empty, &Pressure::new(), &ScalerMemory::default())),
        [Action::Terminate { node: id("c"), forced: false }]
    );
}

#[test]
fn warming_nodes_count_as_capacity_to_come() {
    let mut pending = node("p", NOW);
    pending.state = NodeState::Pending;
    pending.launched_at = Some(NOW - Duration::from_secs(30));
    pending.last_heartbeat_at = None;
    let nodes = [origin("o"), edge("a", 700), edge("b", 600), pending];
    assert_eq!(
        actions(&run(&group(), &nodes, &Pressure::new(), &ScalerMemory::default())),
        [],
        "1300 of 3000 = 43%"
    );
}

#[test]
fn nodes_asked_of_the_cloud_count_as_capacity_to_come_until_seen_or_overdue() {
    let busy = [origin("o"), edge("a", 700), edge("b", 600)];
    let window = Duration::from_secs(120 + 120); // warm-up + launch grace
    let launch = Action::Launch { role: Role::Edge, region: eu(), count: 2 };
    let asked = |ago: u64| {
        let mut memory = ScalerMemory::default();
        memory.record_launch(Role::Edge, &eu(), 2, NOW - Duration::from_secs(ago), window);
        memory
    };
    // An ASG that has not started them yet (or cannot): not asked again.
    let got = run(&group(), &busy, &Pressure::new(), &asked(60));
    assert_eq!(actions(&got), [], "1300 of 4000 with the two to come");

    // One came (listed pending): the other is still to come.
    let mut came = node("c", NOW);
    came.state = NodeState::Pending;
    came.launched_at = Some(NOW - Duration::from_secs(30));
    came.last_heartbeat_at = None;
    let fleet = [origin("o"), edge("a", 700), edge("b", 600), came];
    assert_eq!(actions(&run(&group(), &fleet, &Pressure::new(), &asked(60))), []);

    // Past warm-up and grace they never came: the failure is said, and a
    // cloud that owes nothing (the pool) is asked again, once.
    let failed = Action::LaunchFailed { role: Role::Edge, region: eu(), asked: 2, came: 0 };
    assert_eq!(actions(&run(&group(), &busy, &Pressure::new(), &asked(241))), [failed, launch]);
}

#[test]
fn what_the_cloud_still_owes_is_never_asked_for_again_and_its_failure_is_said_once() {
    let busy = [origin("o"), edge("a", 700), edge("b", 600)];
    let window = Duration::from_secs(120 + 120);
    let mut memory = ScalerMemory::default();
    memory.record_launch(Role::Edge, &eu(), 2, NOW - Duration::from_secs(600), window);
    // An ASG whose desired capacity is 2 above what it runs (it cannot
    // start them): the two count as to come, long after the window.
    let owed = Shortfall::from([((Role::Edge, eu()), 2)]);
    let none = HashSet::new();
    let got = run_owed(&group(), &busy, &Pressure::new(), &memory, &none, &owed);
    assert_eq!(actions(&got), [Action::LaunchFailed { role: Role::Edge, region: eu(), asked: 2, came: 0 }]);
    assert!(got[0].reason.contains("it still owes 2"), "{}", got[0].reason);

    // Said: the batch ends; the next ticks neither say it again nor raise
    // the desired capacity, while the cloud still owes the two.
    memory.forget_launch(Role::Edge, &eu());
    for pressure in [Pressure::new(), Pressure::from([((Role::Edge, eu()), 0)])] {
        assert_eq!(actions(&run_owed(&group(), &busy, &pressure, &memory, &none, &owed)), []);
    }
    // The cloud starts them (or is told otherwise): asked for again as the load needs.
    let got = run_owed(&group(), &busy, &Pressure::new(), &memory, &none, &Shortfall::new());
    assert_eq!(actions(&got), [Action::Launch { role: Role::Edge, region: eu(), count: 2 }]);
}

#[test]
fn own_drains_are_readmitted_before_launching() {
    let mut drained = edge("d", 50);
    drained.state = NodeState::Draining;
    drained.drain_cause = Some(DrainCause::ScaleIn);
    let nodes = [origin("o"), edge("a", 700), edge("b", 700), drained];
    let got = actions(&run(&group(), &nodes, &Pressure::new(), &ScalerMemory::default()));
    assert_eq!(
        got,
        [Action::Readmit { node: id("d") }, Action::Launch { role: Role::Edge, region: eu(), count: 1 }]
    );
}

#[test]
fn low_load_drains_the_emptiest_while_the_rest_stay_below_scale_out() {
    let nodes = [origin("o"), edge("a", 100), edge("b", 50), edge("c", 200), edge("d", 0)];
    let got = actions(&run(&group(), &nodes, &Pressure::new(), &ScalerMemory::default()));
    assert_eq!(
        got,
        [
            Action::Drain { node: id("d"), cause: DrainCause::ScaleIn },
            Action::Drain { node: id("b"), cause: DrainCause::ScaleIn }
        ]
    );
}

#[test]
fn scale_in_stops_at_the_minimum_and_respects_its_cooldown() {
    let nodes = [origin("o"), edge("a", 10), edge("b", 10)];
    assert_eq!(actions(&run(&group(), &nodes, &Pressure::new(), &ScalerMemory::default())), [], "min is 2");
    let nodes = [origin("o"), edge("a", 10), edge("b", 10), edge("c", 0)];
    let mut memory = ScalerMemory::default();
    memory.record_scale_in(Role::Edge, &eu(), NOW - Duration::from_secs(100));
    assert_eq!(actions(&run(&group(), &nodes, &Pressure::new(), &memory)), []);
}

#[test]
fn below_the_minimum_launches_at_once_even_in_cooldown() {
    let mut memory = ScalerMemory::default();
    memory.record_scale_out(Role::Edge, &eu(), NOW);
    let got = actions(&run(&group(), &[origin("o")], &Pressure::new(), &memory));
    assert_eq!(got, [Action::Launch { role: Role::Edge, region: eu(), count: 2 }]);
}

#[test]
fn a_drained_node_goes_when_empty_or_at_its_deadline_and_not_before() {
    let mut empty = edge("e", 0);
    empty.state = NodeState::Draining;
    let mut busy = edge("b", 5);
    busy.state = NodeState::Draining;
    busy.state_since = NOW - Duration::from_secs(3600);
    let mut overdue = edge("o2", 5);
    overdue.state = NodeState::Draining;
    overdue.state_since = NOW - Duration::from_secs(6 * 3600);
    let decisions = run(
        &group(),
        &[origin("o"), edge("a", 1), edge("c", 1), empty, busy, overdue],
        &Pressure::new(),
        &ScalerMemory::default(),
    );
    let terminated: Vec<_> = decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::Terminate { node, forced } => Some((node.as_str().to_owned(), *forced)),
            _ => None,
        })
        .collect();
    assert_eq!(terminated, [("e".to_owned(), false), ("o2".to_owned(), true)]);
    assert!(decisions.iter().any(|d| d.reason.starts_with("FORCED")));
}

#[test]
fn nodes_holding_a_lifecycle_action_are_left_to_the_hold() {
    use crate::hooks::{HookAction, HookKind, LifecycleHold};
    let hold = |kind| {
        let action = HookAction {
            hook: "sf-terminate".into(),
            asg: "sf-live-edge-eu-west-1".into(),
            token: "t".into(),
            instance: id("x"),
            region: eu(),
        };
        Some(LifecycleHold::new(kind, action, 300, NOW))
    };
    // Drained, overdue, silent, or never reported: the hold answers, not the plan.
    let mut empty = edge("e", 0);
    empty.state = NodeState::Draining;
    empty.drain_cause = Some(DrainCause::Lifecycle);
    empty.hold = hold(HookKind::Terminate);
    let mut overdue = Node { state_since: NOW - Duration::from_secs(6 * 3600), ..empty.clone() };
    overdue.node_id = id("o2");
    overdue.load.subscribers = 5;
    let mut launching = node("l", NOW - Duration::from_secs(3600));
    launching.state = NodeState::Pending;
    launching.last_heartbeat_at = None;
    launching.launched_at = Some(NOW - Duration::from_secs(3600));
    launching.hold = hold(HookKind::Launch);
    let decisions = run(
        &group(),
        &[origin("o"), edge("a", 300), empty, overdue, launching],
        &Pressure::new(),
        &ScalerMemory::default(),
    );
    assert!(
        decisions.iter().all(|d| !matches!(
            &d.action,
            Action::Terminate { .. } | Action::MarkFailed { .. } | Action::Readmit { .. }
        )),
        "{decisions:?}"
    );
}

#[test]
fn silent_nodes_die_and_launches_that_never_report_fail() {
    let silent = node("s", NOW - Duration::from_secs(61));
    let mut never = node("n", NOW);
    never.state = NodeState::Pending;
    never.last_heartbeat_at = None;
    never.launched_at = Some(NOW - Duration::from_secs(241));
    let got = actions(&run(
        &group(),
        &[origin("o"), edge("a", 1), edge("b", 1), silent, never],
        &Pressure::new(),
        &ScalerMemory::default(),
    ));
    assert!(got.contains(&Action::MarkDead { node: id("s") }));
    assert!(got.contains(&Action::Terminate { node: id("s"), forced: false }));
    assert!(got.contains(&Action::MarkFailed { node: id("n") }));
}

fn silent_edge(id: &str, subscribers: u32, silent_secs: u64) -> Node {
    let mut n = edge(id, subscribers);
    n.last_heartbeat_at = Some(NOW - Duration::from_secs(silent_secs));
    n
}

fn deaths(decisions: &[Decision]) -> Vec<NodeId> {
    decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::MarkDead { node } => Some(node.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_silent_node_with_viewers_is_replaced_but_kept_until_its_fault_deadline() {
    // The heartbeat path failed for 85 s; the node's 40 viewers still watch.
    let fleet = [origin("o"), edge("a", 1), edge("b", 1), silent_edge("s", 40, 85)];
    let got = run(&group(), &fleet, &Pressure::new(), &ScalerMemory::default());
    assert!(deaths(&got).is_empty(), "{got:?}");
    assert!(!got.iter().any(|d| matches!(d.action, Action::Terminate { .. })), "{got:?}");

    let fleet = [origin("o"), edge("a", 1), edge("b", 1), silent_edge("s", 40, 600)];
    let got = run(&group(), &fleet, &Pressure::new(), &ScalerMemory::default());
    assert_eq!(deaths(&got), [id("s")]);
    let terminate = got.iter().find(|d| matches!(d.action, Action::Terminate { .. })).unwrap();
    assert_eq!(terminate.action, Action::Terminate { node: id("s"), forced: true });
    assert!(
        terminate.reason.starts_with("FORCED: no heartbeat for 600s (fault deadline 600s)"),
        "{terminate:?}"
    );
}

#[test]
fn a_silent_node_whose_instance_the_cloud_finds_unhealthy_goes_at_once() {
    let fleet = [origin("o"), edge("a", 1), edge("b", 1), silent_edge("s", 40, 61)];
    let unhealthy = HashSet::from([id("s")]);
    let got = run_seen(&group(), &fleet, &Pressure::new(), &ScalerMemory::default(), &unhealthy);
    assert_eq!(deaths(&got), [id("s")]);
    assert!(got.contains(&Decision {
        action: Action::Terminate { node: id("s"), forced: true },
        role: Some(Role::Edge),
        region: Some(eu()),
        reason: "the cloud reports its instance unhealthy; no heartbeat for 61s".into(),
        numbers: None,
        by: Decider::Scaler,
    }));
}

#[test]
fn a_mass_silence_takes_no_node_for_dead_and_scales_nothing_until_the_fault_deadline() {
    // Three of four edges fall silent together, one of them empty: the
    // heartbeat path, not the nodes. Nothing dies, nothing launches.
    let fleet = [
        origin("o"),
        edge("a", 900),
        silent_edge("b", 40, 85),
        silent_edge("c", 0, 90),
        silent_edge("d", 7, 70),
    ];
    let got = run(&group(), &fleet, &Pressure::new(), &ScalerMemory::default());
    assert_eq!(actions(&got), [Action::MassSilence { silent: 3, of: 4 }], "{got:?}");
    assert_eq!(got[0].role, Some(Role::Edge));

    // The cloud's verdict still counts.
    let unhealthy = HashSet::from([id("c")]);
    let got = run_seen(&group(), &fleet, &Pressure::new(), &ScalerMemory::default(), &unhealthy);
    assert_eq!(deaths(&got), [id("c")]);

    // Past the fault deadline the silence is taken for real: one node in
    // ten (at least one) dies per tick, and the role is served again.
    let mut long: Vec<Node> = (0..20).map(|i| silent_edge(&format!("s{i:02}"), 10, 601)).collect();
    long.push(origin("o"));
    let got = run(&group(), &long, &Pressure::new(), &ScalerMemory::default());
    assert_eq!(deaths(&got).len(), 2, "{got:?}");
    assert!(got.iter().any(|d| matches!(d.action, Action::Launch { role: Role::Edge, .. })), "{got:?}");
}

#[test]
fn viewers_sent_after_an_empty_report_keep_a_silent_node_alive() {
    let mut seated = silent_edge("s", 0, 61);
    seated.seats_taken = 30;
    let fleet = [origin("o"), edge("a", 1), edge("b", 1), seated];
    let got = run(&group(), &fleet, &Pressure::new(), &ScalerMemory::default());
    assert!(deaths(&got).is_empty(), "{got:?}");
}

#[test]
fn a_lone_silent_node_is_not_a_mass_silence() {
    let got =
        run(&group(), &[origin("o"), silent_edge("s", 0, 61)], &Pressure::new(), &ScalerMemory::default());
    assert_eq!(deaths(&got), [id("s")]);
    assert!(!got.iter().any(|d| matches!(d.action, Action::MassSilence { .. })));
}

#[test]
fn scheduled_minimums_apply_inside_their_window() {
    let mut scheduled = group();
    scheduled.spec.roles.get_mut(&Role::Edge).unwrap().scale.schedules =
        vec![crate::group::ScheduledMinimum {
            days: vec![],
            from: "05:00".into(),
            to: "07:00".into(),
            min: 6,
            buffer: None,
        }];
    let got = actions(&run(
        &scheduled,
        &[origin("o"), edge("a", 1), edge("b", 1)],
        &Pressure::new(),
        &ScalerMemory::default(),
    ));
    assert_eq!(got, [Action::Launch { role: Role::Edge, region: eu(), count: 4 }]);
}

#[test]
fn a_group_being_deleted_drains_then_goes() {
    let mut deleting = group();
    deleting.status = GroupStatus::Deleting;
    let got = actions(&run(&deleting, &[edge("a", 3)], &Pressure::new(), &ScalerMemory::default()));
    assert_eq!(got, [Action::Drain { node: id("a"), cause: DrainCause::GroupDeletion }]);
    assert_eq!(
        actions(&run(&deleting, &[], &Pressure::new(), &ScalerMemory::default())),
        [Action::DeleteGroup]
    );
}

fn arb_node(i: usize) -> impl Strategy<Value = Node> {
    (
        0u32..1200,
        prop::sample::select(vec![
            NodeState::InService,
            NodeState::InService,
            NodeState::Pending,
            NodeState::Draining,
            NodeState::Dead,
        ]),
        prop::sample::select(vec![0u64, 5, 30, 59, 60, 61, 90, 599, 600, 601, 1200]),
        0u64..30_000,
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            DrainCause::ScaleIn,
            DrainCause::Operator,
            DrainCause::Interruption,
        ])),
    )
        .prop_map(move |(subscribers, state, silent, state_age, cordoned, cause)| {
            let mut n = edge(&format!("n{i}"), subscribers);
            n.state = state;
            n.last_heartbeat_at = Some(NOW - Duration::from_secs(silent));
            n.state_since = NOW - Duration::from_secs(state_age);
            n.cordoned = cordoned && subscribers % 5 == 0;
            n.drain_cause = cause;
            if state == NodeState::Pending {
                n.last_heartbeat_at = None;
                n.launched_at = Some(NOW - Duration::from_secs(silent * 3));
            }
            n
        })
}

fn arb_nodes() -> impl Strategy<Value = Vec<Node>> {
    (0usize..30).prop_flat_map(|len| (0..len).map(arb_node).collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn plans_keep_the_invariants(
        nodes in arb_nodes(),
        pressure in 0u32..3,
        min in 0u32..6,
        span in 0u32..10,
        out_cooling in any::<bool>(),
    ) {
        let mut g = group();
        let scale = &mut g.spec.roles.get_mut(&Role::Edge).unwrap().scale;
        scale.min = min;
        scale.max = (min + span).max(1);
        let (min, max) = (scale.min, scale.max);
        let pressure = Pressure::from([((Role::Edge, eu()), pressure)]);
        let mut memory = ScalerMemory::default();
        if out_cooling {
            memory.record_scale_out(Role::Edge, &eu(), NOW);
        }
        let decisions = run(&g, &nodes, &pressure, &memory);
        prop_assert_eq!(&decisions, &run(&g, &nodes, &pressure, &memory), "deterministic");

        let by_id: BTreeMap<_, _> = nodes.iter().map(|n| (n.node_id.clone(), n)).collect();
        let mut launched = 0;
        let (mut grew, mut shrank) = (false, false);
        // Every generated node is an edge; origins (none here) are launched
        // to their own minimum, which is another role's business.
        for d in decisions.iter().filter(|d| d.role == Some(Role::Edge)) {
            match &d.action {
                Action::Terminate { node, forced } => {
                    let n = by_id[node];
                    let deadline = Duration::from_secs(u64::from(g.spec.roles[&Role::Edge].scale.drain_deadline_secs));
                    let fault_deadline = Duration::from_secs(u64::from(g.spec.roles[&Role::Edge].scale.fault_deadline_secs));
                    let silent_past_deadline = n.last_heartbeat_at.is_none_or(|at| NOW - at >= fault_deadline);
                    let overdue = n.state == NodeState::Draining && NOW - n.state_since >= deadline;
                    let serving = matches!(n.state, NodeState::Draining | NodeState::InService);
                    // Silence alone never cuts a session before the fault deadline.
                    prop_assert!(n.load.sessions() == 0 || !serving || ((overdue || silent_past_deadline) && *forced),
                        "terminated {} with {} sessions before its deadline", node, n.load.sessions());
                }
                Action::Launch { count, .. } => { launched += count; grew = true; }
                Action::Readmit { .. } => { launched += 1; grew = true; }
                Action::Drain { cause: DrainCause::ScaleIn, .. } => shrank = true,
                _ => {}
            }
        }
        prop_assert!(!(grew && shrank), "out and in in one tick");
        let n = decisions.iter().filter(|d| d.role == Some(Role::Edge)).find_map(|d| d.numbers.clone());
        if let Some(numbers) = n {
            let active = numbers.serving + numbers.warming;
            let drained = decisions.iter().filter(|d| matches!(d.action, Action::Drain { cause: DrainCause::ScaleIn, .. })).count() as u32;
            let after = active + launched - drained;
            if grew { prop_assert!(after <= max, "launched above max"); }
            if shrank && active <= max { prop_assert!(after >= min, "drained below min"); }
        }
    }
}

#[test]
fn a_dead_node_of_a_group_being_deleted_is_removed_not_drained() {
    let mut deleting = group();
    deleting.status = GroupStatus::Deleting;
    let silent = node("s", NOW - Duration::from_secs(120));
    let got = actions(&run(&deleting, &[silent], &Pressure::new(), &ScalerMemory::default()));
    assert_eq!(got, [Action::MarkDead { node: id("s") }, Action::Terminate { node: id("s"), forced: false }]);
}

#[test]
fn a_drain_past_its_deadline_is_not_readmitted_while_being_forced_out() {
    let mut overdue = edge("d", 50);
    overdue.state = NodeState::Draining;
    overdue.drain_cause = Some(DrainCause::ScaleIn);
    overdue.state_since = NOW - Duration::from_secs(7 * 3600);
    let got = actions(&run(
        &group(),
        &[origin("o"), edge("a", 700), edge("b", 700), overdue],
        &Pressure::new(),
        &ScalerMemory::default(),
    ));
    assert!(got.contains(&Action::Terminate { node: id("d"), forced: true }), "{got:?}");
    assert!(!got.contains(&Action::Readmit { node: id("d") }), "{got:?}");
    assert!(got.contains(&Action::Launch { role: Role::Edge, region: eu(), count: 2 }), "{got:?}");
}

fn seen_a_minute_ago(seated: u64, demand: u64) -> ScalerMemory {
    let mut memory = ScalerMemory::default();
    memory.record_load(
        Role::Edge,
        &eu(),
        crate::scaling::LoadSeen { seated, demand },
        NOW - Duration::from_secs(60),
        PlanSettings::default().growth_window,
    );
    memory
}

#[test]
fn an_idle_group_at_zero_stays_at_zero() {
    let mut g = group();
    for role in g.spec.roles.values_mut() {
        role.scale.min = 0;
    }
    assert!(run(&g, &[], &Pressure::new(), &seen_a_minute_ago(0, 0)).is_empty());
}

#[test]
fn growth_is_measured_over_a_whole_window_even_with_frequent_ticks() {
    // Ticks 5 s apart: the base stays where it was a minute ago.
    let mut memory = seen_a_minute_ago(200, 200);
    for seconds_ago in [55, 50, 45, 40, 35, 30, 25, 20, 15, 10, 5] {
        let seen = crate::scaling::LoadSeen { seated: 1100, demand: 1100 };
        memory.record_load(
            Role::Edge,
            &eu(),
            seen,
            NOW - Duration::from_secs(seconds_ago),
            Duration::from_secs(60),
        );
    }
    let nodes = [origin("o"), edge("a", 550), edge("b", 550)];
    let decisions = run(&group(), &nodes, &Pressure::new(), &memory);
    assert_eq!(
        actions(&decisions),
        [Action::Launch { role: Role::Edge, region: eu(), count: 3 }],
        "{decisions:?}"
    );
}

#[test]
fn refused_viewers_size_the_launch_not_just_the_step() {
    // Edges at 90 %, and 12 000 refusals in a minute of 5 s retries: ~1000
    // viewers waited, and demand grew by 1000 in that minute: 2000 more by
    // the end of a warm-up.
    let nodes = [origin("o"), edge("a", 900), edge("b", 900)];
    let pressure = Pressure::from([((Role::Edge, eu()), 12_000)]);
    let decisions = run(&group(), &nodes, &pressure, &seen_a_minute_ago(1800, 1800));
    // (1800 + 1000 + 2000) / 60 % = 8000 seats; 2000 there: 6 nodes of 1000.
    assert_eq!(actions(&decisions), [Action::Launch { role: Role::Edge, region: eu(), count: 6 }]);
    assert!(decisions[0].reason.contains("1000 waiting"), "{}", decisions[0].reason);
}

#[test]
fn refusals_the_room_in_use_does_not_confirm_buy_only_the_step() {
    // The same flood of refusals at 10 % load: anyone can ask for seats
    // and be refused, so it is worth a step, not the whole maximum.
    let nodes = [origin("o"), edge("a", 100), edge("b", 100)];
    let pressure = Pressure::from([((Role::Edge, eu()), 12_000)]);
    let decisions = run(&group(), &nodes, &pressure, &seen_a_minute_ago(200, 200));
    assert_eq!(actions(&decisions), [Action::Launch { role: Role::Edge, region: eu(), count: 2 }]);
    assert!(decisions[0].reason.contains("does not confirm"), "{}", decisions[0].reason);
    // Seats handed out since the reports confirm them: sized by the demand.
    let mut seated = nodes.clone();
    for node in &mut seated[1..] {
        node.seats_taken = 800;
    }
    let decisions = run(&group(), &seated, &pressure, &seen_a_minute_ago(200, 200));
    assert!(matches!(actions(&decisions)[..], [Action::Launch { count, .. }] if count > 2), "{decisions:?}");
}

#[test]
fn growing_demand_scales_out_before_the_threshold() {
    // 55 % now, but 900 more sessions in the last minute: 1800 more within the warm-up.
    let nodes = [origin("o"), edge("a", 550), edge("b", 550)];
    let decisions = run(&group(), &nodes, &Pressure::new(), &seen_a_minute_ago(200, 200));
    assert_eq!(actions(&decisions), [Action::Launch { role: Role::Edge, region: eu(), count: 3 }]);
    assert!(decisions[0].reason.contains("growing"), "{}", decisions[0].reason);
    // The same load, steady: nothing to do.
    assert!(run(&group(), &nodes, &Pressure::new(), &seen_a_minute_ago(1100, 1100)).is_empty());
}

#[test]
fn a_large_drop_is_one_scale_in_of_several_nodes() {
    // 600 sessions on 6000: drain down to the minimum of 2 (the rest at 30 %,
    // below the middle of the 30–60 % band), all in one tick.
    let nodes: Vec<Node> =
        std::iter::once(origin("o")).chain(["a", "b", "c", "d", "e", "f"].map(|n| edge(n, 100))).collect();
    let drains = actions(&run(&group(), &nodes, &Pressure::new(), &ScalerMemory::default()))
        .into_iter()
        .filter(|a| matches!(a, Action::Drain { .. }))
        .count();
    assert_eq!(drains, 4);
}
