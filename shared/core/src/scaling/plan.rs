//! The scaler's decision core: a pure function of the group, its nodes, the
//! scale-out pressure from lookups, what the scaler remembers, and `now`.
//!
//! Per role and region:
//! - load = sessions on serving nodes (reported, and seats handed out
//!   since) / capacity of serving nodes and of launched nodes still inside
//!   their warm-up (capacity to come);
//! - below the (scheduled) minimum: readmit, then launch, at once;
//! - above the maximum: drain the emptiest down to it;
//! - load ≥ scale-out threshold, lookups refused for want of room, fewer
//!   free seats than the (scheduled) buffer, or demand growing towards the
//!   threshold: readmit nodes the scaler itself was draining, then launch
//!   what the expected demand needs beyond the capacity to come (at least
//!   `step` outside the scale-out cooldown; within it only demand the room
//!   in use confirms), never above `max`;
//! - load < scale-in threshold, outside its cooldown, nothing warming: drain
//!   the emptiest node(s) while the rest stay in the middle of the band and
//!   keep the buffer, never below the minimum.
//!
//! Out and in never happen for one role and region in the same tick.
//! Draining nodes go when they report no session, or at their deadline
//! (forced). Launches that never reported are failed and removed. Silent
//! nodes get no new sessions and are not counted as serving (so their
//! capacity is replaced), but silence alone is not death: see `silence`.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use time::OffsetDateTime;

use super::decision::{Action, Decider, Decision, Numbers};
use super::memory::{LoadSeen, ScalerMemory};
use super::silence::{Death, Silence};
use crate::group::{GroupStatus, NodeGroup, Role, ScalePolicy, SeatBuffer};
use crate::names::{NodeId, Region};
use crate::node::{DrainCause, Node, NodeState};

/// Lookups refused for want of room, per role and region, since the last tick.
pub type Pressure = BTreeMap<(Role, Region), u32>;

/// Per role and region, nodes the cloud was asked for and does not run yet
/// (see `Synced::shortfall`).
pub type Shortfall = BTreeMap<(Role, Region), u32>;

#[derive(Debug, Clone, Copy)]
pub struct PlanSettings {
    /// Silence after which a node gets no new sessions (not counted as serving).
    pub stale_after: Duration,
    /// Silence after which an in-service node may be dead (`silence`).
    pub dead_after: Duration,
    /// When at least this share of a role's nodes in a region (and two or
    /// more) are silent that long at once, none is taken for dead.
    pub mass_silence_pct: u8,
    /// Time beyond its warm-up a launched node has to send a first heartbeat.
    pub launch_grace: Duration,
    /// How long a refused lookup waits before it retries (the 503's
    /// Retry-After): pressure × this / the time since the last tick
    /// estimates the viewers waiting for room.
    pub retry_after: Duration,
    /// The shortest time over which demand's growth is measured: ticks
    /// asked for seconds apart (the on-demand tick) must not turn a few
    /// joins into a steep trend.
    pub growth_window: Duration,
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self {
            stale_after: Duration::from_secs(15),
            dead_after: Duration::from_secs(60),
            mass_silence_pct: 50,
            launch_grace: Duration::from_secs(120),
            retry_after: Duration::from_secs(5),
            growth_window: Duration::from_secs(60),
        }
    }
}

pub struct PlanInput<'a> {
    pub group: &'a NodeGroup,
    pub nodes: &'a [Node],
    pub pressure: &'a Pressure,
    /// Launches operators asked for since the last tick.
    pub asked: &'a Pressure,
    pub memory: &'a ScalerMemory,
    /// Nodes whose instance the cloud's health checks failed.
    pub unhealthy: &'a HashSet<NodeId>,
    /// What the cloud was asked for and does not run yet.
    pub shortfall: &'a Shortfall,
    pub now: OffsetDateTime,
    pub settings: PlanSettings,
}

