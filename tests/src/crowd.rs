//! A crowd of viewers against several independent lookup processes, as
//! Lambda runs them: every process has its own caches and its own DynamoDB
//! client, all over one table. Edges report every `report_every` what they
//! really hold (a viewer connects the moment its answer arrives), so seats
//! are counted, reset and re-counted while the crowd arrives.
//!
//! What it measures, per edge and report:
//! - the sessions placed on the edge **within** the report's life: answers
//!   to requests sent after the report was stored and received before the
//!   next one was built. Those seats can only have been taken against that
//!   report, so their count never exceeds its room unless seats leak;
//!   requests that straddle a report are left out of both, which keeps the
//!   figure a lower bound of the truth that can still fail;
//! - the viewers each edge ends with, against its capacity: the user's
//!   truth, joins in flight included (what the ceiling's headroom is for).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::nodes::Report;
use crate::{group_spec, serve, TestApp};

/// The shape of one crowd.
#[derive(Debug, Clone)]
pub struct Crowd {
    pub lookup_processes: usize,
    pub in_flight: usize,
    pub subscribes: usize,
    /// Each edge's capacity and the viewers it already holds.
    pub edges: Vec<(u32, u32)>,
    pub ceiling_pct: u8,
    pub report_every: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct CrowdOutcome {
    /// 200 answers.
    pub seated: usize,
    /// 503 `no_room` answers.
    pub refused: usize,
    /// Any other answer.
    pub failed: usize,
    /// What the fleet's reports could seat at all, from its first reports:
    /// Σ (limit − held); viewers never leave during a crowd.
    pub room: u32,
    /// The most sessions placed within one report's life, as % of its room.
    pub overfill_max_pct: f64,
    /// The fullest edge at the end, as % of its capacity.
    pub occupancy_max_pct: f64,
    /// The fullest edge at the end, as % of its limit under the ceiling.
    pub limit_max_pct: f64,
    pub reports: usize,
    /// DynamoDB requests of the lookup processes during the crowd.
    pub ddb_calls: u64,
}

impl CrowdOutcome {
    /// Share of what the fleet could seat that was seated.
    pub fn seated_pct(&self, subscribes: usize) -> f64 {
        let could = (self.room as usize).min(subscribes).max(1);
        100.0 * self.seated.min(could) as f64 / could as f64
    }
}

const GROUP: &str = "crowd";

/// One report of an edge: when it was built and when it was stored, and
/// the room it left.
struct Reported {
    built: Instant,
    stored: Instant,
    room: u32,
}

struct Edge {
    id: String,
    token: String,
    capacity: u32,
    limit: u32,
    /// (request sent, answer received) of every viewer placed on it.
    viewers: Mutex<Vec<(Instant, Instant)>>,
    held_before: u32,
    reports: Mutex<Vec<Reported>>,
}

impl Edge {
    fn holds(&self) -> u32 {
        self.held_before + self.viewers.lock().unwrap().len() as u32
    }

    fn report(&self, host: &str) -> Report {
        Report {
            subscribers: self.holds(),
            capacity: Some(self.capacity),
            streams: vec!["live/crowd".into()],
            ..Report::new("edge", "eu-west-1", host)
        }
    }
}

/// Runs `crowd` on a fresh table; the operator's and the nodes' requests
/// go to another process.
pub async fn run(crowd: &Crowd) -> CrowdOutcome {
    let tuning = streamfleet_runtime::Tuning {
        pack_ceiling_pct: crowd.ceiling_pct,
        ..streamfleet_runtime::Tuning::default()
    };
    let config = crate::fresh_config_with(tuning).await;
    let counter = streamfleet_dynamo::CallCounter::default();
    let mut processes = Vec::new();
    for _ in 0..crowd.lookup_processes.max(1) {
        // Each process its own SDK client and caches, as a Lambda instance.
        let sdk = streamfleet_runtime::aws_config(&config).await;
        let client = counter.instrument(&aws_sdk_dynamodb::Client::new(&sdk));
        let state =
            streamfleet_runtime::app_state_with(&config, &sdk, client).expect("application state builds");
        processes.push(serve(config.clone(), state).await);
    }
    // The operator's and the nodes' requests go to a process of their own,
    // so that the count is the lookups' alone.
    let admin = &serve(config.clone(), crate::state(&config).await).await;
    let mut spec = group_spec(GROUP);
    spec["apps"] = json!(["live"]);
    assert_eq!(admin.create_group(&spec).await.status(), StatusCode::CREATED);
    let origin = Report {
        publishers: 1,
        streams: vec!["live/crowd".into()],
        ..Report::new("origin", "eu-west-1", "198.51.100.1")
    };
    let origin_token = admin.enroll(GROUP, "o-1", &origin).await;

    let mut edges = Vec::new();
    for (i, &(capacity, held)) in crowd.edges.iter().enumerate() {
        let id = format!("e-{i}");
        let report = Report {
            subscribers: held,
            capacity: Some(capacity),
            streams: vec!["live/crowd".into()],
            ..Report::new("edge", "eu-west-1", &host(i))
        };
        let token = admin.enroll(GROUP, &id, &report).await;
        let limit = streamfleet_core::seats::seat_limit(capacity, crowd.ceiling_pct);
        let edge = Edge {
            id,
            token,
            capacity,
            limit,
            viewers: Mutex::new(Vec::new()),
            held_before: held,
            reports: Mutex::new(Vec::new()),
        };
        edges.push(Arc::new(edge));
    }
    let room: u32 = edges.iter().map(|e| e.limit.saturating_sub(e.held_before)).sum();
    // Every edge reports once more now, so that each has a report on record.
    for (i, edge) in edges.iter().enumerate() {
        report(admin, edge, &host(i)).await;
    }
    admin.report(GROUP, "o-1", &origin_token, &origin).await;

    let edges = Arc::new(edges);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reporters = start_reporters(admin, &edges, origin_token, origin, crowd.report_every, &done);

    let by_id: HashMap<String, usize> = edges.iter().enumerate().map(|(i, e)| (e.id.clone(), i)).collect();
    let processes = Arc::new(processes);
    let calls_before = counter.count();
    // Scaled down from the answer's own (seconds): one report interval and
    // a little, at most two seconds.
    let retry_after = (crowd.report_every + Duration::from_millis(200)).min(Duration::from_secs(2));
    let answers: Vec<(StatusCode, Option<String>, Instant, Instant)> = stream::iter(0..crowd.subscribes)
        .map(|i| {
            let processes = processes.clone();
            async move {
                let app = &processes[i % processes.len()];
                let mut sent = Instant::now();
                let mut response = app.lookup("/v1/streams/live/crowd?action=subscribe").await;
                if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                    // A refused player retries after its Retry-After, once
                    // here: by then a report has given back the seats the
                    // fleet counted twice (`seats::room`).
                    tokio::time::sleep(retry_after).await;
                    sent = Instant::now();
                    response = app.lookup("/v1/streams/live/crowd?action=subscribe").await;
                }
                let received = Instant::now();
                let status = response.status();
                let node = if status == StatusCode::OK {
                    let body: Value = response.json().await.expect("a JSON answer");
                    body["nodeId"].as_str().map(str::to_owned)
                } else {
                    None
                };
                (status, node, sent, received)
            }
        })
        .buffer_unordered(crowd.in_flight.max(1))
        .inspect(|(_, node, sent, received)| {
            // The viewer connects as soon as it has its answer.
            if let Some(edge) = node.as_ref().and_then(|id| by_id.get(id)) {
                edges[*edge].viewers.lock().unwrap().push((*sent, *received));
            }
        })
        .collect()
        .await;
    let outcome_calls = counter.count() - calls_before;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for reporter in reporters {
        // Between reports, a reporter sleeps a whole interval: no need to wait.
        reporter.abort();
        let _ = reporter.await;
    }

