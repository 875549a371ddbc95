//! `make bench`: seats under a crowd. Subscribes fired concurrently through
//! several independent lookup processes (their own caches and DynamoDB
//! clients, as separate Lambda instances have) while the edges report
//! every two seconds (`streamfleet_scenarios::crowd`):
//!
//! - `lookup_overfill_max_pct`: the most sessions placed on one edge within
//!   one report's life, as % of the room that report left (bar ≤ 100);
//! - `lookup_seated_pct`: the subscribes answered 200, as % of what the
//!   fleet's reports could seat (bar ≥ 99);
//! - `lookup_occupancy_max_pct`: the fullest edge at the end, as % of its
//!   capacity, joins in flight included (≤ 100: the ceiling's headroom);
//! - `lookup_first_publish_origins`: origins named by a thousand concurrent
//!   first publishes of one stream (bar 1), and `…_seats` the seats they
//!   hold (bar 1).

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::crowd::{self, Crowd};
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{body, group_spec, spawn_app_with};

async fn first_publishes(count: usize) -> (usize, u64) {
    let app = spawn_app_with(Tuning::default()).await;
    let mut spec = group_spec("race");
    spec["apps"] = json!(["live"]);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    for i in 0..4 {
        app.enroll(
            "race",
            &format!("o-{i}"),
            &Report::new("origin", "eu-west-1", &format!("198.51.100.{i}")),
        )
        .await;
    }
    let answers = join_all((0..count).map(|_| app.lookup("/v1/streams/live/race?action=publish"))).await;
    let mut origins = std::collections::BTreeSet::new();
    for response in answers {
        let (status, answer) = (response.status(), body(response).await);
        assert_eq!(status, StatusCode::OK, "{answer}");
        origins.insert(answer["nodeId"].as_str().expect("a node").to_owned());
    }
    let nodes = app.admin(reqwest::Method::GET, "/v1/nodegroups/race/nodes").send().await.expect("listed");
    let nodes: Value = body(nodes).await;
    let seats =
        nodes["items"].as_array().expect("nodes").iter().filter_map(|n| n["seatsTaken"].as_u64()).sum();
    (origins.len(), seats)
}

#[tokio::main]
async fn main() {
    let crowd = Crowd {
        lookup_processes: 4,
        in_flight: 64,
        subscribes: 2400,
        // 8 edges of 200 viewers, some busy already: room for 880 under the
        // 90 % ceiling, so the crowd fills the fleet and is then refused.
        edges: (0..8).map(|i| (200, i * 20)).collect(),
        ceiling_pct: 90,
        report_every: Duration::from_secs(2),
    };
    let started = std::time::Instant::now();
    let outcome = crowd::run(&crowd).await;
    eprintln!("  (crowd: {outcome:?} in {:.1} s)", started.elapsed().as_secs_f64());
    assert_eq!(outcome.failed, 0, "every subscribe got 200 or 503 no_room");
    println!("lookup_overfill_max_pct: {:.1}", outcome.overfill_max_pct);
    println!("lookup_seated_pct: {:.2}", outcome.seated_pct(crowd.subscribes));
    println!("lookup_occupancy_max_pct: {:.1}", outcome.occupancy_max_pct);

    let (origins, seats) = first_publishes(1000).await;
    println!("lookup_first_publish_origins: {origins}");
    println!("lookup_first_publish_seats: {seats}");
}