pub fn plan(input: &PlanInput<'_>) -> Vec<Decision> {
    let mut decisions = Vec::new();
    let mut silence = Silence::new(
        input.group,
        input.nodes,
        input.unhealthy,
        input.now,
        input.settings.dead_after,
        input.settings.mass_silence_pct,
    );
    health(input, &mut silence, &mut decisions);
    // Nodes just found dead or failed take no part in what follows.
    let marked: HashSet<&NodeId> = decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::MarkDead { node } | Action::MarkFailed { node } => Some(node),
            _ => None,
        })
        .collect();
    let mut plans = Vec::new();
    if input.group.status == GroupStatus::Deleting {
        wind_down(input, &marked, &mut plans);
    } else {
        // One pass sorts the nodes by role and region; each is then planned
        // on its own nodes only.
        let mut slots: BTreeMap<(Role, &Region), Vec<&Node>> = BTreeMap::new();
        for node in input.nodes.iter().filter(|n| !marked.contains(&n.node_id)) {
            slots.entry((node.role, &node.region)).or_default().push(node);
        }
        for (role, spec) in &input.group.spec.roles {
            for region in input.group.spec.regions.iter().map(|r| &r.region) {
                // What its nodes report is not known: nothing to scale on.
                if silence.is_mass(*role, region) {
                    continue;
                }
                let here = slots.get(&(*role, region)).map(Vec::as_slice).unwrap_or_default();
                scale(input, *role, region, here, &spec.scale, spec.launch.connection_capacity, &mut plans);
            }
        }
    }
    decisions.extend(plans);
    decisions
}

fn decision(action: Action, node: &Node, reason: String) -> Decision {
    Decision {
        action,
        role: Some(node.role),
        region: Some(node.region.clone()),
        reason,
        numbers: None,
        by: Decider::Scaler,
    }
}

fn since(now: OffsetDateTime, at: OffsetDateTime) -> Duration {
    (now - at).try_into().unwrap_or(Duration::ZERO)
}

fn deadline_of(input: &PlanInput<'_>, node: &Node) -> Duration {
    let secs = input
        .group
        .spec
        .roles
        .get(&node.role)
        .map_or(ScalePolicy::default().drain_deadline_secs, |r| r.scale.drain_deadline_secs);
    Duration::from_secs(u64::from(secs))
}

/// Deaths, failed launches, and draining nodes that may go.
fn health(input: &PlanInput<'_>, silence: &mut Silence<'_>, out: &mut Vec<Decision>) {
    let now = input.now;
    // A node holding a lifecycle action is the cloud's to remove, or to put
    // in service: the hold settles it.
    for node in input.nodes.iter().filter(|n| n.hold.is_none()) {
        let silent_for = node.last_heartbeat_at.map(|at| since(now, at));
        let gone_silent = silent_for.is_none_or(|s| s >= input.settings.dead_after);
        match node.state {
            NodeState::InService if gone_silent => {
                if let Some(Death { reason, forced }) = silence.verdict(node, silent_for) {
                    out.push(decision(Action::MarkDead { node: node.node_id.clone() }, node, reason.clone()));
                    out.push(decision(
                        Action::Terminate { node: node.node_id.clone(), forced },
                        node,
                        reason,
                    ));
                }
            }
            NodeState::Pending => {
                let warmup = warmup_of(input, node.role);
                let launched = node.launched_at.unwrap_or(node.state_since);
                if since(now, launched) >= warmup + input.settings.launch_grace {
                    let reason = format!(
                        "no first heartbeat {}s after launch (warm-up {}s + grace {}s)",
                        since(now, launched).as_secs(),
                        warmup.as_secs(),
                        input.settings.launch_grace.as_secs()
                    );
                    out.push(decision(
                        Action::MarkFailed { node: node.node_id.clone() },
                        node,
                        reason.clone(),
                    ));
                    out.push(decision(
                        Action::Terminate { node: node.node_id.clone(), forced: false },
                        node,
                        reason,
                    ));
                }
            }
            NodeState::Draining => {
                let sessions = node.load.sessions();
                let draining_for = since(now, node.state_since);
                let deadline = deadline_of(input, node);
                let ending = if sessions == 0 {
                    Some((false, "drained: no session left".to_owned()))
                } else if let Some(Death { reason, forced }) =
                    gone_silent.then(|| silence.verdict(node, silent_for)).flatten()
                {
                    Some((forced, reason))
                } else if draining_for >= deadline {
                    let reason = format!(
                        "FORCED: drain deadline of {}s passed with {sessions} session(s) left",
                        deadline.as_secs()
                    );
                    Some((true, reason))
                } else {
                    None
                };
                if let Some((forced, reason)) = ending {
                    let mut end =
                        decision(Action::Terminate { node: node.node_id.clone(), forced }, node, reason);
                    // An operator's drain ends as the operator asked, paused
                    // scaling or not.
                    if node.drain_cause == Some(DrainCause::Operator) {
                        end.by = Decider::Operator;
                    }
                    out.push(end);
                }
            }
            NodeState::Dead | NodeState::Failed | NodeState::Terminating => {
                out.push(decision(
                    Action::Terminate { node: node.node_id.clone(), forced: false },
                    node,
                    format!("{} node still listed", node.state.as_str()),
                ));
            }
            // In the warm pool: the cloud's until a scale-out takes it.
            NodeState::InService | NodeState::Pooling => {}
        }
    }
    out.extend(silence.guarded());
}

