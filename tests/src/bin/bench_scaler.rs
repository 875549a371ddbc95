//! `make bench`: the scaler's tick over many groups, the way it runs on AWS
//! (see docs/scaler.md): a scheduled invocation orders one tick per group on
//! the tick queue, and ten scaler function states (the templates'
//! `ScalerConcurrency`), each with its own clients and leases, consume it
//! ten messages a batch and ten ticks at once, against the emulator.
//!
//! - `tick_1000_groups_s` and `tick_10000_groups_s`: from the scheduled
//!   invocation's start to the last group ticked, over that many groups of
//!   20 nodes (`STREAMFLEET_BENCH_GROUPS` sets other sizes, e.g. "200");
//! - `ddb_calls_per_group_tick`: the store's DynamoDB requests per group
//!   (the listing included; the simulated cloud's reads, which stand for
//!   Auto Scaling's calls on AWS, apart), which must not grow with the
//!   nodes of a group;
//! - `tick_vs_emulator_bound_ratio`: the tick's time over the time the
//!   emulator needs for the same calls made bare in the same run: the
//!   listing replayed page by page; the groups' requests recorded as sent
//!   and sent again straight to the emulator, each group's in order and as
//!   many groups at once as the consumers tick (a sample of 300 groups,
//!   scaled to all); the queue's calls at the rate the emulator serves a
//!   send, receive and delete of ten on a queue holding half the orders
//!   (the tick queue's average: it fills to all of them and drains to
//!   none), from as many callers as consumers (the larger ratio of the
//!   sizes).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use futures::stream::{self, StreamExt};
use serde_json::json;
use streamfleet_core::group::{GroupStatus, NodeGroup, NodeGroupSpec, Role};
use streamfleet_core::names::{GroupName, NodeId, Region};
use streamfleet_core::node::{Node, NodeLoad, NodeState};
use streamfleet_dynamo::DynamoStore;
use streamfleet_runtime::{app_state_with, aws_config, Config, Tuning};
use streamfleet_scenarios::fresh_config_with;
use streamfleet_scenarios::rates::completions_per_s;
use streamfleet_scenarios::scaling::simulated_group;
use streamfleet_scenarios::sdk_seam::{self, CallsByOperation, Seam, SIMULATED_CLOUD};
use time::OffsetDateTime;

const NODES_PER_GROUP: usize = 20;
/// Scaler function states consuming the queue (`ScalerConcurrency`).
const CONSUMERS: usize = 10;
/// Ticks in flight at once: each consumer ticks a batch's ten orders at once.
const AT_ONCE: usize = CONSUMERS * 10;
/// Groups whose requests are replayed bare (a few seconds' worth).
const REPLAYED_GROUPS: usize = 300;
/// How long each of the emulator's rates is measured.
const RATE_WINDOW: Duration = Duration::from_secs(4);

