//! Every parser of outside input, as a function of raw bytes, with the
//! seeds its inputs grow from: request bodies (group specs, heartbeat
//! reports), names (paths and queries are made of them), lifecycle events
//! and the agent's stats pages. A target may refuse any input; it must
//! never panic.

use std::path::Path;

use serde_json::Value;
use streamfleet_agent::stats::{parse_page, SourceConfig};
use streamfleet_core::group::NodeGroupSpec;
use streamfleet_core::heartbeat::HeartbeatReport;
use streamfleet_core::names::{
    AppName, GroupName, ImageId, InstanceType, NodeId, Region, StreamKey, StreamName, Zone,
};

/// One parser, fed raw bytes; it may refuse them, never panic.
pub type Run = Box<dyn Fn(&[u8])>;

pub struct Target {
    pub name: String,
    pub seeds: Vec<Vec<u8>>,
    pub run: Run,
}

impl Target {
    fn new(name: &str, seeds: Vec<Vec<u8>>, run: impl Fn(&[u8]) + 'static) -> Self {
        Self { name: name.to_owned(), seeds, run: Box::new(run) }
    }
}

fn read(root: &Path, path: &str) -> Vec<u8> {
    std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("seed {path}: {e}"))
}

/// The body of an API Gateway fixture.
fn fixture_body(root: &Path, name: &str) -> Vec<u8> {
    let event: Value =
        serde_json::from_slice(&read(root, &format!("events/apigw/{name}.json"))).expect("JSON");
    event["body"].as_str().expect("the fixture has a body").as_bytes().to_vec()
}

fn spec(bytes: &[u8]) {
    if let Ok(spec) = streamfleet_core::decode::from_slice::<NodeGroupSpec>(bytes) {
        let _ = spec.validate();
    }
}

fn report(bytes: &[u8]) {
    if let Ok(report) = streamfleet_core::decode::from_slice::<HeartbeatReport>(bytes) {
        let _ = report.validate(time::OffsetDateTime::now_utc());
    }
}

fn names(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = GroupName::parse(text.as_ref());
    let _ = NodeId::parse(text.as_ref());
    let _ = Region::parse(text.as_ref());
    let _ = Zone::parse(text.as_ref());
    let _ = AppName::parse(text.as_ref());
    let _ = StreamName::parse(text.as_ref());
    let _ = InstanceType::parse(text.as_ref());
    let _ = ImageId::parse(text.as_ref());
    let _ = StreamKey::parse(&text);
    if let (Ok(zone), Ok(region)) = (Zone::parse(text.as_ref()), Region::parse("eu-west-1")) {
        let _ = zone.is_in(&region);
    }
}

fn lifecycle_event(bytes: &[u8]) {
    if let Ok(event) = serde_json::from_slice::<Value>(bytes) {
        let _ = streamfleet_runtime::parse_lifecycle_event(&event);
    }
}

fn page_of(kind: &str) -> SourceConfig {
    let config = match kind {
        "json" => serde_json::json!({"kind": "json", "url": "http://x", "publishers": "/stats/publishers",
            "subscribers": "/stats/viewers", "streams": "/stats/streams", "bandwidth_kbps": "/stats/kbps"}),
        kind => serde_json::json!({"kind": kind, "url": "http://x"}),
    };
    serde_json::from_value(config).expect("a source config")
}

/// Every target, its seeds read from the repository's fixtures.
pub fn targets(root: &Path) -> Vec<Target> {
    let lifecycle =
        ["lifecycle-launch", "lifecycle-terminate", "rebalance-recommendation", "spot-interruption"]
            .map(|n| read(root, &format!("events/eventbridge/{n}.json")))
            .to_vec();
    let name_seeds = ["live-eu", "i-0edge00000000001", "eu-west-1", "eu-west-1a", "live/cam1", "c6i.large"]
        .map(|s| s.as_bytes().to_vec())
        .to_vec();
    let mut targets = vec![
        Target::new(
            "group_spec",
            vec![read(root, "events/examples/nodegroup.json"), fixture_body(root, "nodegroups-create")],
            spec,
        ),
        Target::new(
            "heartbeat_report",
            vec![fixture_body(root, "heartbeat-enroll-origin"), fixture_body(root, "heartbeat-origin")],
            report,
        ),
        Target::new("names", name_seeds, names),
        Target::new("lifecycle_event", lifecycle, lifecycle_event),
    ];
    let pages = [
        ("nginx_rtmp", "nginx_rtmp_stat.xml"),
        ("srs", "srs_streams.json"),
        ("mediamtx", "mediamtx_paths.json"),
        ("json", "generic.json"),
    ];
    for (kind, fixture) in pages {
        let config = page_of(kind);
        let seeds = vec![read(root, &format!("agent/tests/fixtures/{fixture}"))];
        targets.push(Target::new(&format!("stats_{kind}"), seeds, move |bytes| {
            let _ = parse_page(&config, &String::from_utf8_lossy(bytes));
        }));
    }
    targets
}
