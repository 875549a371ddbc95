//! The chaos harness's short seeds (`make chaos` runs the long ones): the
//! local scenario on two API processes and two scaler processes, with
//! 10 % of AWS calls failing, ticks killed part-way, a heartbeat-path outage
//! longer than the dead window and a termination delivered twice; once on
//! the simulated cloud, once on EC2 Auto Scaling (the emulator's), where
//! every lifecycle event comes twice and out of order, the termination
//! comes while the heartbeat path is down, and an edge gets a rebalance
//! recommendation. `make
//! chaos` holds longer runs to a fault-free twin of the same seed (items
//! lost, convergence); this one holds the invariants that need no twin. Set
//! `STREAMFLEET_CHAOS_SEED` to replay one.

use streamfleet_scenarios::chaos::{run, ChaosOutcome, ChaosSettings};

fn seed() -> u64 {
    std::env::var("STREAMFLEET_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(uuid::Uuid::new_v4().as_fields().0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_faults_kills_and_a_heartbeat_outage_nobody_is_cut_and_the_fleet_settles() {
    let seed = seed();
    let outcome = run(&ChaosSettings::short(seed)).await.expect("the chaos run runs");
    holds_the_invariants(seed, &outcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_auto_scaling_with_every_lifecycle_event_twice_and_out_of_order_nobody_is_cut_either() {
    let seed = seed();
    let outcome = run(&ChaosSettings::short(seed).on_aws()).await.expect("the chaos run runs");
    holds_the_invariants(seed, &outcome);
    let lifecycle = outcome.lifecycle.clone().expect("the Auto Scaling stand-in's figures");
    assert!(lifecycle.duplicates > 0 && lifecycle.launches_continued > 0, "seed {seed}: {lifecycle:?}");
    assert_eq!(lifecycle.out_of_band_terminations, 1, "seed {seed}: {lifecycle:?}");
    assert_eq!(
        lifecycle.timed_out, 0,
        "seed {seed}: an action was left to the hook's timeout: {lifecycle:?}"
    );
}

fn holds_the_invariants(seed: u64, outcome: &ChaosOutcome) {
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