fn group(i: usize, now: OffsetDateTime) -> NodeGroup {
    let mut spec = simulated_group(&group_name(i), 30);
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

fn group_name(i: usize) -> String {
    format!("g-{i:05}")
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

/// Bulk writes, not the API: the emulator's transactions copy every table,
/// which at this size takes longer than the benchmark itself.
async fn load(loader: Arc<DynamoStore>, groups: usize) {
    let now = OffsetDateTime::now_utc();
    let chunks: Vec<Vec<usize>> = (0..groups).collect::<Vec<_>>().chunks(25).map(<[usize]>::to_vec).collect();
    stream::iter(chunks)
        .for_each_concurrent(8, |chunk| {
            let loader = loader.clone();
            async move {
                let batch: Vec<NodeGroup> = chunk.iter().map(|i| group(*i, now)).collect();
                loader.import_groups(&batch).await.expect("groups stored");
                let fleet: Vec<Node> = batch.iter().flat_map(|g| nodes(g.name(), now)).collect();
                loader.import_nodes(&fleet, now + Duration::from_secs(3600)).await.expect("nodes stored");
            }
        })
        .await;
}

/// What one size's tick took and called.
struct Tick {
    elapsed: f64,
    /// Receives that brought orders (the empty ones cost the emulator
    /// little and are not counted in the bound).
    batches: u64,
    listing: BTreeMap<String, u64>,
    consuming: BTreeMap<String, u64>,
}

fn minus(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The scheduled invocation, then the consumers until every group ticked.
async fn fanned_out_tick(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    calls: &CallsByOperation,
    groups: usize,
) -> Tick {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    // Nothing is delivered twice within the run.
    let queue = streamfleet_local::tick_queue::create_queue(
        &sqs,
        &format!("{}-ticks", config.table),
        Duration::from_secs(900),
    )
    .await
    .expect("the tick queue");
    // The schedule's state: one tick time, the groups' orders spread over a second.
    let scheduled = Config {
        tick_queue: Some(queue.clone()),
        tuning: Tuning {
            tick_every: Duration::from_secs(1),
            schedule_every: Duration::from_secs(1),
            ..config.tuning
        },
        ..config.clone()
    };
    let dispatcher =
        app_state_with(&scheduled, sdk, aws_sdk_dynamodb::Client::new(sdk)).expect("a scaler state");
    // The consumers' states: no order goes stale within the run.
    let consuming = Config {
        tuning: Tuning { schedule_every: Duration::from_secs(3600), ..config.tuning },
        ..config.clone()
    };
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            Arc::new(
                app_state_with(&consuming, sdk, aws_sdk_dynamodb::Client::new(sdk)).expect("a scaler state"),
            )
        })
        .collect();

    let before = calls.counts();
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let (ticks, failed, batches) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    // About 20 s per 1,000 groups on the emulator (85 s on moto as released,
    // without scripts/moto_speedups.py): room for either, and a stuck run
    // still ends.
    let give_up = Duration::from_secs(60 + 500 * groups as u64 / 1000);
    let workers: Vec<_> = consumers
        .into_iter()
        .map(|state| {
            let (sqs, queue, done, ticks, failed, batches) =
                (sqs.clone(), queue.clone(), done.clone(), ticks.clone(), failed.clone(), batches.clone());
            tokio::spawn(async move {
                while done.load(Ordering::Relaxed) < groups {
                    assert!(started.elapsed() < give_up, "the orders were not all carried out");
                    // Short polls: the emulator wakes every long poll at
                    // each message sent and has it scan the whole queue,
                    // which at 10,000 orders outlasts the call's timeout.
                    let outcome = streamfleet_local::tick_queue::consume_once(
                        &sqs,
                        &queue,
                        &state.scaler,
                        Duration::ZERO,
                    )
                    .await
                    .expect("the queue answers");
                    if outcome.report.groups == 0 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    } else {
                        batches.fetch_add(1, Ordering::Relaxed);
                    }
                    ticks.fetch_add(u64::from(outcome.report.ticks), Ordering::Relaxed);
                    failed.fetch_add(u64::from(outcome.report.failed), Ordering::Relaxed);
                    done.fetch_add(outcome.report.groups as usize, Ordering::Relaxed);
                }
                started.elapsed()
            })
        })
        .collect();
    let report = dispatcher.scaler.dispatch().await.expect("the orders are sent").expect("a queue");
    let dispatched = started.elapsed();
    let listed = calls.counts();
    assert_eq!(
        (report.groups as usize, report.ordered as usize, report.unsent),
        (groups, groups, 0),
        "{report:?}"
    );
    let mut elapsed = Duration::ZERO;
    for worker in workers {
        elapsed = elapsed.max(worker.await.expect("a consumer finishes"));
    }
    // Every order ticked its group: a bench of failing ticks is no figure.
    let (ticks, failed) = (ticks.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!((ticks, failed), (groups as u64, 0), "every group ticked once, none failed");
    let after = calls.counts();
    eprintln!(
        "  ({groups} groups: ordered in {:.2} s, all ticked in {:.2} s)",
        dispatched.as_secs_f64(),
        elapsed.as_secs_f64(),
    );
    Tick {
        elapsed: elapsed.as_secs_f64(),
        batches: batches.load(Ordering::Relaxed),
        listing: minus(&listed, &before),
        consuming: minus(&after, &listed),
    }
}

/// A request of the tick as it was sent, to be sent again bare.
#[derive(Debug, Clone)]
struct Sent {
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Counts every request by operation and, while `recording`, keeps the
/// DynamoDB requests on a group's items, by group.
#[derive(Debug, Clone)]
struct Recorder {
    calls: CallsByOperation,
    recording: Arc<AtomicBool>,
    sent: Arc<Mutex<BTreeMap<String, Vec<Sent>>>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            calls: CallsByOperation::tagging(sdk_seam::simulated_cloud_reads),
            recording: Arc::new(AtomicBool::new(false)),
            sent: Arc::default(),
        }
    }
}

