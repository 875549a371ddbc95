//! The chaos harness's short seed (`make chaos` runs the long ones): the
//! local scenario on two API processes and two scaler processes, with
//! 10 % of AWS calls failing, ticks killed part-way, a heartbeat-path outage
//! longer than the dead window and a termination delivered twice. `make
//! chaos` holds longer runs to a fault-free twin of the same seed (items
//! lost, convergence); this one holds the invariants that need no twin. Set
//! `STREAMFLEET_CHAOS_SEED` to replay one.

use streamfleet_scenarios::chaos::{run, ChaosSettings};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_faults_kills_and_a_heartbeat_outage_nobody_is_cut_and_the_fleet_settles() {
    let seed = std::env::var("STREAMFLEET_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(uuid::Uuid::new_v4().as_fields().0));
    let settings = ChaosSettings::short(seed);
    let outcome = run(&settings).await.expect("the chaos run runs");
    println!("seed {seed}\n{outcome:?}");

    assert!(outcome.faults_injected >= 50, "{outcome:?}");
    assert!(outcome.ticks_killed > 0 && outcome.heartbeats_refused > 0, "{outcome:?}");
    assert_eq!(outcome.sessions_cut, 0, "seed {seed}: {outcome:?}");
    assert_eq!(outcome.nodes_with_sessions_terminated, 0, "seed {seed}: {outcome:?}");
    for kind in ["groups", "routes", "claims"] {
        assert_eq!(outcome.items.get(kind), Some(&1), "seed {seed}: {kind} in {:?}", outcome.items);
    }
    assert_eq!(outcome.nodes_without_rows, 0, "seed {seed}: a running node was forgotten: {outcome:?}");
    assert!(
        outcome.convergence_ticks.is_some(),
        "seed {seed}: the fleet settles once the faults stop: {outcome:?}"
    );
}
