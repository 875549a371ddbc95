//! The discrete-time engine: one step per second. Viewers arrive to follow
//! the trace, are placed by the policy (or wait, and give up after their
//! patience), leave after their own session length or when the audience
//! shrinks; instances warm up before they serve; every `tick` the policy
//! changes the fleet. Everything a policy could do to viewers is counted.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use serde::Serialize;

use crate::pool::{self, WarmPoolSpec};
use crate::rng::Rng;
use crate::trace::Trace;

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimConfig {
    /// How often the policy acts (EventBridge schedules go down to 60 s).
    pub tick_secs: u64,
    /// From launch to serving.
    pub warmup_secs: u64,
    /// Viewers per instance.
    pub capacity: u32,
    /// Mean viewing session (exponentially distributed).
    pub mean_session_secs: f64,
    /// How long a viewer who finds no room keeps retrying before giving up.
    pub patience_secs: u64,
    pub min_nodes: u32,
    pub max_nodes: u32,
    pub seed: u64,
    /// Plot resolution.
    pub sample_secs: u64,
    /// A refused viewer's lookup retries this often (the lookups' Retry-After).
    pub retry_secs: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            tick_secs: 60,
            warmup_secs: 120,
            capacity: 500,
            mean_session_secs: 1200.0,
            patience_secs: 60,
            min_nodes: 1,
            max_nodes: 200,
            seed: 1,
            sample_secs: 30,
            retry_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum InstState {
    Warming,
    Serving,
    /// Takes no new viewer; keeps its sessions.
    Draining,
    Gone,
    /// Booting to enter the warm pool (billed in full).
    Preparing,
    /// In the warm pool: not in the group, billed at the pool state's share.
    Pooled,
}

impl InstState {
    /// In the group: launched (or taken from the pool) and not gone.
    pub fn in_group(self) -> bool {
        matches!(self, Self::Warming | Self::Serving | Self::Draining)
    }
}

/// When a policy acts, and how long its launches take to serve.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub tick_secs: u64,
    pub warmup_secs: u64,
}

#[derive(Debug, Clone)]
pub struct Inst {
    pub id: u32,
    pub launched_at: u64,
    pub ready_at: u64,
    pub state: InstState,
    pub state_since: u64,
    pub sessions: u32,
}

/// What a policy sees.
pub struct View<'a> {
    pub now: u64,
    pub instances: &'a [Inst],
    /// Viewers waiting for room.
    pub waiting: u32,
    pub config: &'a SimConfig,
    /// Changes whenever an instance changes state.
    pub fleet_version: u64,
}

impl View<'_> {
    /// The group's instances (the warm pool is not in it).
    pub fn live(&self) -> impl Iterator<Item = &Inst> {
        self.instances.iter().filter(|i| i.state.in_group())
    }

    pub fn serving(&self) -> impl Iterator<Item = &Inst> {
        self.instances.iter().filter(|i| i.state == InstState::Serving)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Launch(u32),
    Drain(u32),
    Readmit(u32),
    /// Gone at once, with whatever sessions it holds (those are cut).
    Terminate(u32),
}