fn warmup_of(input: &PlanInput<'_>, role: Role) -> Duration {
    let secs =
        input.group.spec.roles.get(&role).map_or(ScalePolicy::default().warmup_secs, |r| r.scale.warmup_secs);
    Duration::from_secs(u64::from(secs))
}

/// A group being deleted: drain everything, delete it once empty.
fn wind_down(input: &PlanInput<'_>, marked: &HashSet<&NodeId>, out: &mut Vec<Decision>) {
    if input.nodes.is_empty() {
        out.push(Decision {
            action: Action::DeleteGroup,
            role: None,
            region: None,
            reason: "group deleted with drain, and now empty".into(),
            numbers: None,
            by: Decider::Scaler,
        });
        return;
    }
    for node in input.nodes.iter().filter(|n| n.hold.is_none()) {
        match node.state {
            NodeState::InService if !marked.contains(&node.node_id) => {
                out.push(decision(
                    Action::Drain { node: node.node_id.clone(), cause: DrainCause::GroupDeletion },
                    node,
                    "group is being deleted".into(),
                ));
            }
            NodeState::Pending if !marked.contains(&node.node_id) => {
                out.push(decision(
                    Action::Terminate { node: node.node_id.clone(), forced: false },
                    node,
                    "group is being deleted; the node never served".into(),
                ));
            }
            _ => {}
        }
    }
}

