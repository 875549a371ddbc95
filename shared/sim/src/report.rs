//! The comparison as a table for people, JSON for scripts, and the
//! `name: value` lines `make bench` prints.

use crate::engine::Outcome;

pub fn table(trace: &str, outcomes: &[Outcome]) -> String {
    let mut out = format!(
        "trace {trace}\n{:<20} {:>9} {:>8} {:>9} {:>8} {:>9} {:>8} {:>9} {:>9} {:>6}\n",
        "policy",
        "arrivals",
        "cut",
        "rejected",
        "rej %",
        "delayed",
        "inst-h",
        "vs oracle",
        "vs sticky",
        "peak"
    );
    for o in outcomes {
        out.push_str(&format!(
            "{:<20} {:>9} {:>8} {:>9} {:>8.3} {:>9} {:>8.1} {:>9.3} {:>9.3} {:>6}   p95 to capacity {} s\n",
            o.policy,
            o.arrivals,
            o.cut,
            o.rejected,
            o.rejected_pct,
            o.delayed,
            o.instance_hours,
            o.hours_vs_oracle,
            o.hours_vs_no_migration_oracle,
            o.peak_nodes,
            o.p95_time_to_capacity_secs
        ));
    }
    out
}

pub fn bench_lines(trace: &str, outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| {
            format!(
                "sim_{trace}_{p}_cut: {}\nsim_{trace}_{p}_rejected_pct: {:.3}\nsim_{trace}_{p}_hours_vs_oracle: {:.3}\n\
                 sim_{trace}_{p}_hours_vs_no_migration_oracle: {:.3}\n",
                o.cut,
                o.rejected_pct,
                o.hours_vs_oracle,
                o.hours_vs_no_migration_oracle,
                p = o.policy
            )
        })
        .collect()
}
