//! `placement_1000_nodes_us`: choosing one edge among 1,000 (bar: < 20 µs).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, NodeId, Region};
use streamfleet_core::node::{Node, NodeLoad, NodeState};
use streamfleet_core::placement::{place, PlacementStrategy, Want};
use time::OffsetDateTime;

const REGIONS: [&str; 4] = ["eu-west-1", "eu-central-1", "us-east-1", "ap-south-1"];

fn fleet(size: usize, now: OffsetDateTime) -> Vec<Node> {
    (0..size)
        .map(|i| Node {
            group: GroupName::parse("bench").unwrap(),
            node_id: NodeId::parse(format!("i-{i:017x}")).unwrap(),
            role: if i % 10 == 0 { Role::Origin } else { Role::Edge },
            region: Region::parse(REGIONS[i % REGIONS.len()]).unwrap(),
            zone: None,
            state: if i % 37 == 0 { NodeState::Draining } else { NodeState::InService },
            cordoned: i % 53 == 0,
            drain_cause: None,
            hold: None,
            host: Some(format!("10.0.{}.{}", i / 256, i % 256)),
            endpoints: BTreeMap::new(),
            streams: vec![],
            load: NodeLoad { subscribers: ((i * 7919) % 1000) as u32, ..NodeLoad::default() },
            seats_taken: 0,
            seats_carried: 0,
            state_since: now,
            launched_at: None,
            last_heartbeat_at: Some(now - Duration::from_secs((i % 20) as u64)),
            last_sent_at: None,
        })
        .collect()
}

fn placement(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let nodes = fleet(1000, now);
    let placed = vec![0u32; nodes.len()];
    let region = Region::parse("eu-west-1").unwrap();
    let want = Want {
        role: Role::Edge,
        region: Some(&region),
        strategy: PlacementStrategy::Pack,
        ceiling_pct: 80,
        role_capacity: 1000,
        stale_after: Duration::from_secs(15),
        seed: 42,
        protocol: None,
    };
    assert!(place(&nodes, &placed, &want, now).is_some());
    c.bench_function("placement_1000_nodes", |b| {
        b.iter(|| place(black_box(&nodes), black_box(&placed), black_box(&want), now))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = placement
}
criterion_main!(benches);
