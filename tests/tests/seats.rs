//! Seats under concurrency: however many lookup processes hand out viewers
//! at once, no edge is handed more than its last report left room for.

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::crowd::{self, Crowd};
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{
    another_process, body, group_spec, spawn_app_serving_live, spawn_app_with, TestApp,
};

const GROUP: &str = "live-eu";

/// Crowds run one at a time: two at once on one emulator slow each other
/// down, and a slower crowd meets more reports than it is shaped for.
static ONE_CROWD_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_subscribes_through_four_lookup_processes_never_overfill_an_edge() {
    let crowd = Crowd {
        lookup_processes: 4,
        in_flight: 32,
        subscribes: 400,
        edges: vec![(100, 0), (100, 30), (100, 60), (60, 10)],
        ceiling_pct: 90,
        report_every: Duration::from_secs(1),
    };
    let outcome = {
        let _turn = ONE_CROWD_AT_A_TIME.lock().await;
        crowd::run(&crowd).await
    };
    assert_eq!(outcome.failed, 0, "{outcome:?}");
    assert!(outcome.reports >= 8, "edges reported during the crowd: {outcome:?}");
    assert!(outcome.overfill_max_pct <= 100.0, "an edge got more than its room: {outcome:?}");
    assert!(outcome.limit_max_pct <= 100.0, "an edge ended past its ceiling: {outcome:?}");
    // Seats of viewers who arrived before a report are counted twice until
    // the report after (`seats::room`): the players refused meanwhile retry
    // once, as players do after Retry-After, and find them.
    assert!(outcome.seated_pct(crowd.subscribes) >= 90.0, "the fleet's room was handed out: {outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_subscribes_in_one_process_spread_over_the_edges_instead_of_queueing_on_the_fullest() {
    // Packing points every lookup at the fullest edge with room; one
    // process's lookups in flight must see each other's seats, or most of
    // them are refused at every edge in turn and run out of attempts while
    // the fleet still has room.
    let crowd = Crowd {
        lookup_processes: 1,
        in_flight: 32,
        subscribes: 100,
        edges: vec![(10, 0); 12],
        ceiling_pct: 90,
        report_every: Duration::from_secs(60),
    };
    let outcome = {
        let _turn = ONE_CROWD_AT_A_TIME.lock().await;
        crowd::run(&crowd).await
    };
    assert_eq!(outcome.failed, 0, "{outcome:?}");
    assert_eq!(outcome.refused, 0, "the fleet had room for all ({}): {outcome:?}", outcome.room);
    assert!(outcome.limit_max_pct <= 100.0, "{outcome:?}");
    let per_subscribe = outcome.ddb_calls as f64 / crowd.subscribes as f64;
    assert!(per_subscribe <= 1.5, "{per_subscribe:.2} DynamoDB calls a subscribe: {outcome:?}");
}

/// A group whose origin takes at most one publisher (capacity 2, ceiling 90 %).
async fn tiny_origin() -> (TestApp, String, Report) {
    let app = spawn_app_serving_live(GROUP).await;
    let origin = Report { capacity: Some(2), ..Report::new("origin", "eu-west-1", "198.51.100.1") };
    let token = app.enroll(GROUP, "o-1", &origin).await;
    (app, token, origin)
}

#[tokio::test]
async fn publishers_take_seats_on_their_origin_and_the_second_report_gives_unused_ones_back() {
    let (app, token, origin) = tiny_origin().await;
    assert_eq!(app.lookup("/v1/streams/live/a?action=publish").await.status(), StatusCode::OK);
    assert_eq!(
        app.lookup("/v1/streams/live/a?action=publish").await.status(),
        StatusCode::OK,
        "sticky, no new seat"
    );
    let refused = app.lookup("/v1/streams/live/b?action=publish").await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE, "the origin's one seat is taken");
    assert_eq!(body(refused).await["code"], "no_room");

    // The publisher of `a` never connected. The next report cannot tell
    // it from one still on its way, so it carries the seat; the one after
    // gives it back. (Reports a seat lease's life apart: a sooner one does
    // not start the count again.)
    tokio::time::sleep(streamfleet_core::seats::MAX_LEASE).await;
    app.report(GROUP, "o-1", &token, &origin).await;
    assert_eq!(
        app.lookup("/v1/streams/live/b?action=publish").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    tokio::time::sleep(streamfleet_core::seats::MAX_LEASE).await;
    app.report(GROUP, "o-1", &token, &origin).await;
    assert_eq!(app.lookup("/v1/streams/live/b?action=publish").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_publishes_of_one_stream_share_one_origin_and_one_seat() {
    let tuning = Tuning { fleet_cache_ttl: Duration::ZERO, ..Tuning::default() };
    let app = spawn_app_with(tuning).await;
    let mut spec = group_spec(GROUP);
    spec["apps"] = json!(["live"]);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    for i in 0..4 {
        app.enroll(GROUP, &format!("o-{i}"), &Report::new("origin", "eu-west-1", &format!("198.51.100.{i}")))
            .await;
    }
    // `make bench` fires a thousand (`lookup_first_publish_origins`).
    let answers = join_all((0..200).map(|_| app.lookup("/v1/streams/live/race?action=publish"))).await;
    let mut origins = std::collections::BTreeSet::new();
    for response in answers {
        let (status, answer) = (response.status(), body(response).await);
        assert_eq!(status, StatusCode::OK, "{answer}");
        origins.insert(answer["nodeId"].as_str().unwrap().to_owned());
    }
    assert_eq!(origins.len(), 1, "{origins:?}");
    let nodes =
        app.admin(reqwest::Method::GET, &format!("/v1/nodegroups/{GROUP}/nodes")).send().await.unwrap();
    let taken: u64 = body(nodes).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["seatsTaken"].as_u64().unwrap())
        .sum();
    assert_eq!(taken, 1, "only the winner holds a seat");
}

/// Subscribes to `live/cam1` through `app` until refused; how many were seated.
async fn seat_until_refused(app: &TestApp) -> u64 {
    let mut seated = 0;
    loop {
        let response = app.lookup("/v1/streams/live/cam1?action=subscribe").await;
        match response.status() {
            StatusCode::OK => seated += 1,
            StatusCode::SERVICE_UNAVAILABLE => return seated,
            other => panic!("{other}: {}", body(response).await),
        }
        assert!(seated <= 1000, "never refused");
    }
}

async fn seats_taken(app: &TestApp, node: &str) -> u64 {
    let path = format!("/v1/nodegroups/{GROUP}/nodes/{node}");
    let response = app.admin(reqwest::Method::GET, &path).send().await.unwrap();
    body(response).await["seatsTaken"].as_u64().expect("a count")
}

#[tokio::test]
async fn seats_one_instance_leased_but_never_handed_out_are_no_one_elses_until_the_report_after_next() {
    // A short-lived view of the fleet, so that a report reaches the
    // lookups a moment after it is made (a full view refuses at once).
    let view_life = Duration::from_millis(200);
    let tuning =
        Tuning { group_cache_ttl: Duration::from_secs(600), fleet_cache_ttl: view_life, ..Tuning::default() };
    let first = spawn_app_with(tuning).await;
    let mut spec = group_spec(GROUP);
    spec["apps"] = json!(["live"]);
    assert_eq!(first.create_group(&spec).await.status(), StatusCode::CREATED);
    let origin = Report {
        publishers: 1,
        streams: vec!["live/cam1".into()],
        ..Report::new("origin", "eu-west-1", "198.51.100.1")
    };
    first.enroll(GROUP, "o-1", &origin).await;
    // Room for 95 under the 95 % ceiling.
    let edge = Report { capacity: Some(100), ..Report::new("edge", "eu-west-1", "203.0.113.1") };
    let token = first.enroll(GROUP, "e-1", &edge).await;
    let second = another_process(&first).await;

    // A burst through the first instance: its blocks grow with its demand,
    // and the last one is not spent.
    for _ in 0..20 {
        let response = first.lookup("/v1/streams/live/cam1?action=subscribe").await;
        assert_eq!(response.status(), StatusCode::OK, "{}", body(response).await);
    }
    let leased = seats_taken(&first, "e-1").await;
    assert!(leased > 20 && leased <= 95, "{leased} seats taken for 20 viewers");
    let spare = leased - 20;

    // The second instance cannot spend them: it seats what is left.
    let seated = seat_until_refused(&second).await;
    assert_eq!(20 + seated + spare, 95, "{seated} seated by the second instance beside {spare} leased");

    // Every viewer seated arrives. The next report carries every seat
    // (viewers on their way look the same as seats never used); the one
    // after gives back what the first instance's lease never handed out.
    // (Reports a seat lease's life apart: a sooner one does not start the
    // count again.)
    let arrived = Report { subscribers: (20 + seated) as u32, ..edge };
    for expected in [0, spare] {
        tokio::time::sleep(streamfleet_core::seats::MAX_LEASE).await;
        first.report(GROUP, "e-1", &token, &arrived).await;
        tokio::time::sleep(view_life).await;
        let again = seat_until_refused(&second).await;
        assert_eq!(again, expected, "0 while carried, then the unused lease came back");
    }
}
