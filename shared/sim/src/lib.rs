//! A trace-driven, discrete-time scaling simulator. It runs streamfleet's
//! own `plan` and `place` (no copy) beside the policies operators run today
//! and the oracle, on the same trace, and measures what each does to
//! viewers (cut, rejected, delayed) and to the bill (instance-hours).

pub mod engine;
pub mod generate;
mod oracle;
pub mod plot;
pub mod policy;
pub mod pool;
pub mod report;
pub mod rng;
pub mod trace;

pub use engine::{simulate, Outcome, SimConfig};
pub use oracle::oracle;
pub use trace::Trace;

use pool::{WarmPoolSpec, WarmPoolState};
use streamfleet_core::group::{ScalePolicy, SeatBuffer};

/// The policy names, in report order.
pub const POLICIES: [&str; 6] =
    ["streamfleet", "streamfleet_event", "target_tracking", "threshold", "no_migration_oracle", "oracle"];

/// The streamfleet policy to simulate: a role's scale policy, the lookups'
/// packing ceiling, how often the scaler ticks and whether lookups call it
/// at once (by default, what a new deployment and a new group get).
#[derive(Debug, Clone)]
pub struct Tuning {
    pub scale: ScalePolicy,
    pub ceiling_pct: u8,
    pub tick_secs: u64,
    /// Refused lookups and seats crossing the scale-out threshold tick the
    /// group at once (at most once per `TICK_CALL_WINDOW`, as lookups do).
    pub on_pressure: bool,
    pub warm_pool: Option<WarmPoolSpec>,
}

impl Tuning {
    /// The settings docs/simulator.md recommends for a known live event of
    /// `peak` viewers, on top of these: a warm pool of stopped instances
    /// sized for the peak and reused on scale-in, the role's warm-up the
    /// pool's start time, and a buffer of free seats for the first seconds.
    pub fn live_event(&self, config: &SimConfig, peak: u32) -> Self {
        let per_node = u64::from(config.capacity) * u64::from(self.scale.scale_out_threshold_pct) / 100;
        let nodes = u64::from(peak).div_ceil(per_node.max(1)) as u32;
        let pool = WarmPoolSpec {
            min_size: 0,
            max_prepared_capacity: Some(nodes.min(config.max_nodes)),
            state: WarmPoolState::Stopped,
            reuse_on_scale_in: true,
        };
        let mut event = self.clone();
        event.scale.warmup_secs = pool::start_secs(pool.state) as u32;
        event.scale.buffer = Some(SeatBuffer { seats: 3 * config.capacity, pct: 0 });
        event.warm_pool = Some(pool);
        event
    }
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            scale: ScalePolicy::default(),
            ceiling_pct: streamfleet_core::service::LookupSettings::default().pack_ceiling_pct,
            tick_secs: streamfleet_core::service::DEFAULT_TICK_EVERY.as_secs(),
            on_pressure: true,
            warm_pool: None,
        }
    }
}

/// Every policy on one trace; the two floors first computed, the others
/// compared with both.
pub fn compare(trace: &Trace, config: &SimConfig, tuning: &Tuning) -> Vec<Outcome> {
    let mut floor = oracle(trace, config);
    let mut sticky_floor = simulate(trace, config, &mut policy::NoMigrationOracle, floor.instance_hours);
    let sticky_hours = sticky_floor.instance_hours;
    let mut streamfleet = policy::StreamfleetPolicy::new("streamfleet", config, tuning);
    let peak = (0..trace.seconds()).map(|t| trace.total(t)).max().unwrap_or(0);
    let mut event =
        policy::StreamfleetPolicy::new("streamfleet_event", config, &tuning.live_event(config, peak));
    let mut tracking = policy::TargetTracking::new(55.0, config.seed);
    let mut threshold = policy::Threshold::red5_like();
    let mut outcomes: Vec<Outcome> =
        [&mut streamfleet as &mut dyn engine::Policy, &mut event, &mut tracking, &mut threshold]
            .into_iter()
            .map(|p| simulate(trace, config, p, floor.instance_hours))
            .collect();
    sticky_floor.hours_vs_no_migration_oracle = 1.0;
    floor.hours_vs_no_migration_oracle = floor.instance_hours / sticky_hours;
    outcomes.push(sticky_floor);
    outcomes.push(floor);
    for outcome in &mut outcomes[..4] {
        outcome.hours_vs_no_migration_oracle = outcome.instance_hours / sticky_hours;
    }
    outcomes
}