/// One role in one region, on its nodes (`here`, none of them just marked).
fn scale(
    input: &PlanInput<'_>,
    role: Role,
    region: &Region,
    here: &[&Node],
    policy: &ScalePolicy,
    role_capacity: u32,
    out: &mut Vec<Decision>,
) {
    let now = input.now;
    let capacity_of = |n: &Node| u64::from(n.load.capacity_within(role_capacity));
    let heard_since = now - input.settings.stale_after;
    let warmup = Duration::from_secs(u64::from(policy.warmup_secs));

    let mut serving: Vec<&Node> = here.iter().copied().filter(|n| is_serving(n, heard_since)).collect();
    let warming: Vec<&Node> = here
        .iter()
        .copied()
        .filter(|n| {
            n.state == NodeState::Pending
                && since(now, n.launched_at.unwrap_or(n.state_since)) < warmup + input.settings.launch_grace
        })
        .collect();
    let mut readmittable: Vec<&Node> = here
        .iter()
        .copied()
        .filter(|n| {
            n.state == NodeState::Draining
                && since(now, n.state_since) < Duration::from_secs(u64::from(policy.drain_deadline_secs))
                && n.drain_cause == Some(DrainCause::ScaleIn)
                && n.load.sessions() > 0
                && n.last_heartbeat_at.is_some_and(|at| at >= heard_since)
        })
        .collect();
    let draining = here.iter().filter(|n| n.state == NodeState::Draining).count() as u32;
    // Asked of the cloud, not listed yet (an ASG starts its instances late,
    // or cannot start them): capacity to come, not asked for again. The
    // cloud's own count of what it owes is the truth where it has one (an
    // ASG short of its desired capacity keeps trying on its own: raising
    // it again would only launch a burst once the cause is gone).
    let launch_window = warmup + input.settings.launch_grace;
    let came_since = |since: OffsetDateTime| {
        here.iter().filter(|n| n.launched_at.is_some_and(|at| at >= since)).count() as u32
    };
    let remembered = input
        .memory
        .launches_since(role, region, now, launch_window)
        .map_or(0, |(since, asked)| asked.saturating_sub(came_since(since)));
    let owed = input.shortfall.get(&(role, region.clone())).copied().unwrap_or(0);
    let in_flight = remembered.max(owed);
    if let Some((asked_at, asked)) = input.memory.lapsed_launch(role, region, now, launch_window) {
        let came = came_since(asked_at).min(asked);
        if came < asked {
            out.push(Decision {
                action: Action::LaunchFailed { role, region: region.clone(), asked, came },
                role: Some(role),
                region: Some(region.clone()),
                reason: format!(
                    "{asked} node(s) asked of the cloud {} s ago, {came} came within warm-up + grace ({} s): \
                     it cannot start them now (capacity, a quota, an image or launch template it cannot \
                     use; see its activity){}",
                    since(now, asked_at).as_secs(),
                    launch_window.as_secs(),
                    if owed > 0 {
                        format!("; it still owes {owed}, counted as to come and not asked for again")
                    } else {
                        String::new()
                    }
                ),
                numbers: None,
                by: Decider::Scaler,
            });
        }
    }

    // Sessions on nodes the cloud warned of (Spot, rebalance) must find room
    // elsewhere soon: they count as load here, and the room for them is
    // bought at once, whatever the cooldown.
    let moving: u64 = here
        .iter()
        .filter(|n| n.state == NodeState::Draining && n.drain_cause == Some(DrainCause::Interruption))
        .map(|n| u64::from(n.load.sessions()))
        .sum();
    // What the serving nodes reported, and the seats lookups handed out
    // since: a crowd is seen as it is seated, not a report later.
    let seated: u64 = serving.iter().map(|n| u64::from(n.held_or_coming())).sum();
    let sessions = seated + moving;
    let capacity: u64 = serving.iter().chain(warming.iter()).map(|n| capacity_of(n)).sum::<u64>()
        + u64::from(in_flight) * u64::from(role_capacity);
    let pressure = input.pressure.get(&(role, region.clone())).copied().unwrap_or(0);
    let load_pct = match capacity {
        0 if sessions > 0 || pressure > 0 => 100,
        0 => 0,
        _ => (sessions * 100 / capacity) as u32,
    };
    let count = (serving.len() + warming.len()) as u32 + in_flight;
    let min = policy.min_at(now);
    let max = policy.max;
    let numbers = Numbers {
        serving: serving.len() as u32,
        warming: warming.len() as u32 + in_flight,
        draining,
        sessions,
        capacity,
        load_pct,
        pressure,
        min,
        max,
    };
    // An operator's ask is this tick's decision for the slot: the next tick
    // plans with its nodes counted as coming.
    if let Some(asked) = input.asked.get(&(role, region.clone())).copied().filter(|n| *n > 0) {
        out.push(super::operator::operator_launch(role, region, asked, count, &numbers));
        return;
    }
    let out_pct = u64::from(policy.scale_out_threshold_pct.max(1));
    let mut demand = expected_demand(input, role, region, seated, pressure, warmup);
    // The room in use: reported sessions, and seats handed out since.
    let held = sessions;
    let buffer = policy.buffer_at(now);
    let buffer_short = nodes_for_buffer(buffer, held, capacity, role_capacity);
    demand.projected += moving;
    let say = |action: Action, reason: String| Decision {
        action,
        role: Some(role),
        region: Some(region.clone()),
        reason,
        numbers: Some(numbers.clone()),
        by: Decider::Scaler,
    };
    let cooling = |last: Option<OffsetDateTime>, secs: u32| {
        last.is_some_and(|at| since(now, at) < Duration::from_secs(u64::from(secs)))
    };

    // Grow: readmit the warmest of our own drains first, then launch.
    let mut grow = |wanted: u32, reason: String, out: &mut Vec<Decision>| {
        readmittable.sort_by_key(|n| std::cmp::Reverse(n.load.sessions()));
        let readmit = (wanted as usize).min(readmittable.len());
        for node in &readmittable[..readmit] {
            out.push(say(
                Action::Readmit { node: node.node_id.clone() },
                format!("{reason}; readmitting a node being drained"),
            ));
        }
        let launch = wanted - readmit as u32;
        if launch > 0 {
            out.push(say(Action::Launch { role, region: region.clone(), count: launch }, reason));
        }
    };

    if count < min {
        let wanted = (min - count).min(max.saturating_sub(count));
        if wanted > 0 {
            grow(wanted, format!("{count} node(s) below the minimum of {min}"), out);
        }
    } else if count > max {
        serving.sort_by(|a, b| emptiest_first(a, b));
        for node in serving.iter().filter(|n| drainable(input, n)).take((count - max) as usize) {
            out.push(say(
                Action::Drain { node: node.node_id.clone(), cause: DrainCause::ScaleIn },
                format!("{count} node(s) above the maximum of {max}"),
            ));
        }
    } else if (load_pct >= out_pct as u32
        || pressure > 0
        || buffer_short > 0
        || (demand.projected > 0 && demand.projected * 100 >= capacity * out_pct))
        && count < max
    {
        let why = if moving > 0 {
            format!(
                "{moving} session(s) on node(s) the cloud is interrupting need room elsewhere; load {load_pct}% \
                 with them"
            )
        } else if pressure > 0 {
            format!("{pressure} lookup(s) refused for want of room; load {load_pct}%")
        } else if load_pct >= out_pct as u32 {
            format!("load {load_pct}% ≥ scale-out threshold {out_pct}%")
        } else if buffer_short > 0 {
            format!(
                "{} free seat(s), short of the buffer ({} seats, {}% of capacity)",
                capacity.saturating_sub(held),
                buffer.seats,
                buffer.pct
            )
        } else {
            format!(
                "load {load_pct}% growing: {} session(s) expected within the warm-up ≥ {out_pct}% of capacity",
                demand.projected
            )
        };
        // Enough nodes for the expected demand below the threshold, counting
        // the capacity still to come.
        let needed = (demand.projected * 100)
            .div_ceil(out_pct)
            .saturating_sub(capacity)
            .div_ceil(u64::from(role_capacity.max(1)));
        let needed = needed.max(u64::from(buffer_short)).min(u64::from(max - count)) as u32;
        // Refused lookups are anyone's to make: alone they buy `step` nodes.
        // Once the serving nodes' room in use (reported, or seats handed out
        // since) says the same, the launch is as big as the demand needs.
        // Capacity on its way does not make a full fleet's refusals less real.
        let serving_capacity: u64 = serving.iter().map(|n| capacity_of(n)).sum();
        let confirmed = serving_capacity > 0 && held * 100 >= serving_capacity * out_pct;
        // A buffer short of free seats is the room in use speaking.
        let unconfirmed = pressure > 0 && !confirmed && buffer_short == 0;
        // The cooldown keeps a steady trickle of refusals from buying `step`
        // after `step`; demand the capacity to come does not cover, seen in
        // the room in use, is bought whenever a tick sees it (ticks come
        // seconds apart in a flash crowd).
        let cooling_out =
            moving == 0 && cooling(input.memory.scaled_out(role, region), policy.scale_out_cooldown_secs);
        let wanted = match (cooling_out, unconfirmed) {
            (false, true) => policy.step.min(max - count),
            (false, false) => needed.max(policy.step).min(max - count),
            (true, true) => 0,
            (true, false) => needed,
        };
        if wanted > 0 {
            let why = format!(
                "{why}; {} waiting (est.), {:+} growth expected: {wanted} node(s){}{}",
                demand.waiting,
                demand.growth,
                if unconfirmed && needed > wanted {
                    " (the step: the room in use does not confirm the refusals yet)"
                } else {
                    ""
                },
                if cooling_out { " (within the scale-out cooldown: only what the demand needs)" } else { "" }
            );
            grow(wanted, why, out);
        }
    } else if load_pct < u32::from(policy.scale_in_threshold_pct)
        && pressure == 0
        && demand.growth <= 0
        && warming.is_empty()
        && in_flight == 0
        && count > min
        && !cooling(input.memory.scaled_in(role, region), policy.scale_in_cooldown_secs)
    {
        // As many of the emptiest as leave the rest in the middle of the
        // band (at least `step` when that holds), so one drop in load is one
        // scale-in, not one node per cooldown.
        serving.sort_by(|a, b| emptiest_first(a, b));
        let band = (u64::from(policy.scale_in_threshold_pct) + out_pct) / 2;
        let mut remaining_capacity = capacity;
        let mut remaining_count = count;
        for node in serving.iter().filter(|n| drainable(input, n)) {
            let after = remaining_capacity - capacity_of(node);
            let stays_below = after > 0
                && sessions * 100 < after * band
                && nodes_for_buffer(buffer, held, after, role_capacity) == 0;
            if remaining_count <= min || !stays_below {
                break;
            }
            remaining_capacity = after;
            remaining_count -= 1;
            let reason = format!(
                "load {load_pct}% < scale-in threshold {}%; the rest stay at {}%",
                policy.scale_in_threshold_pct,
                sessions * 100 / after
            );
            out.push(say(Action::Drain { node: node.node_id.clone(), cause: DrainCause::ScaleIn }, reason));
        }
    }
}

