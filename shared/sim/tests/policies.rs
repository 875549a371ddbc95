//! The simulator's promises: runs are reproducible, the oracle is the floor
//! it claims, the baselines are honest (target tracking does cut viewers),
//! and streamfleet's invariants hold on any trace.

use proptest::prelude::*;
use streamfleet_sim::generate::{generate, Shape};
use streamfleet_sim::trace::Row;
use streamfleet_sim::{compare, oracle, SimConfig, Trace, Tuning};

fn outcome<'a>(outcomes: &'a [streamfleet_sim::Outcome], policy: &str) -> &'a streamfleet_sim::Outcome {
    outcomes.iter().find(|o| o.policy == policy).expect("every policy runs")
}

fn rows(points: &[(u64, f64)]) -> Vec<Row> {
    points.iter().map(|&(t_secs, viewers)| Row { t_secs, stream: "main".into(), viewers }).collect()
}

/// 40 minutes at 6000, down to 1500 within 5, then an hour there.
fn falling() -> Trace {
    Trace::from_rows("falling", &rows(&[(0, 6000.0), (2400, 6000.0), (2700, 1500.0), (6300, 1500.0)]))
        .unwrap()
}

#[test]
fn a_seed_names_one_run() {
    let trace = Trace::from_rows("random", &generate(Shape::Random, 9)).unwrap();
    let config = SimConfig { seed: 9, ..SimConfig::default() };
    let first = format!("{:?}", compare(&trace, &config, &Tuning::default()));
    assert_eq!(first, format!("{:?}", compare(&trace, &config, &Tuning::default())));
    let other = SimConfig { seed: 10, ..config };
    assert_ne!(first, format!("{:?}", compare(&trace, &other, &Tuning::default())), "the seed matters");
}

#[test]
fn the_oracle_never_rejects_never_cuts_and_is_the_exact_floor() {
    let trace = Trace::from_rows("random", &generate(Shape::Random, 4)).unwrap();
    let config = SimConfig::default();
    let floor = oracle(&trace, &config);
    assert_eq!((floor.rejected, floor.cut, floor.delayed), (0, 0, 0));
    let by_hand: u64 =
        (0..trace.seconds()).map(|t| u64::from(trace.total(t).div_ceil(config.capacity))).sum();
    assert!((floor.instance_hours - by_hand as f64 / 3600.0).abs() < 1e-9);
}

#[test]
fn the_no_migration_oracle_seats_everyone_cuts_nobody_and_costs_at_least_the_oracle() {
    let trace = Trace::from_rows("random", &generate(Shape::Random, 5)).unwrap();
    let outcomes = compare(&trace, &SimConfig::default(), &Tuning::default());
    let sticky = outcome(&outcomes, "no_migration_oracle");
    assert_eq!((sticky.rejected, sticky.cut), (0, 0), "{sticky:?}");
    assert!(sticky.instance_hours >= outcome(&outcomes, "oracle").instance_hours);
    assert!((sticky.hours_vs_no_migration_oracle - 1.0).abs() < 1e-9);
    let streamfleet = outcome(&outcomes, "streamfleet");
    assert!(
        (streamfleet.hours_vs_no_migration_oracle - streamfleet.instance_hours / sticky.instance_hours).abs()
            < 1e-9
    );
}

/// A steady 1500, ×10 within two minutes, held.
fn crowd() -> Trace {
    Trace::from_rows("crowd", &rows(&[(0, 1500.0), (600, 1500.0), (720, 15_000.0), (1800, 15_000.0)]))
        .unwrap()
}

#[test]
fn a_warm_pool_and_a_buffer_seat_a_crowd_a_cold_fleet_turns_away() {
    let outcomes = compare(&crowd(), &SimConfig::default(), &Tuning::default());
    let (cold, event) = (outcome(&outcomes, "streamfleet"), outcome(&outcomes, "streamfleet_event"));
    assert!(cold.rejected_pct > 10.0, "{cold:?}");
    assert!(event.rejected_pct < 0.5, "{event:?}");
    assert_eq!((cold.cut, event.cut), (0, 0));
}

#[test]
fn pooled_instances_are_billed_at_their_volumes_share() {
    // The same fleet, once with a pool of 40 stopped instances waiting all
    // along: 40 × 4 % more instance-hours, no more.
    let flat = Trace::from_rows("flat", &rows(&[(0, 1000.0), (3600, 1000.0)])).unwrap();
    let config = SimConfig::default();
    let without = outcome(&compare(&flat, &config, &Tuning::default()), "streamfleet").instance_hours;
    let pool = streamfleet_sim::pool::WarmPoolSpec {
        min_size: 40,
        // Below the group: the pool is its minimum.
        max_prepared_capacity: Some(config.min_nodes),
        state: streamfleet_sim::pool::WarmPoolState::Stopped,
        reuse_on_scale_in: false,
    };
    let pooled = Tuning { warm_pool: Some(pool), ..Tuning::default() };
    let with = outcome(&compare(&flat, &config, &pooled), "streamfleet").instance_hours;
    let expected = without + 40.0 * 0.04;
    assert!((with - expected).abs() < 0.05, "{with} vs {expected}");
}

#[test]
fn target_tracking_cuts_viewers_when_load_falls_and_streamfleet_does_not() {
    let outcomes = compare(&falling(), &SimConfig::default(), &Tuning::default());
    assert!(outcome(&outcomes, "target_tracking").cut > 0, "{outcomes:?}");
    assert!(outcome(&outcomes, "threshold").cut > 0, "{outcomes:?}");
    assert_eq!(outcome(&outcomes, "streamfleet").cut, 0);
    // And streamfleet did scale in: it ends below its peak.
    let streamfleet = outcome(&outcomes, "streamfleet");
    assert!(streamfleet.series.last().unwrap().instances < streamfleet.peak_nodes, "{streamfleet:?}");
}

#[test]
fn the_shipped_traces_are_the_generator_with_seed_1() {
    for (shape, text) in [
        (Shape::EveningPeak, include_str!("../traces/evening_peak.csv")),
        (Shape::FlashCrowd, include_str!("../traces/flash_crowd.csv")),
        (Shape::Sawtooth, include_str!("../traces/sawtooth.csv")),
    ] {
        let shipped = Trace::parse_csv(shape.name(), text).unwrap();
        assert_eq!(shipped, Trace::from_rows(shape.name(), &generate(shape, 1)).unwrap(), "{}", shape.name());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// On any trace: no viewer is ever cut (drains wait for the last one),
    /// the fleet stays within its bounds, and every count adds up.
    #[test]
    fn streamfleet_never_cuts_and_stays_in_bounds(
        points in prop::collection::vec((0u64..1800, 0.0f64..3000.0), 2..8),
        seed in 0u64..1000,
    ) {
        let trace = Trace::from_rows("prop", &rows(&points)).unwrap();
        let config = SimConfig { seed, capacity: 200, max_nodes: 30, ..SimConfig::default() };
        let outcomes = compare(&trace, &config, &Tuning::default());
        let sf = outcome(&outcomes, "streamfleet");
        prop_assert_eq!(sf.cut, 0);
        prop_assert_eq!(outcome(&outcomes, "streamfleet_event").cut, 0);
        prop_assert!(sf.peak_nodes <= config.max_nodes);
        prop_assert!(sf.series.iter().all(|s| s.instances >= config.min_nodes));
        prop_assert!(sf.rejected + sf.delayed <= sf.arrivals);
        prop_assert!(sf.instance_hours >= 0.0);
    }
}