    let mut outcome = CrowdOutcome { room, ddb_calls: outcome_calls, ..CrowdOutcome::default() };
    for (status, node, _, _) in &answers {
        match *status {
            StatusCode::OK if node.as_deref().is_some_and(|n| by_id.contains_key(n)) => outcome.seated += 1,
            StatusCode::SERVICE_UNAVAILABLE => outcome.refused += 1,
            _ => outcome.failed += 1,
        }
    }
    let end = Instant::now();
    for edge in edges.iter() {
        let viewers = edge.viewers.lock().unwrap();
        let reports = edge.reports.lock().unwrap();
        outcome.reports += reports.len();
        for (k, report) in reports.iter().enumerate() {
            let next_built = reports.get(k + 1).map_or(end, |next| next.built);
            let within = viewers
                .iter()
                .filter(|(sent, received)| *sent >= report.stored && *received <= next_built)
                .count();
            let pct = if report.room == 0 {
                if within == 0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                100.0 * within as f64 / f64::from(report.room)
            };
            outcome.overfill_max_pct = outcome.overfill_max_pct.max(pct);
        }
        let holds = edge.held_before + viewers.len() as u32;
        outcome.occupancy_max_pct =
            outcome.occupancy_max_pct.max(100.0 * f64::from(holds) / f64::from(edge.capacity));
        outcome.limit_max_pct =
            outcome.limit_max_pct.max(100.0 * f64::from(holds) / f64::from(edge.limit.max(1)));
    }
    outcome
}

fn host(i: usize) -> String {
    format!("203.0.113.{}", i + 1)
}

/// Reports `edge` as it is now; records when it was built and stored.
async fn report(app: &TestApp, edge: &Edge, host: &str) {
    let built = Instant::now();
    let report = edge.report(host);
    app.report(GROUP, &edge.id, &edge.token, &report).await;
    let stored = Instant::now();
    let room = edge.limit.saturating_sub(report.subscribers);
    edge.reports.lock().unwrap().push(Reported { built, stored, room });
}

fn start_reporters(
    app: &TestApp,
    edges: &Arc<Vec<Arc<Edge>>>,
    origin_token: String,
    origin: Report,
    every: Duration,
    done: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    let app = Arc::new(TestApp { url: app.url.clone(), config: app.config.clone(), http: app.http.clone() });
    let count = edges.len() + 1;
    for i in 0..count {
        let (app, edges, done) = (app.clone(), edges.clone(), done.clone());
        let (origin_token, origin) = (origin_token.clone(), origin.clone());
        handles.push(tokio::spawn(async move {
            // Spread the reports over the interval, as real nodes' are.
            tokio::time::sleep(every.mul_f64(i as f64 / count as f64)).await;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                match edges.get(i) {
                    Some(edge) => report(&app, edge, &host(i)).await,
                    None => {
                        app.report(GROUP, "o-1", &origin_token, &origin).await;
                    }
                }
                tokio::time::sleep(every).await;
            }
        }));
    }
    handles
}
