//! `make bench`: `scaleout_reaction_s`, from the seat that takes a role's
//! seats in use across its scale-out threshold to the launch in the
//! group's decision log, on the local stack's wiring (lookups call the
//! scaler; no scheduled tick runs). The median of five groups, each on a
//! fresh table.

use streamfleet_runtime::Tuning;
use streamfleet_scenarios::scaling::scale_out_reaction;
use streamfleet_scenarios::spawn_app_with;

#[tokio::main]
async fn main() {
    let mut waits = Vec::new();
    for run in 0..5 {
        let app = spawn_app_with(Tuning { tick_calls_in_process: true, ..Tuning::default() }).await;
        waits.push(scale_out_reaction(&app, &format!("react-{run}")).await.as_secs_f64());
    }
    waits.sort_by(f64::total_cmp);
    eprintln!("  (scale-out reactions: {waits:.3?} s)");
    println!("scaleout_reaction_s: {:.3}", waits[waits.len() / 2]);
}
