//! `make bench`: the hot paths measured side by side with the emulator's own
//! speed, in one run, so that the ratios hold on any machine.
//!
//! - `lookup_subscribe_vs_getitem_ratio_p50|p99`, `lookup_publish_…`: a
//!   lookup through the local HTTP API against a bare GetItem on the same
//!   emulator, interleaved one for one;
//! - `ddb_calls_per_subscribe_avg`: DynamoDB requests per subscribe, warm;
//! - `lookup_subscribe_concurrent_p99_ms` beside `getitem_concurrent_p99_ms`:
//!   subscribe lookups from `CONCURRENCY` callers at once, spread over
//!   `PROCESSES` API states served side by side in this process (each with
//!   its own caches and clients, as Lambda instances have), each caller
//!   alternating with a bare GetItem,
//!   so both see the same load;
//! - `heartbeats_per_s_concurrent` beside `emulator_updateitem_per_s` (and
//!   `emulator_getitem_per_s`): heartbeats accepted per second from
//!   `CONCURRENCY` callers over the same processes, against the rate the
//!   emulator serves bare writes (reads) with as many callers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::StatusCode;
use serde_json::json;
use streamfleet_dynamo::CallCounter;
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::rates::completions_per_s;
use streamfleet_scenarios::{another_process, group_spec, spawn_counted_app, TestApp};

const GROUP: &str = "bench";
const EDGES: usize = 20;
const STREAMS: usize = 50;
const SAMPLES: usize = 600;
const REPORT_EVERY: Duration = Duration::from_secs(3);
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(5);
const CONCURRENCY: usize = 16;
/// API processes the concurrent callers are spread over.
const PROCESSES: usize = 4;
const NODES_PER_WORKER: usize = 16;

struct Fleet {
    nodes: Vec<(String, String, Report)>,
    counter: CallCounter,
    /// DynamoDB requests the nodes' reports made during the samples.
    reports: AtomicU64,
}

async fn setup(app: &TestApp, counter: CallCounter) -> Fleet {
    let mut spec = group_spec(GROUP);
    spec["apps"] = json!(["live"]);
    // Origins with room for every new stream the first-publish samples open.
    spec["roles"]["origin"]["launch"]["connectionCapacity"] = json!(10_000);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    let mut nodes = Vec::new();
    for i in 0..2 {
        let id = format!("o-{i}");
        let report = Report {
            capacity: Some(10_000),
            ..Report::new("origin", "eu-west-1", &format!("198.51.100.{i}"))
        };
        let token = app.enroll(GROUP, &id, &report).await;
        nodes.push((id, token, report));
    }
    for i in 0..EDGES {
        let id = format!("e-{i}");
        let report = Report {
            subscribers: (i as u32 * 37) % 700,
            ..Report::new("edge", "eu-west-1", &format!("203.0.113.{i}"))
        };
        let token = app.enroll(GROUP, &id, &report).await;
        nodes.push((id, token, report));
    }
    for s in 0..STREAMS {
        assert_eq!(
            app.lookup(&format!("/v1/streams/live/s{s}?action=publish")).await.status(),
            StatusCode::OK
        );
    }
    let streams: Vec<String> = (0..STREAMS).map(|s| format!("live/s{s}")).collect();
    for (id, _, report) in nodes.iter_mut().filter(|(id, _, _)| id.starts_with("o-")) {
        report.streams = if id == "o-0" { streams.clone() } else { vec![] };
    }
    let fleet = Fleet { nodes, counter, reports: AtomicU64::new(0) };
    refresh(app, &fleet).await;
    fleet
}

/// Every node reports once, so that none goes stale during the run.
async fn refresh(app: &TestApp, fleet: &Fleet) {
    for (id, token, report) in &fleet.nodes {
        app.report(GROUP, id, token, report).await;
    }
}

