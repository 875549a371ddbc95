//! The policies compared: streamfleet's own scaler, and what operators run
//! today (seeds 001/003: CPU target tracking on an ASG; a Red5-style
//! threshold autoscaler), each with its usual placement.

mod no_migration_oracle;
mod streamfleet;
mod target_tracking;
mod threshold;

pub use no_migration_oracle::NoMigrationOracle;
pub use streamfleet::StreamfleetPolicy;
pub use target_tracking::TargetTracking;
pub use threshold::Threshold;

use crate::engine::{InstState, View};

/// Average load of the serving instances (waiting viewers count as load
/// when none serves), in %.
pub(crate) fn serving_load_pct(view: &View<'_>) -> f64 {
    let (count, sessions) = view.serving().fold((0u64, 0u64), |(c, s), i| (c + 1, s + u64::from(i.sessions)));
    if count == 0 {
        return if view.waiting > 0 { 100.0 } else { 0.0 };
    }
    sessions as f64 * 100.0 / (count * u64::from(view.config.capacity)) as f64
}

/// The least-loaded serving instance with room (a load balancer's choice).
pub(crate) fn least_loaded(view: &View<'_>) -> Option<u32> {
    view.instances
        .iter()
        .filter(|i| i.state == InstState::Serving && i.sessions < view.config.capacity)
        .min_by_key(|i| (i.sessions, i.id))
        .map(|i| i.id)
}