/// Nodes of `role_capacity` to add so that `capacity` less the room in use
/// (`held`) keeps the buffer free.
fn nodes_for_buffer(buffer: SeatBuffer, held: u64, capacity: u64, role_capacity: u32) -> u32 {
    if buffer == SeatBuffer::default() {
        return 0;
    }
    let per_node = u64::from(role_capacity.max(1));
    let for_seats = (held + u64::from(buffer.seats)).saturating_sub(capacity);
    // (capacity + added) × (100 − pct) ≥ held × 100
    let pct = u64::from(buffer.pct.min(99));
    let for_pct = (held * 100).div_ceil(100 - pct).saturating_sub(capacity);
    (for_seats.max(for_pct).div_ceil(per_node)).min(u64::from(u32::MAX)) as u32
}

/// Whether scaling in may drain the node: not one the group lets run on
/// its own (`selfManagedNodes`), which the scaler can neither terminate nor
/// keep from enrolling again.
fn drainable(input: &PlanInput<'_>, node: &Node) -> bool {
    !input.group.spec.self_managed_nodes || node.is_cloud_owned()
}

/// In service, uncordoned and heard from: takes sessions, counts as capacity.
fn is_serving(n: &Node, heard_since: OffsetDateTime) -> bool {
    n.state == NodeState::InService
        && !n.cordoned
        && !n.load.degraded
        && n.last_heartbeat_at.is_some_and(|at| at >= heard_since)
}

