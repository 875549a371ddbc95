//! `plan_10000_nodes_ms`: one scaler decision over a group of 10,000 nodes
//! in four regions (bar: < 5 ms).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use streamfleet_core::group::{example_spec, GroupStatus, NodeGroup, RegionSpec, Role};
use streamfleet_core::names::{GroupName, NodeId, Region};
use streamfleet_core::node::{Node, NodeLoad, NodeState};
use streamfleet_core::scaling::{plan, PlanInput, PlanSettings, Pressure, ScalerMemory};
use time::OffsetDateTime;

const REGIONS: [&str; 4] = ["eu-west-1", "eu-central-1", "us-east-1", "ap-south-1"];

fn group(now: OffsetDateTime) -> NodeGroup {
    let mut spec = example_spec("bench");
    spec.regions =
        REGIONS.iter().map(|r| RegionSpec { region: Region::parse(*r).unwrap(), zones: vec![] }).collect();
    for role in spec.roles.values_mut() {
        role.scale.max = 1000;
    }
    NodeGroup {
        spec,
        version: 1,
        status: GroupStatus::Active,
        node_count: 10_000,
        enroll_generation: 1,
        incarnation: String::new(),
        created_at: now,
        updated_at: now,
    }
}

fn fleet(size: usize, now: OffsetDateTime) -> Vec<Node> {
    (0..size)
        .map(|i| Node {
            group: GroupName::parse("bench").unwrap(),
            node_id: NodeId::parse(format!("i-{i:017x}")).unwrap(),
            role: if i % 10 == 0 { Role::Origin } else { Role::Edge },
            region: Region::parse(REGIONS[i % REGIONS.len()]).unwrap(),
            zone: None,
            state: match i % 50 {
                0 => NodeState::Draining,
                1 => NodeState::Pending,
                _ => NodeState::InService,
            },
            cordoned: false,
            drain_cause: None,
            hold: None,
            host: None,
            endpoints: BTreeMap::new(),
            streams: vec![],
            load: NodeLoad { subscribers: ((i * 7919) % 500) as u32, ..NodeLoad::default() },
            seats_taken: 0,
            seats_carried: 0,
            state_since: now - Duration::from_secs(60),
            launched_at: Some(now - Duration::from_secs(30)),
            last_heartbeat_at: Some(now - Duration::from_secs((i % 10) as u64)),
            last_sent_at: None,
        })
        .collect()
}

fn planning(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let group = group(now);
    let nodes = fleet(10_000, now);
    let (pressure, memory) = (Pressure::new(), ScalerMemory::default());
    let input = PlanInput {
        group: &group,
        nodes: &nodes,
        pressure: &pressure,
        asked: &Pressure::new(),
        unhealthy: &Default::default(),
        shortfall: &Default::default(),
        memory: &memory,
        now,
        settings: PlanSettings::default(),
    };
    assert!(!plan(&input).is_empty(), "the fleet gives the planner work");
    c.bench_function("plan_10000_nodes", |b| b.iter(|| plan(black_box(&input))));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = planning
}
criterion_main!(benches);
