//! streamfleet's own policy, not a copy of it: the scaler's pure `plan` on
//! every tick and the lookups' `place` for every viewer, over nodes built
//! from the simulated instances exactly as heartbeats would report them.
//! What the scaler's executor does with a decision is done here too
//! (cooldown memory, drains, terminations of drained nodes only).

use std::collections::BTreeMap;
use std::time::Duration;

use streamfleet_core::group::{example_spec, NodeGroup, Role, RoleSpec, ScalePolicy};
use streamfleet_core::names::{NodeId, Region};
use streamfleet_core::node::{DrainCause, Node, NodeLoad, NodeState};
use streamfleet_core::placement::{place, PlacementStrategy, Want};
use streamfleet_core::scaling::{
    observed_load, plan, Action, PlanInput, PlanSettings, Pressure, ScalerMemory,
};
use time::OffsetDateTime;

use crate::engine::{Cadence, Command, InstState, Policy, SimConfig, View};
use crate::pool::WarmPoolSpec;
use crate::Tuning;

/// Lookups call the scaler at most this often per group.
const CALL_WINDOW_SECS: u64 = streamfleet_core::service::TICK_CALL_WINDOW.as_secs();

const EPOCH: OffsetDateTime = time::macros::datetime!(2026-11-21 18:00 UTC);

pub struct StreamfleetPolicy {
    name: &'static str,
    group: NodeGroup,
    region: Region,
    memory: ScalerMemory,
    refused: u32,
    settings: PlanSettings,
    ceiling_pct: u8,
    tick_secs: u64,
    on_pressure: bool,
    warm_pool: Option<WarmPoolSpec>,
    /// A lookup asked for a tick since the last one.
    asked: bool,
    /// The seats in use were at or above the scale-out threshold at the
    /// last look (a crossing asks once).
    above: bool,
    last_tick: u64,
    /// The serving nodes as lookups see them, rebuilt when the fleet changes.
    nodes: Vec<Node>,
    ids: Vec<u32>,
    built_for: Option<u64>,
}

fn at(t: u64) -> OffsetDateTime {
    EPOCH + Duration::from_secs(t)
}

impl StreamfleetPolicy {
    /// The edge role with the tuning's scale policy (its min, max and
    /// warm-up from `config`), lookups packing edges up to its ceiling.
    pub fn new(name: &'static str, config: &SimConfig, tuning: &Tuning) -> Self {
        let scale = tuning.scale.clone();
        let mut spec = example_spec("sim");
        spec.regions.truncate(1);
        let region = spec.regions[0].region.clone();
        let mut edge: RoleSpec = spec.roles[&Role::Edge].clone();
        edge.launch.connection_capacity = config.capacity;
        edge.scale = ScalePolicy {
            min: config.min_nodes,
            max: config.max_nodes,
            // A cold launch's, unless the tuning counts on a warm pool's.
            warmup_secs: if tuning.warm_pool.is_some() {
                scale.warmup_secs
            } else {
                config.warmup_secs as u32
            },
            ..scale
        };
        spec.roles = BTreeMap::from([(Role::Edge, edge)]);
        let group = NodeGroup::new(spec, EPOCH);
        Self {
            name,
            group,
            region,
            memory: ScalerMemory::default(),
            refused: 0,
            settings: PlanSettings::default(),
            ceiling_pct: tuning.ceiling_pct,
            tick_secs: tuning.tick_secs,
            on_pressure: tuning.on_pressure,
            warm_pool: tuning.warm_pool,
            asked: false,
            above: false,
            last_tick: 0,
            nodes: Vec::new(),
            ids: Vec::new(),
            built_for: None,
        }
    }

    fn node(&self, id: u32, state: NodeState, since: u64, sessions: u32, now: u64) -> Node {
        let mut node = streamfleet_core::node::Node {
            group: self.group.spec.name.clone(),
            node_id: NodeId::parse(format!("i-{id:08}")).expect("a valid id"),
            role: Role::Edge,
            region: self.region.clone(),
            zone: None,
            state,
            cordoned: false,
            drain_cause: (state == NodeState::Draining).then_some(DrainCause::ScaleIn),
            hold: None,
            host: None,
            endpoints: BTreeMap::new(),
            streams: Vec::new(),
            load: NodeLoad { subscribers: sessions, ..NodeLoad::default() },
            seats_taken: 0,
            seats_carried: 0,
            state_since: at(since),
            launched_at: Some(at(since)),
            last_heartbeat_at: Some(at(now)),
            last_sent_at: Some(at(now)),
        };
        if state == NodeState::Pending {
            node.last_heartbeat_at = None;
            node.last_sent_at = None;
        }
        node
    }