/// A GetItem of the kind a lookup makes: one stream's route item.
async fn bare_getitem(client: &aws_sdk_dynamodb::Client, table: &str, stream: usize) {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("STREAM#{GROUP}#live/s{}", stream % STREAMS)))
        .key("sk", AttributeValue::S("ROUTE".into()))
        .send()
        .await
        .expect("GetItem answers")
        .item
        .expect("the route exists");
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// Lookups of `path(i)` interleaved with bare GetItems; (lookup, getitem) samples.
async fn side_by_side(
    app: &TestApp,
    fleet: &Fleet,
    client: &aws_sdk_dynamodb::Client,
    path: impl Fn(usize) -> String,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut lookups, mut getitems) = (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
    let mut reported = Instant::now();
    for i in 0..SAMPLES {
        // Nodes report every few seconds, so that none goes stale on a slow
        // machine (outside the timings and the call count).
        if i == 0 || reported.elapsed() >= REPORT_EVERY {
            reported = Instant::now();
            let before = fleet.counter.count();
            refresh(app, fleet).await;
            fleet.reports.fetch_add(fleet.counter.count() - before, Ordering::Relaxed);
        }
        // Alternate which goes first, so neither always meets a warmer emulator.
        for lookup_first in [i % 2 == 0, i % 2 != 0] {
            if lookup_first {
                let started = Instant::now();
                let response = app.lookup(&path(i)).await;
                lookups.push(started.elapsed());
                let status = response.status();
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{}: {}",
                    path(i),
                    response.text().await.unwrap_or_default()
                );
            } else {
                let started = Instant::now();
                bare_getitem(client, &app.config.table, i).await;
                getitems.push(started.elapsed());
            }
        }
    }
    (lookups, getitems)
}

fn print_ratios(name: &str, mut lookups: Vec<Duration>, mut getitems: Vec<Duration>) {
    for (label, p) in [("p50", 0.50), ("p99", 0.99)] {
        let (lookup, getitem) = (percentile(&mut lookups, p), percentile(&mut getitems, p));
        println!("{name}_vs_getitem_ratio_{label}: {:.3}", lookup.as_secs_f64() / getitem.as_secs_f64());
        eprintln!(
            "  ({name} {label} {:.2} ms, GetItem {label} {:.2} ms)",
            lookup.as_secs_f64() * 1e3,
            getitem.as_secs_f64() * 1e3
        );
    }
}

/// Subscribe lookups and bare GetItems from `CONCURRENCY` callers for the
/// window, caller `i` on process `i % PROCESSES`, each alternating the two:
/// (lookup, getitem) latencies.
async fn concurrent_latencies(
    processes: &[Arc<TestApp>],
    client: &aws_sdk_dynamodb::Client,
) -> (Vec<Duration>, Vec<Duration>) {
    let deadline = Instant::now() + THROUGHPUT_WINDOW;
    let callers: Vec<_> = (0..CONCURRENCY)
        .map(|caller| {
            let (app, client) = (processes[caller % processes.len()].clone(), client.clone());
            tokio::spawn(async move {
                let (mut lookups, mut getitems) = (Vec::new(), Vec::new());
                let mut round = caller;
                while Instant::now() < deadline {
                    let path = format!("/v1/streams/live/s{}?action=subscribe", round % STREAMS);
                    let started = Instant::now();
                    let status = app.lookup(&path).await.status();
                    lookups.push(started.elapsed());
                    assert_eq!(status, StatusCode::OK, "{path}");
                    let started = Instant::now();
                    bare_getitem(&client, &app.config.table, round).await;
                    getitems.push(started.elapsed());
                    round += CONCURRENCY;
                }
                (lookups, getitems)
            })
        })
        .collect();
    let (mut lookups, mut getitems) = (Vec::new(), Vec::new());
    for caller in callers {
        let (l, g) = caller.await.expect("a caller finishes");
        lookups.extend(l);
        getitems.extend(g);
    }
    (lookups, getitems)
}

fn print_concurrent_p99(mut lookups: Vec<Duration>, mut getitems: Vec<Duration>) {
    let (lookup, getitem) = (percentile(&mut lookups, 0.99), percentile(&mut getitems, 0.99));
    println!("lookup_subscribe_concurrent_p99_ms: {:.2}", lookup.as_secs_f64() * 1e3);
    println!("getitem_concurrent_p99_ms: {:.2}", getitem.as_secs_f64() * 1e3);
    println!(
        "lookup_subscribe_concurrent_vs_getitem_p99_ratio: {:.3}",
        lookup.as_secs_f64() / getitem.as_secs_f64()
    );
    eprintln!("  ({} lookups and {} GetItems from {CONCURRENCY} callers)", lookups.len(), getitems.len());
}

/// Runs `task` from `CONCURRENCY` workers for the window; returns completions per second.
async fn rate<F, Fut>(task: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    completions_per_s(CONCURRENCY, THROUGHPUT_WINDOW, task).await
}