/// What a launch decided now must be ready for.
struct Demand {
    /// Viewers refused and retrying, estimated from the pressure.
    waiting: u64,
    /// Sessions more (or fewer) expected by the time a launch serves.
    growth: i64,
    /// Seated + waiting + growth.
    projected: u64,
}

/// The demand now (seated sessions, or more when viewers wait), plus its
/// growth since the last tick carried over a warm-up: capacity ordered now
/// serves after it, and the next tick orders for what comes after.
fn expected_demand(
    input: &PlanInput<'_>,
    role: Role,
    region: &Region,
    seated: u64,
    pressure: u32,
    warmup: Duration,
) -> Demand {
    let seen = load_now(input, role, region, seated, pressure);
    let base = input.memory.growth_base(role, region).filter(|(at, _)| *at < input.now);
    // Only a recent observation says how fast demand moves.
    let growth = match base {
        Some((at, before)) if since(input.now, at) <= Duration::from_secs(600) => {
            let window = since(input.now, at).max(input.settings.growth_window);
            let per_sec = (seen.demand as f64 - before as f64) / window.as_secs_f64();
            (per_sec * warmup.as_secs_f64()) as i64
        }
        _ => 0,
    };
    let waiting = seen.demand - seated;
    Demand { waiting, growth, projected: seen.demand.saturating_add_signed(growth.max(0)) }
}