/// The group whose items a request names (`GROUP#g-00042`).
fn group_in(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"GROUP#g-";
    let at = body.windows(KEY.len()).position(|w| w == KEY)?;
    body.get(at..at + KEY.len() + 5).map(|key| String::from_utf8_lossy(key).into_owned())
}

impl Seam for Recorder {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let dynamodb = request.headers().get("x-amz-target").is_some_and(|t| t.starts_with("DynamoDB"));
        let body = request.body().bytes().unwrap_or_default();
        if let Some(group) = group_in(body).filter(|_| dynamodb && self.recording.load(Ordering::Relaxed)) {
            let sent = Sent {
                uri: request.uri().to_owned(),
                headers: request.headers().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
                body: body.to_vec(),
            };
            self.sent.lock().expect("no panic while recording").entry(group).or_default().push(sent);
        }
        self.calls.call(request, real)
    }
}

/// The tick's requests on groups sent again as they were, straight to the
/// emulator: each group's in their order, `AT_ONCE` groups at a time (as
/// the consumers tick them). Seconds, and the answers that were not 200
/// (a condition the first sending changed).
async fn replay(sent: BTreeMap<String, Vec<Sent>>) -> (f64, usize) {
    let http = reqwest::Client::new();
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    stream::iter(sent.into_values())
        .for_each_concurrent(AT_ONCE, |requests| {
            let (http, refused) = (http.clone(), refused.clone());
            async move {
                for sent in requests {
                    let mut request = http.post(&sent.uri).body(sent.body);
                    for (name, value) in &sent.headers {
                        if !["host", "content-length"].contains(&name.as_str()) {
                            request = request.header(name, value);
                        }
                    }
                    let answer = request.send().await.expect("the emulator answers");
                    if !answer.status().is_success() {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    answer.bytes().await.expect("the answer is read");
                }
            }
        })
        .await;
    (started.elapsed().as_secs_f64(), refused.load(Ordering::Relaxed))
}

/// Calls per second of a queue round (send ten, receive ten, delete them)
/// from the consumers' number of callers, on one queue holding `backlog`
/// messages, as the tick queue holds orders (the emulator's calls cost in
/// proportion to the messages a queue holds).
async fn sqs_rate(config: &Config, sdk: &aws_config::SdkConfig, backlog: usize) -> f64 {
    use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let name = format!("{}-bare", config.table);
    let queue = streamfleet_local::tick_queue::create_queue(&sqs, &name, Duration::from_secs(900))
        .await
        .expect("a queue");
    let batch = |round: usize| -> Vec<SendMessageBatchRequestEntry> {
        (0..10)
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(format!("{round}"))
                    .build()
                    .unwrap()
            })
            .collect()
    };
    stream::iter(0..backlog.div_ceil(10))
        .for_each_concurrent(16, |round| {
            let send = sqs.send_message_batch().queue_url(&queue).set_entries(Some(batch(round))).send();
            async move {
                send.await.expect("sent");
            }
        })
        .await;
    let rounds = completions_per_s(CONSUMERS, RATE_WINDOW, move |_, round| {
        let (sqs, queue, entries) = (sqs.clone(), queue.clone(), batch(round as usize));
        async move {
            sqs.send_message_batch().queue_url(&queue).set_entries(Some(entries)).send().await.expect("sent");
            let received = sqs
                .receive_message()
                .queue_url(&queue)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("received");
            let entries: Vec<_> = received
                .messages()
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap())
                        .build()
                        .unwrap()
                })
                .collect();
            if !entries.is_empty() {
                sqs.delete_message_batch()
                    .queue_url(&queue)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .expect("deleted");
            }
            true
        }
    })
    .await;
    rounds * 3.0
}