pub trait Policy {
    fn name(&self) -> &'static str;
    /// Its schedule and its launches' warm-up (by default the run's).
    fn cadence(&self, config: &SimConfig) -> Cadence {
        Cadence { tick_secs: config.tick_secs, warmup_secs: config.warmup_secs }
    }
    /// The warm pool its group keeps, if any.
    fn warm_pool(&self) -> Option<WarmPoolSpec> {
        None
    }
    /// Every second, after `observe`: whether it asks for a tick now, off
    /// its schedule (a scaler invoked on pressure).
    fn wants_tick(&mut self, _view: &View<'_>) -> bool {
        false
    }
    /// Every second, after arrivals were placed.
    fn observe(&mut self, _view: &View<'_>) {}
    /// Every `tick_secs`.
    fn tick(&mut self, view: &View<'_>) -> Vec<Command>;
    /// The instance for one new viewer, or `None` when there is no room.
    fn place(&mut self, view: &View<'_>) -> Option<u32>;
    /// `attempts` joins found no room this second.
    fn refused(&mut self, _attempts: u32) {}
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub t: u64,
    /// Viewers watching or waiting.
    pub demand: u32,
    /// Viewers the serving instances can hold.
    pub capacity: u64,
    /// Instances launched and not yet gone (what is billed).
    pub instances: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub policy: String,
    pub arrivals: u64,
    /// Found no room for longer than their patience (they kept waiting,
    /// but a viewer who waits that long has been turned away).
    pub rejected: u64,
    pub rejected_pct: f64,
    /// Seated after a shorter wait.
    pub delayed: u64,
    /// Sessions ended by a termination.
    pub cut: u64,
    pub instance_hours: f64,
    pub hours_vs_oracle: f64,
    /// Against the best a system that never moves a session can do.
    pub hours_vs_no_migration_oracle: f64,
    /// p95 of the shortages: from demand exceeding the capacity in service
    /// until capacity in service caught up (the same level for every policy).
    pub p95_time_to_capacity_secs: u64,
    pub peak_nodes: u32,
    #[serde(skip)]
    pub series: Vec<Sample>,
    /// (second, sessions cut then).
    #[serde(skip)]
    pub cut_events: Vec<(u64, u32)>,
}

struct Session {
    inst: u32,
    stream: usize,
    alive: bool,
    /// Index in its stream's list of live sessions.
    slot: usize,
}

struct World<'a> {
    config: &'a SimConfig,
    rng: Rng,
    instances: Vec<Inst>,
    sessions: Vec<Session>,
    live_by_stream: Vec<Vec<u32>>,
    by_instance: Vec<Vec<u32>>,
    ends: BinaryHeap<Reverse<(u64, u32)>>,
    waiting: Vec<VecDeque<u64>>,
    version: u64,
    warmup_secs: u64,
    pool: Option<WarmPoolSpec>,
}

impl World<'_> {
    fn view(&self, now: u64) -> View<'_> {
        View {
            now,
            instances: &self.instances,
            waiting: self.waiting.iter().map(|q| q.len() as u32).sum(),
            config: self.config,
            fleet_version: self.version,
        }
    }

    fn end(&mut self, id: u32) {
        let (stream, slot, inst) = {
            let s = &mut self.sessions[id as usize];
            s.alive = false;
            (s.stream, s.slot, s.inst)
        };
        let list = &mut self.live_by_stream[stream];
        list.swap_remove(slot);
        if let Some(&moved) = list.get(slot) {
            self.sessions[moved as usize].slot = slot;
        }
        self.instances[inst as usize].sessions -= 1;
    }

    fn seat(&mut self, inst: u32, stream: usize, now: u64) {
        let id = self.sessions.len() as u32;
        let slot = self.live_by_stream[stream].len();
        self.sessions.push(Session { inst, stream, alive: true, slot });
        self.live_by_stream[stream].push(id);
        self.by_instance[inst as usize].push(id);
        self.instances[inst as usize].sessions += 1;
        let length = self.rng.exponential(self.config.mean_session_secs).max(1.0) as u64;
        self.ends.push(Reverse((now + length, id)));
    }

    /// A cold launch: into the group (`Warming`) or the pool (`Preparing`).
    fn launch(&mut self, now: u64, state: InstState) {
        let id = self.instances.len() as u32;
        self.instances.push(Inst {
            id,
            launched_at: now,
            ready_at: now + self.warmup_secs,
            state,
            state_since: now,
            sessions: 0,
        });
        self.by_instance.push(Vec::new());
    }

    fn count(&self, state: InstState) -> u32 {
        self.instances.iter().filter(|i| i.state == state).count() as u32
    }

    fn in_group(&self) -> u32 {
        self.instances.iter().filter(|i| i.state.in_group()).count() as u32
    }

    /// The pool's target size now, if the group keeps one.
    fn pool_size(&self) -> Option<u32> {
        self.pool.map(|spec| pool::pool_size(&spec, self.in_group(), self.config.max_nodes))
    }

    /// Tops the warm pool up to its size with cold launches.
    fn refill_pool(&mut self, now: u64) {
        let Some(size) = self.pool_size() else { return };
        let pooled = self.count(InstState::Pooled) + self.count(InstState::Preparing);
        for _ in pooled..size {
            self.launch(now, InstState::Preparing);
        }
    }

    /// Launches `count` into the group: from the warm pool first (ready
    /// sooner), then cold.
    fn scale_out(&mut self, count: u32, now: u64) {
        let mut left = count.min(self.config.max_nodes.saturating_sub(self.in_group()));
        if let Some(spec) = self.pool {
            let pooled: Vec<u32> = self
                .instances
                .iter()
                .filter(|i| i.state == InstState::Pooled)
                .map(|i| i.id)
                .take(left as usize)
                .collect();
            for id in pooled {
                self.instances[id as usize].ready_at = now + pool::start_secs(spec.state);
                self.set_state(id, InstState::Warming, now);
                left -= 1;
            }
        }
        for _ in 0..left {
            self.launch(now, InstState::Warming);
        }
        self.version += 1;
    }