/// Seated sessions and demand now. Refused viewers retry every
/// `retry_after`, so `pressure × retry_after / elapsed` of them waited on
/// average since the last tick; those seated meanwhile (by capacity that
/// came in) count once: demand is at least the seated of the last tick
/// plus that average.
fn load_now(input: &PlanInput<'_>, role: Role, region: &Region, seated: u64, pressure: u32) -> LoadSeen {
    let (elapsed, before) = since_last_tick(input, role, region);
    let waited =
        (u128::from(pressure) * input.settings.retry_after.as_millis() / elapsed.as_millis().max(1)) as u64;
    let seated_before = before.map_or(seated, |b| b.seated.min(seated));
    LoadSeen { seated, demand: seated.max(seated_before + waited) }
}

/// Each role's load per region as this tick sees it: what the executor
/// records in the memory, so that the next tick sees how fast demand moves.
pub fn observed_load(input: &PlanInput<'_>) -> Vec<(Role, Region, LoadSeen)> {
    let heard_since = input.now - input.settings.stale_after;
    let mut loads: BTreeMap<(Role, &Region), u64> = BTreeMap::new();
    for role in input.group.spec.roles.keys() {
        for region in input.group.spec.regions.iter().map(|r| &r.region) {
            loads.insert((*role, region), 0);
        }
    }
    for node in input.nodes.iter().filter(|n| is_serving(n, heard_since)) {
        if let Some(total) = loads.get_mut(&(node.role, &node.region)) {
            *total += u64::from(node.held_or_coming());
        }
    }
    loads
        .into_iter()
        .map(|((role, region), seated)| {
            let pressure = input.pressure.get(&(role, region.clone())).copied().unwrap_or(0);
            (role, region.clone(), load_now(input, role, region, seated, pressure))
        })
        .collect()
}

/// Time since the last tick (60 s when unknown), and what it saw.
fn since_last_tick(input: &PlanInput<'_>, role: Role, region: &Region) -> (Duration, Option<LoadSeen>) {
    match input.memory.load_seen(role, region).filter(|(at, _)| *at < input.now) {
        Some((at, seen)) => (since(input.now, at).max(Duration::from_secs(1)), Some(seen)),
        None => (Duration::from_secs(60), None),
    }
}

/// The emptiest node first; ties by id, so that plans are deterministic.
fn emptiest_first(a: &Node, b: &Node) -> std::cmp::Ordering {
    (a.load.sessions(), &a.node_id).cmp(&(b.load.sessions(), &b.node_id))
}
