//! A trace-driven, discrete-time scaling simulator. It runs streamfleet's
//! own `plan` and `place` (no copy) beside the policies operators run today
//! and the oracle, on the same trace, and measures what each does to
//! viewers (cut, rejected, delayed) and to the bill (instance-hours).

pub mod engine;
pub mod generate;
mod oracle;
pub mod plot;
pub mod policy;
pub mod report;
pub mod rng;
pub mod trace;

pub use engine::{simulate, Outcome, SimConfig};
pub use oracle::oracle;
pub use trace::Trace;

use streamfleet_core::group::ScalePolicy;

/// The policy names, in report order.
pub const POLICIES: [&str; 4] = ["streamfleet", "target_tracking", "threshold", "oracle"];

/// The streamfleet policy to simulate: a role's scale policy and the
/// lookups' packing ceiling (by default, what a new group gets).
#[derive(Debug, Clone)]
pub struct Tuning {
    pub scale: ScalePolicy,
    pub ceiling_pct: u8,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            scale: ScalePolicy::default(),
            ceiling_pct: streamfleet_core::service::LookupSettings::default().pack_ceiling_pct,
        }
    }
}

/// Every policy on one trace; the oracle first computed, the others
/// compared with it.
pub fn compare(trace: &Trace, config: &SimConfig, tuning: &Tuning) -> Vec<Outcome> {
    let floor = oracle(trace, config);
    let mut streamfleet = policy::StreamfleetPolicy::new(config, tuning.scale.clone(), tuning.ceiling_pct);
    let mut tracking = policy::TargetTracking::new(55.0, config.seed);
    let mut threshold = policy::Threshold::red5_like();
    let mut outcomes: Vec<Outcome> =
        [&mut streamfleet as &mut dyn engine::Policy, &mut tracking, &mut threshold]
            .into_iter()
            .map(|p| simulate(trace, config, p, floor.instance_hours))
            .collect();
    outcomes.push(floor);
    outcomes
}