#[tokio::main]
async fn main() {
    let (app, counter) = spawn_counted_app(Tuning::default()).await;
    let fleet = setup(&app, counter.clone()).await;
    let client = app.dynamodb().await;
    for i in 0..50 {
        app.lookup(&format!("/v1/streams/live/s{}?action=subscribe", i % STREAMS)).await;
        bare_getitem(&client, &app.config.table, i).await;
    }

    refresh(&app, &fleet).await;
    let before = counter.count();
    let (lookups, getitems) = side_by_side(&app, &fleet, &client, |i| {
        format!("/v1/streams/live/s{}?action=subscribe", i % STREAMS)
    })
    .await;
    let calls = counter.count() - before - fleet.reports.load(Ordering::Relaxed);
    println!("ddb_calls_per_subscribe_avg: {:.3}", calls as f64 / SAMPLES as f64);
    print_ratios("lookup_subscribe", lookups, getitems);

    refresh(&app, &fleet).await;
    let (lookups, getitems) =
        side_by_side(&app, &fleet, &client, |i| format!("/v1/streams/live/s{}?action=publish", i % STREAMS))
            .await;
    print_ratios("lookup_publish", lookups, getitems);

    refresh(&app, &fleet).await;
    let (mut first, mut getitems) =
        side_by_side(&app, &fleet, &client, |i| format!("/v1/streams/live/new-{i}?action=publish")).await;
    let ratio = percentile(&mut first, 0.5).as_secs_f64() / percentile(&mut getitems, 0.5).as_secs_f64();
    println!("lookup_first_publish_vs_getitem_ratio_p50: {ratio:.3}");

    // Subscribe lookups and bare GetItems from concurrent callers over
    // several processes: the p99 each sees under the same load.
    refresh(&app, &fleet).await;
    let mut processes = vec![Arc::new(app)];
    for _ in 1..PROCESSES {
        processes.push(Arc::new(another_process(&processes[0]).await));
    }
    let (lookups, getitems) = concurrent_latencies(&processes, &client).await;
    print_concurrent_p99(lookups, getitems);
    let app = Arc::try_unwrap(processes.swap_remove(0)).ok().expect("the first process is not shared");

    // Heartbeats from nodes of their own, so that no two workers race on
    // one node's replay guard; sixteen per worker, so that each node
    // reports about once a second or less, as nodes do (a sooner report
    // costs a second write).
    let mut reporters = Vec::new();
    for i in 0..CONCURRENCY * NODES_PER_WORKER {
        let (id, report) = (format!("hb-{i}"), Report::new("edge", "eu-west-1", &format!("192.0.2.{i}")));
        let token = app.enroll(GROUP, &id, &report).await;
        reporters.push((id, token, report));
    }
    let app = Arc::new(app);
    processes.insert(0, app.clone());
    let (processes, reporters) = (Arc::new(processes), Arc::new(reporters));
    let heartbeats = {
        let (processes, reporters) = (processes.clone(), reporters.clone());
        rate(move |worker, round| {
            let (processes, reporters) = (processes.clone(), reporters.clone());
            async move {
                let (id, token, report) =
                    &reporters[worker + (round as usize % NODES_PER_WORKER) * CONCURRENCY];
                let app = &processes[worker % PROCESSES];
                app.heartbeat(GROUP, id, token, &report.json()).await.status() == StatusCode::OK
            }
        })
        .await
    };
    let getitems = {
        let (client, table) = (client.clone(), app.config.table.clone());
        rate(move |worker, round| {
            let (client, table) = (client.clone(), table.clone());
            async move {
                bare_getitem(&client, &table, worker + round as usize).await;
                true
            }
        })
        .await
    };
    let updates = {
        let (client, table) = (client.clone(), app.config.table.clone());
        rate(move |worker, round| {
            let (client, table) = (client.clone(), table.clone());
            async move {
                client
                    .update_item()
                    .table_name(&table)
                    .key("pk", AttributeValue::S(format!("BENCH#{worker}")))
                    .key("sk", AttributeValue::S("WRITE".into()))
                    .update_expression("SET #n = :n")
                    .expression_attribute_names("#n", "round")
                    .expression_attribute_values(":n", AttributeValue::N(round.to_string()))
                    .send()
                    .await
                    .is_ok()
            }
        })
        .await
    };
    println!("heartbeats_per_s_concurrent: {heartbeats:.0}");
    println!("emulator_updateitem_per_s: {updates:.0}");
    println!("emulator_getitem_per_s: {getitems:.0}");
    println!("heartbeats_vs_getitem_throughput_ratio: {:.3}", heartbeats / getitems);
    println!("heartbeats_vs_updateitem_throughput_ratio: {:.3}", heartbeats / updates);
}