    /// What the fleet costs this second, in instances: the group and the
    /// instances booting for the pool in full, the pool at its state's share.
    fn billed(&self) -> f64 {
        let share = self.pool.map_or(0.0, |spec| pool::cost_share(spec.state));
        f64::from(self.in_group() + self.count(InstState::Preparing))
            + f64::from(self.count(InstState::Pooled)) * share
    }

    fn set_state(&mut self, id: u32, state: InstState, now: u64) {
        let inst = &mut self.instances[id as usize];
        inst.state = state;
        inst.state_since = now;
        self.version += 1;
    }

    /// Applies a command; returns the sessions it cut.
    fn apply(&mut self, command: Command, now: u64) -> u32 {
        let state_of = |w: &Self, id: u32| w.instances.get(id as usize).map(|i| i.state);
        match command {
            Command::Launch(count) => {
                self.scale_out(count, now);
                0
            }
            Command::Drain(id) if state_of(self, id) == Some(InstState::Serving) => {
                self.set_state(id, InstState::Draining, now);
                0
            }
            Command::Readmit(id) if state_of(self, id) == Some(InstState::Draining) => {
                self.set_state(id, InstState::Serving, now);
                0
            }
            Command::Terminate(id) if state_of(self, id).is_some_and(InstState::in_group) => {
                let held: Vec<u32> = std::mem::take(&mut self.by_instance[id as usize])
                    .into_iter()
                    .filter(|s| self.sessions[*s as usize].alive)
                    .collect();
                for session in &held {
                    self.end(*session);
                }
                // Given back to the pool (stopped, not terminated) while it has room.
                let reused = self.pool.is_some_and(|spec| spec.reuse_on_scale_in)
                    && self.pool_size().is_some_and(|size| {
                        self.count(InstState::Pooled) + self.count(InstState::Preparing) < size
                    });
                self.set_state(id, if reused { InstState::Pooled } else { InstState::Gone }, now);
                held.len() as u32
            }
            _ => 0,
        }
    }
}

