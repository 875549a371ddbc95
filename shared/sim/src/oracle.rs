//! The physical floor: at every second exactly ceil(viewers / capacity)
//! instances, ready with no warm-up, every viewer seated, nobody cut.

use crate::engine::{Outcome, Sample, SimConfig};
use crate::trace::Trace;

pub fn oracle(trace: &Trace, config: &SimConfig) -> Outcome {
    let mut series = Vec::new();
    let mut instance_secs = 0u64;
    let mut peak = 0;
    for t in 0..trace.seconds() {
        let demand = trace.total(t);
        let instances = demand.div_ceil(config.capacity);
        instance_secs += u64::from(instances);
        peak = peak.max(instances);
        if t % config.sample_secs == 0 {
            series.push(Sample {
                t,
                demand,
                capacity: u64::from(instances) * u64::from(config.capacity),
                instances,
            });
        }
    }
    Outcome {
        policy: "oracle".into(),
        arrivals: 0,
        rejected: 0,
        rejected_pct: 0.0,
        delayed: 0,
        cut: 0,
        instance_hours: instance_secs as f64 / 3600.0,
        hours_vs_oracle: 1.0,
        hours_vs_no_migration_oracle: 0.0,
        p95_time_to_capacity_secs: 0,
        peak_nodes: peak,
        series,
        cut_events: Vec::new(),
    }
}