    fn id_of(node: &NodeId) -> Option<u32> {
        node.as_str().strip_prefix("i-").and_then(|n| n.parse().ok())
    }
}

impl Policy for StreamfleetPolicy {
    fn name(&self) -> &'static str {
        self.name
    }

    fn cadence(&self, config: &SimConfig) -> Cadence {
        Cadence { tick_secs: self.tick_secs, warmup_secs: config.warmup_secs }
    }

    fn warm_pool(&self) -> Option<WarmPoolSpec> {
        self.warm_pool
    }

    /// Lookups see the seats in use: crossing the scale-out threshold asks
    /// for a tick, as a refusal does.
    fn observe(&mut self, view: &View<'_>) {
        let (mut seated, mut room) = (0u64, 0u64);
        for inst in view.serving() {
            seated += u64::from(inst.sessions);
            room += u64::from(view.config.capacity);
        }
        let above = seated * 100
            >= room * u64::from(self.group.spec.roles[&Role::Edge].scale.scale_out_threshold_pct);
        self.asked |= self.on_pressure && above && !self.above;
        self.above = above;
    }

    fn wants_tick(&mut self, view: &View<'_>) -> bool {
        self.asked && view.now >= self.last_tick + CALL_WINDOW_SECS
    }

    fn tick(&mut self, view: &View<'_>) -> Vec<Command> {
        self.asked = false;
        self.last_tick = view.now;
        let nodes: Vec<Node> = view
            .live()
            .map(|i| {
                let state = match i.state {
                    InstState::Warming => NodeState::Pending,
                    InstState::Serving => NodeState::InService,
                    // `live` holds the group's instances only.
                    _ => NodeState::Draining,
                };
                self.node(i.id, state, i.state_since, i.sessions, view.now)
            })
            .collect();
        let pressure: Pressure = BTreeMap::from([((Role::Edge, self.region.clone()), self.refused)]);
        self.refused = 0;
        let now = at(view.now);
        let input = PlanInput {
            group: &self.group,
            nodes: &nodes,
            pressure: &pressure,
            asked: &Pressure::new(),
            unhealthy: &Default::default(),
            shortfall: &Default::default(),
            memory: &self.memory,
            now,
            settings: self.settings,
        };
        let decisions = plan(&input);
        let seen = observed_load(&input);
        for (role, region, sessions) in seen {
            self.memory.record_load(role, &region, sessions, now, self.settings.growth_window);
        }
        let mut commands = Vec::new();
        for decision in decisions {
            match decision.action {
                Action::Launch { count, .. } => {
                    self.memory.record_scale_out(Role::Edge, &self.region, now);
                    commands.push(Command::Launch(count));
                }
                Action::Readmit { node } => {
                    self.memory.record_scale_out(Role::Edge, &self.region, now);
                    commands.extend(Self::id_of(&node).map(Command::Readmit));
                }
                Action::Drain { node, .. } => {
                    self.memory.record_scale_in(Role::Edge, &self.region, now);
                    commands.extend(Self::id_of(&node).map(Command::Drain));
                }
                Action::Terminate { node, .. } => commands.extend(Self::id_of(&node).map(Command::Terminate)),
                _ => {}
            }
        }
        commands
    }

    fn place(&mut self, view: &View<'_>) -> Option<u32> {
        if self.built_for != Some(view.fleet_version) {
            let serving: Vec<_> = view.serving().map(|i| (i.id, i.state_since, i.sessions)).collect();
            self.nodes = serving
                .iter()
                .map(|&(id, since, sessions)| self.node(id, NodeState::InService, since, sessions, view.now))
                .collect();
            self.ids = serving.iter().map(|s| s.0).collect();
            self.built_for = Some(view.fleet_version);
        }
        let now = at(view.now);
        for (node, id) in self.nodes.iter_mut().zip(&self.ids) {
            node.load.subscribers = view.instances[*id as usize].sessions;
            node.last_heartbeat_at = Some(now);
        }
        let want = Want {
            role: Role::Edge,
            region: Some(&self.region),
            strategy: PlacementStrategy::Pack,
            ceiling_pct: self.ceiling_pct,
            role_capacity: view.config.capacity,
            stale_after: self.settings.stale_after,
            seed: view.config.seed,
            protocol: None,
        };
        place(&self.nodes, &[], &want, now).map(|index| self.ids[index])
    }

    fn refused(&mut self, attempts: u32) {
        self.refused = self.refused.saturating_add(attempts);
        self.asked |= self.on_pressure;
    }
}