/// Runs `policy` over `trace`; `oracle_hours` is the floor to compare with.
pub fn simulate(trace: &Trace, config: &SimConfig, policy: &mut dyn Policy, oracle_hours: f64) -> Outcome {
    let streams = trace.per_second.len();
    let cadence = policy.cadence(config);
    let mut world = World {
        config,
        rng: Rng::new(config.seed),
        instances: Vec::new(),
        sessions: Vec::new(),
        live_by_stream: vec![Vec::new(); streams],
        by_instance: Vec::new(),
        ends: BinaryHeap::new(),
        waiting: vec![VecDeque::new(); streams],
        version: 0,
        warmup_secs: cadence.warmup_secs,
        pool: policy.warm_pool(),
    };
    // The run starts in a steady state, not cold: the trace's first
    // audience already seated on a fleet sized for it (80 % full), as every
    // policy would have it after a quiet while. Those viewers are not
    // arrivals.
    let initial = (0..streams).map(|s| trace.per_second[s].first().copied().unwrap_or(0)).collect::<Vec<_>>();
    let initial_total: u32 = initial.iter().sum();
    let per_node = (u64::from(config.capacity) * 4 / 5).max(1);
    let fleet =
        (u64::from(initial_total).div_ceil(per_node) as u32).max(config.min_nodes).min(config.max_nodes);
    for _ in 0..fleet {
        world.launch(0, InstState::Serving);
    }
    world.refill_pool(0);
    for inst in &mut world.instances {
        inst.ready_at = 0;
        if inst.state == InstState::Preparing {
            inst.state = InstState::Pooled;
        }
    }
    for (stream, count) in initial.iter().enumerate() {
        for _ in 0..*count {
            let choice = policy.place(&world.view(0));
            match choice.filter(|&i| world.instances[i as usize].sessions < config.capacity) {
                Some(inst) => world.seat(inst, stream, 0),
                None => break,
            }
        }
    }
    let mut out = Outcome {
        policy: policy.name().to_owned(),
        arrivals: 0,
        rejected: 0,
        rejected_pct: 0.0,
        delayed: 0,
        cut: 0,
        instance_hours: 0.0,
        hours_vs_oracle: 0.0,
        hours_vs_no_migration_oracle: 0.0,
        p95_time_to_capacity_secs: 0,
        peak_nodes: 0,
        series: Vec::new(),
        cut_events: Vec::new(),
    };
    let mut instance_secs = 0.0;
    let mut episodes: Vec<u64> = Vec::new();
    let mut shortage_since: Option<u64> = None;
    for now in 0..trace.seconds() {
        for id in 0..world.instances.len() {
            let inst = &world.instances[id];
            match inst.state {
                InstState::Warming if inst.ready_at <= now => {
                    world.set_state(id as u32, InstState::Serving, now)
                }
                InstState::Preparing if inst.ready_at <= now => {
                    world.set_state(id as u32, InstState::Pooled, now)
                }
                _ => {}
            }
        }
        while let Some(&Reverse((end, id))) = world.ends.peek() {
            if end > now {
                break;
            }
            world.ends.pop();
            if world.sessions[id as usize].alive {
                world.end(id);
            }
        }
        // Follow the audience: newcomers queue; a shrinking audience leaves
        // the queue first, then its seats.
        for stream in 0..streams {
            let wanted = trace.per_second[stream][now as usize] as usize;
            let (seated, queued) = (world.live_by_stream[stream].len(), world.waiting[stream].len());
            if seated + queued < wanted {
                for _ in 0..wanted - seated - queued {
                    world.waiting[stream].push_back(now);
                }
                out.arrivals += (wanted - seated - queued) as u64;
            } else {
                let mut extra = seated + queued - wanted;
                while extra > 0 && world.waiting[stream].pop_back().is_some() {
                    extra -= 1;
                }
                for _ in 0..extra {
                    let list = &world.live_by_stream[stream];
                    let leaving = list[world.rng.below(list.len())];
                    world.end(leaving);
                }
            }
        }
        let mut refused = 0;
        'streams: for stream in 0..streams {
            while let Some(&arrived) = world.waiting[stream].front() {
                let choice = policy.place(&world.view(now));
                match choice {
                    Some(inst)
                        if world.instances.get(inst as usize).is_some_and(|i| {
                            i.state == InstState::Serving && i.sessions < config.capacity
                        }) =>
                    {
                        world.waiting[stream].pop_front();
                        if arrived < now && now - arrived <= config.patience_secs {
                            out.delayed += 1;
                        }
                        world.seat(inst, stream, now);
                    }
                    _ => {
                        // A refused player retries every `retry_secs` (the 503's
                        // Retry-After): that many lookups are refused this second.
                        refused = world
                            .waiting
                            .iter()
                            .flatten()
                            .filter(|&&arrived| (now - arrived) % config.retry_secs == 0)
                            .count() as u32;
                        break 'streams;
                    }
                }
            }
        }
        if refused > 0 {
            policy.refused(refused);
        }
        // Arrivals queue in order: those out of patience now arrived exactly
        // `patience` ago, each is counted once.
        if let Some(arrived) = now.checked_sub(config.patience_secs) {
            for queue in &world.waiting {
                out.rejected +=
                    queue.iter().take_while(|&&a| a <= arrived).filter(|&&a| a == arrived).count() as u64;
            }
        }
        policy.observe(&world.view(now));
        let scheduled = now > 0 && now % cadence.tick_secs.max(1) == 0;
        if scheduled || policy.wants_tick(&world.view(now)) {
            let commands = policy.tick(&world.view(now));
            let cut: u32 = commands.into_iter().map(|c| world.apply(c, now)).sum();
            if cut > 0 {
                out.cut += u64::from(cut);
                out.cut_events.push((now, cut));
            }
        }
        world.refill_pool(now);
        let view = world.view(now);
        let live = view.live().count() as u32;
        let capacity = view.serving().count() as u64 * u64::from(config.capacity);
        let demand = world.live_by_stream.iter().map(Vec::len).sum::<usize>() as u32 + view.waiting;
        instance_secs += world.billed();
        out.peak_nodes = out.peak_nodes.max(live);
        // One level for every policy: more viewers than seats in service.
        let short = u64::from(demand) > capacity;
        match (short, shortage_since) {
            (true, None) => shortage_since = Some(now),
            (false, Some(since)) => {
                episodes.push(now - since);
                shortage_since = None;
            }
            _ => {}
        }
        if now % config.sample_secs == 0 {
            out.series.push(Sample { t: now, demand, capacity, instances: live });
        }
    }
    if let Some(since) = shortage_since {
        episodes.push(trace.seconds() - since);
    }
    episodes.sort_unstable();
    out.p95_time_to_capacity_secs =
        episodes.get((episodes.len() * 95).div_ceil(100).saturating_sub(1)).copied().unwrap_or(0);
    out.instance_hours = instance_secs / 3600.0;
    out.hours_vs_oracle = if oracle_hours > 0.0 { out.instance_hours / oracle_hours } else { 0.0 };
    out.rejected_pct = if out.arrivals > 0 { out.rejected as f64 * 100.0 / out.arrivals as f64 } else { 0.0 };
    out
}
