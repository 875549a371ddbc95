//! What a Lambda function writes to its log for CloudWatch: Embedded
//! Metric Format documents, in the namespace and with the dimensions the
//! templates' alarms and dashboard name. (Its own test binary: the
//! recorder is installed once per process.)

use std::time::Duration;

use serde_json::Value;
use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::telemetry::{self, LookupOutcome};
use streamfleet_runtime::metrics::{flush_metrics_to, init_metrics, NAMESPACE};
use streamfleet_runtime::Function;

fn documents(text: &str) -> Vec<Value> {
    text.lines().map(|line| serde_json::from_str(line).expect("one JSON document a line")).collect()
}

/// The document holding the metric `name` with exactly these dimensions.
fn find<'a>(docs: &'a [Value], name: &str, dimensions: &[&str]) -> &'a Value {
    docs.iter()
        .find(|doc| {
            let directive = &doc["_aws"]["CloudWatchMetrics"][0];
            let names: Vec<&str> = directive["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["Name"].as_str().unwrap())
                .collect();
            let dims: Vec<&str> =
                directive["Dimensions"][0].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
            let mut want: Vec<&str> = dimensions.to_vec();
            want.sort();
            let mut got = dims.clone();
            got.sort();
            names.contains(&name) && got == want
        })
        .unwrap_or_else(|| panic!("no {name} with {dimensions:?} in {docs:#?}"))
}

#[test]
fn a_lookup_is_written_as_embedded_metrics_with_the_dimensions_the_alarms_name() {
    init_metrics(Function::Lookup);
    let group = GroupName::parse("live").unwrap();
    let region = Region::parse("eu-west-1").unwrap();
    for _ in 0..3 {
        telemetry::lookup(
            "subscribe",
            LookupOutcome::Placed,
            Some((&group, Role::Edge, &region)),
            Duration::from_millis(4),
        );
    }
    telemetry::lookup("subscribe", LookupOutcome::NoRoom, None, Duration::from_millis(2));
    let mut out = Vec::new();
    flush_metrics_to(&mut out);
    let docs = documents(std::str::from_utf8(&out).unwrap());

    let refused = find(&docs, telemetry::LOOKUPS, &["Function", "Outcome"]);
    assert_eq!(refused["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
    assert!(refused["_aws"]["Timestamp"].as_u64().unwrap() > 0);
    assert_eq!(refused["Function"], "lookup");
    let by_slot = find(&docs, telemetry::LOOKUPS, &["Function", "Group", "Role", "Region", "Outcome"]);
    assert_eq!(
        (by_slot["Group"].clone(), by_slot["Role"].clone()),
        (Value::from("live"), Value::from("edge"))
    );
    assert_eq!(by_slot[telemetry::LOOKUPS], 3);
    let latency = find(&docs, telemetry::LOOKUP_LATENCY, &["Function", "Action"]);
    assert!(latency[telemetry::LOOKUP_LATENCY].is_array() || latency[telemetry::LOOKUP_LATENCY].is_number());

    // What was written is not written again.
    let mut again = Vec::new();
    flush_metrics_to(&mut again);
    assert!(documents(std::str::from_utf8(&again).unwrap())
        .iter()
        .all(|d| d.get(telemetry::LOOKUPS).is_none_or(|v| v != 3)));
}