/// The listing replayed bare: the same pages of the groups' index, one
/// after the other as the scheduled invocation reads them.
async fn bare_listing(config: &Config, sdk: &aws_config::SdkConfig) -> f64 {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), config.table.clone());
    let started = Instant::now();
    let mut after = None;
    loop {
        let page = streamfleet_core::ports::GroupStore::list_groups(
            &store,
            after.as_ref(),
            streamfleet_core::page::PageSize::WALK,
        )
        .await
        .expect("the groups listed");
        match page.next {
            Some(next) => after = Some(next),
            None => return started.elapsed().as_secs_f64(),
        }
    }
}

fn sqs_op(op: &str) -> bool {
    op.contains("Message") || op.contains("Queue")
}

fn store_op(op: &str) -> bool {
    !sqs_op(op) && !op.contains(SIMULATED_CLOUD)
}

/// The tick's time if each call took what the emulator needs for it bare:
/// the listing and the groups' requests as replayed, the queue's calls
/// (receives that brought orders; sends; deletes) at its measured rate.
fn bound(tick: &Tick, listing_s: f64, replay_s: f64, sqs_per_s: f64) -> f64 {
    let queue_calls: u64 = tick
        .listing
        .iter()
        .chain(&tick.consuming)
        .filter(|(op, _)| sqs_op(op) && op.as_str() != "ReceiveMessage")
        .map(|(_, n)| n)
        .sum();
    listing_s + replay_s + (queue_calls + tick.batches) as f64 / sqs_per_s
}

fn store_calls(calls: &BTreeMap<String, u64>) -> u64 {
    calls.iter().filter(|(op, _)| store_op(op)).map(|(_, n)| n).sum()
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("STREAMFLEET_BENCH_GROUPS")
        .unwrap_or_else(|_| "1000 10000".to_owned())
        .split_whitespace()
        .map(|size| size.parse().expect("group counts"))
        .collect();
    // Loading takes a while: the nodes must not go stale before the tick.
    let tuning = Tuning {
        stale_after: Duration::from_secs(3600),
        dead_after: Duration::from_secs(7200),
        ..Tuning::default()
    };
    let (mut worst_ratio, mut worst_calls) = (0.0_f64, 0.0_f64);
    for groups in sizes {
        let config = fresh_config_with(tuning).await;
        let recorder = Recorder::new();
        let sdk = sdk_seam::through(&aws_config(&config).await, recorder.clone());
        let loading = Instant::now();
        load(Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone())), groups)
            .await;
        eprintln!(
            "  (setup: {groups} groups × {NODES_PER_GROUP} nodes in {:.1} s)",
            loading.elapsed().as_secs_f64()
        );

        recorder.recording.store(true, Ordering::Relaxed);
        let tick = fanned_out_tick(&config, &sdk, &recorder.calls, groups).await;
        recorder.recording.store(false, Ordering::Relaxed);
        let listing_s = bare_listing(&config, &sdk).await;
        let sent = std::mem::take(&mut *recorder.sent.lock().expect("no panic while recording"));
        let requests: usize = sent.values().map(Vec::len).sum();
        // A sample of the groups is enough for the emulator's rate.
        let sample: BTreeMap<_, _> = sent.into_iter().take(REPLAYED_GROUPS).collect();
        let sampled: usize = sample.values().map(Vec::len).sum();
        let (sample_s, refused) = replay(sample).await;
        let replay_s = sample_s * requests as f64 / sampled as f64;
        // The tick queue fills to the orders and drains to none: on average it
        // holds half of them.
        let sqs_per_s = sqs_rate(&config, &sdk, groups / 2).await;
        let bound_s = bound(&tick, listing_s, replay_s, sqs_per_s);
        let per_group = (store_calls(&tick.listing) + store_calls(&tick.consuming)) as f64 / groups as f64;
        eprintln!("  (calls while ordering {:?}; then {:?})", tick.listing, tick.consuming);
        eprintln!(
            "  (bare: listing {listing_s:.2} s, the groups' {requests} calls {replay_s:.2} s (from {sampled} \
             replayed, {refused} refused), queue {sqs_per_s:.0} calls/s; bound {bound_s:.2} s)"
        );
        println!("tick_{groups}_groups_s: {:.2}", tick.elapsed);
        worst_ratio = worst_ratio.max(tick.elapsed / bound_s);
        worst_calls = worst_calls.max(per_group);
    }
    println!("ddb_calls_per_group_tick: {worst_calls:.2}");
    println!("tick_vs_emulator_bound_ratio: {worst_ratio:.3}");
}
