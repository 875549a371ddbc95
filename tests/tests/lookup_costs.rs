//! The hot paths' budget of DynamoDB round trips, counted on the SDK client.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use streamfleet_dynamo::CallCounter;
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{body, group_spec, spawn_counted_app, TestApp};

const GROUP: &str = "live-eu";

/// A group with one origin and one edge; stream `live/cam1` is live.
async fn live_fleet(tuning: Tuning) -> (TestApp, CallCounter) {
    let (app, counter) = spawn_counted_app(tuning).await;
    let mut spec = group_spec(GROUP);
    spec["apps"] = json!(["live"]);
    app.create_group(&spec).await;
    let origin = Report::new("origin", "eu-west-1", "198.51.100.1");
    let token = app.enroll(GROUP, "o-1", &origin).await;
    app.enroll(GROUP, "e-1", &Report::new("edge", "eu-west-1", "203.0.113.1")).await;
    assert_eq!(app.lookup("/v1/streams/live/cam1?action=publish").await.status(), StatusCode::OK);
    let live = Report { publishers: 1, streams: vec!["live/cam1".into()], ..origin };
    app.report(GROUP, "o-1", &token, &live).await;
    (app, counter)
}

async fn calls_for(app: &TestApp, counter: &CallCounter, path: &str) -> u64 {
    let before = counter.count();
    let response = app.lookup(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body(response).await);
    counter.count() - before
}

fn without_fleet_cache() -> Tuning {
    Tuning { fleet_cache_ttl: Duration::ZERO, group_cache_ttl: Duration::from_secs(600), ..Tuning::default() }
}

#[tokio::test]
async fn a_subscribe_takes_two_round_trips_the_nodes_and_its_seat() {
    let (app, counter) = live_fleet(without_fleet_cache()).await;
    assert_eq!(calls_for(&app, &counter, "/v1/streams/live/cam1?action=subscribe").await, 2);
}

#[tokio::test]
async fn a_first_publish_takes_three_round_trips_route_nodes_and_one_transaction_for_route_and_seat() {
    let (app, counter) = live_fleet(without_fleet_cache()).await;
    assert_eq!(calls_for(&app, &counter, "/v1/streams/live/fresh-stream?action=publish").await, 3);
    assert_eq!(
        calls_for(&app, &counter, "/v1/streams/live/fresh-stream?action=publish").await,
        2,
        "then sticky, without another seat"
    );
}

#[tokio::test]
async fn a_heartbeat_on_the_beat_is_one_write_and_a_sooner_one_two() {
    let (app, counter) = live_fleet(without_fleet_cache()).await;
    let token = app.enroll(GROUP, "e-2", &Report::new("edge", "eu-west-1", "203.0.113.2")).await;
    let report = Report { subscribers: 3, ..Report::new("edge", "eu-west-1", "203.0.113.2") };
    let writes_after = |pause: std::time::Duration| {
        let (app, counter, token, report) = (&app, &counter, &token, &report);
        async move {
            tokio::time::sleep(pause).await;
            let before = counter.count();
            app.report(GROUP, "e-2", token, report).await;
            counter.count() - before
        }
    };
    let lease = streamfleet_core::seats::MAX_LEASE;
    assert_eq!(writes_after(lease).await, 1, "on the beat: one write, the seat count starts again");
    // Within a seat lease's life of the last reset: refused as a reset,
    // then recorded without one.
    assert_eq!(writes_after(lease.mul_f32(0.6)).await, 2);
    // A node reporting a little faster than once a second still resets
    // every other report: the gap is counted from the last reset.
    assert_eq!(writes_after(lease.mul_f32(0.6)).await, 1, "over a second after the last reset");
}

/// DynamoDB round trips per subscribe over a burst of `lookups` through
/// one warm instance (group and fleet cached for the whole burst).
async fn burst_average(seat_lease: Duration, lookups: u32) -> f64 {
    let tuning = Tuning {
        group_cache_ttl: Duration::from_secs(600),
        fleet_cache_ttl: Duration::from_secs(60),
        seat_lease,
        ..Tuning::default()
    };
    let (app, counter) = live_fleet(tuning).await;
    let before = counter.count();
    for _ in 0..lookups {
        assert_eq!(app.lookup("/v1/streams/live/cam1?action=subscribe").await.status(), StatusCode::OK);
    }
    (counter.count() - before) as f64 / f64::from(lookups)
}

#[tokio::test]
async fn with_the_fleet_cache_and_seat_leases_a_burst_of_subscribes_costs_a_few_writes_not_one_each() {
    // Blocks of 1, 2, 4… as the instance's demand shows (`seats::block_size`).
    let average = burst_average(Tuning::default().seat_lease, 40).await;
    assert!(average <= 0.3, "average {average} round trips per subscribe");
}

#[tokio::test]
async fn without_seat_leases_a_subscribe_is_one_write_on_a_warm_instance() {
    let average = burst_average(Duration::ZERO, 20).await;
    assert!(average <= 1.05, "average {average} round trips per subscribe");
}
