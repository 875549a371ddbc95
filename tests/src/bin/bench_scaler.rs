//! `make bench`: one scaler tick over many groups against the emulator.
//!
//! - `tick_1000_groups_s`: wall time of one tick over 1,000 groups × 20
//!   nodes (`STREAMFLEET_BENCH_GROUPS` changes the count);
//! - `ddb_calls_per_group_tick`: DynamoDB requests per group in that tick,
//!   which must not grow with the nodes of a group.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::json;
use streamfleet_core::group::{GroupStatus, NodeGroup, NodeGroupSpec, Role};
use streamfleet_core::names::{GroupName, NodeId, Region};
use streamfleet_core::node::{Node, NodeLoad, NodeState};
use streamfleet_dynamo::{CallCounter, DynamoStore};
use streamfleet_runtime::{app_state_with, aws_config, Tuning};
use streamfleet_scenarios::fresh_config_with;
use streamfleet_scenarios::scaling::simulated_group;
use time::OffsetDateTime;

const NODES_PER_GROUP: usize = 20;

fn group(i: usize, now: OffsetDateTime) -> NodeGroup {
    let mut spec = simulated_group(&format!("g-{i:04}"), 30);
    spec["roles"]["origin"]["scale"]["max"] = json!(5);
    spec["roles"]["edge"]["launch"]["connectionCapacity"] = json!(1000);
    let spec: NodeGroupSpec = serde_json::from_value(spec).expect("a valid spec");
    NodeGroup {
        spec,
        version: 1,
        status: GroupStatus::Active,
        node_count: NODES_PER_GROUP as u32,
        enroll_generation: 1,
        incarnation: String::new(),
        created_at: now,
        updated_at: now,
    }
}

/// Two origins and 18 edges, all serving at 40 % (between the thresholds:
/// a steady fleet, as most groups are on most ticks).
fn nodes(group: &GroupName, now: OffsetDateTime) -> Vec<Node> {
    (0..NODES_PER_GROUP)
        .map(|n| {
            let origin = n < 2;
            Node {
                group: group.clone(),
                node_id: NodeId::parse(format!("{group}-n{n:02}")).unwrap(),
                role: if origin { Role::Origin } else { Role::Edge },
                region: Region::parse("eu-west-1").unwrap(),
                zone: None,
                state: NodeState::InService,
                cordoned: false,
                drain_cause: None,
                hold: None,
                host: Some(format!("10.1.0.{n}")),
                endpoints: BTreeMap::new(),
                streams: vec![],
                load: NodeLoad { subscribers: if origin { 40 } else { 400 }, ..NodeLoad::default() },
                seats_taken: 0,
                seats_carried: 0,
                state_since: now,
                launched_at: None,
                last_heartbeat_at: Some(now),
                last_sent_at: Some(now),
            }
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let groups: usize =
        std::env::var("STREAMFLEET_BENCH_GROUPS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    // Loading takes a while: the nodes must not go stale before the tick.
    let tuning = Tuning {
        stale_after: Duration::from_secs(3600),
        dead_after: Duration::from_secs(7200),
        ..Tuning::default()
    };
    let config = fresh_config_with(tuning).await;
    let sdk = aws_config(&config).await;
    let counter = CallCounter::default();
    let state =
        app_state_with(&config, &sdk, counter.instrument(&aws_sdk_dynamodb::Client::new(&sdk))).unwrap();
    let loader = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone()));

    let setup = Instant::now();
    let now = OffsetDateTime::now_utc();
    // Bulk writes, not the API: the emulator's transactions copy every
    // table, which at this size takes longer than the benchmark itself.
    stream::iter((0..groups).collect::<Vec<_>>().chunks(25).map(|chunk| chunk.to_vec()).collect::<Vec<_>>())
        .for_each_concurrent(4, |chunk| {
            let loader = loader.clone();
            async move {
                let batch: Vec<NodeGroup> = chunk.iter().map(|i| group(*i, now)).collect();
                loader.import_groups(&batch).await.expect("groups stored");
                let fleet: Vec<Node> = batch.iter().flat_map(|g| nodes(g.name(), now)).collect();
                loader.import_nodes(&fleet, now + Duration::from_secs(3600)).await.expect("nodes stored");
            }
        })
        .await;
    eprintln!(
        "  (setup: {groups} groups × {NODES_PER_GROUP} nodes in {:.1} s)",
        setup.elapsed().as_secs_f64()
    );

    let before = counter.count();
    let started = Instant::now();
    let report = state.scaler.tick().await.expect("the tick runs");
    let elapsed = started.elapsed().as_secs_f64();
    let calls = counter.count() - before;
    assert_eq!(report.groups as usize, groups);
    eprintln!("  (tick: {report:?})");
    println!("tick_{groups}_groups_s: {elapsed:.2}");
    println!("ddb_calls_per_group_tick: {:.2}", calls as f64 / groups as f64);
}
