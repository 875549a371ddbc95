//! The chaos harness: the local stack's scenario (simulated media nodes with
//! viewers, players, a publisher, the scaler ticking) run as Lambda runs it —
//! several independent API processes behind one front, two scaler processes
//! ticking at once — while AWS calls fail (see `faults`), scaler ticks are
//! killed part-way, the heartbeat path goes down for longer than the dead
//! window, and an out-of-band termination arrives (on the simulated cloud,
//! as two calls at once; on Auto Scaling, as one whose event comes twice). Then the faults
//! stop, and the run is held to a fault-free run of the same seed.
//!
//! It runs on either cloud: the simulated one (a pool of hosts), or EC2
//! Auto Scaling on the emulator, where `cloud::AsgCloud` plays the part of
//! the lifecycle hooks the emulator lacks (each event delivered twice and
//! out of order, terminations held until answered or timed out), and a
//! rebalance recommendation arrives for an edge.
//!
//! Everything is measured from outside: viewers cut and nodes with viewers
//! taken back (the farm sees its hosts go), edges a lookup sent a viewer to
//! while full, the table's items against the fault-free run's, and the
//! ticks it takes after the faults stop until the fleet has the same shape.

pub mod cloud;
pub mod faults;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::IntoResponse;
use futures::future::join_all;
use reqwest::Method;
use serde_json::Value;
use streamfleet_core::service::Scaler;
use streamfleet_local::api::Client;
use streamfleet_local::farm::{Farm, FarmSettings};
use streamfleet_local::load::{Curve, Load};
use streamfleet_local::scenario::{self, Options};
use streamfleet_runtime::{app_state_with, aws_config, Config, Tuning};
use tower::ServiceExt;

pub use cloud::{AsgCloud, CloudStats};
pub use faults::{FaultKind, Faults};

use crate::{fresh_config_with, ADMIN_TOKEN};

/// Which cloud a run's group is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChaosCloud {
    /// The simulated cloud: a pool of hosts in the table.
    Simulated,
    /// EC2 Auto Scaling on the emulator, its lifecycle hooks stood in for.
    Aws,
}

/// One chaos run.
#[derive(Debug, Clone)]
pub struct ChaosSettings {
    pub seed: u64,
    pub cloud: ChaosCloud,
    /// AWS requests failing per thousand while the faults last (0: the
    /// fault-free twin).
    pub faults_per_mille: u32,
    /// Seconds into the curve when the faults (and the killing) stop.
    pub faults_until: f64,
    pub api_processes: usize,
    pub scaler_processes: usize,
    /// Scaler ticks killed part-way, per thousand.
    pub kills_per_mille: u32,
    /// The heartbeat path answers 503 from `.0` for `.1` seconds of the curve.
    pub outage: (f64, f64),
    pub curve: Curve,
    pub tick: Duration,
    pub heartbeat: Duration,
    /// The silence after which a node no longer counts as serving.
    pub dead_after: Duration,
}

impl ChaosSettings {
    /// About a minute: `make test`'s seed. The clock is compressed (reports
    /// every 2 s, silent after 8 s, dead after 12 s, a tick every 3 s), but
    /// not so far that the emulator's own latency under the load (seconds,
    /// on two cores) reads as silence.
    pub fn short(seed: u64) -> Self {
        Self {
            seed,
            cloud: ChaosCloud::Simulated,
            faults_per_mille: 100,
            faults_until: 60.0,
            api_processes: 2,
            scaler_processes: 2,
            kills_per_mille: 200,
            outage: (18.0, 20.0),
            curve: Curve {
                name: "chaos",
                points: vec![
                    (0.0, 0, "start"),
                    (10.0, 80, "ramp up"),
                    (40.0, 80, "steady"),
                    (45.0, 20, "ramp down"),
                    (60.0, 20, "quiet"),
                ],
            },
            tick: Duration::from_secs(3),
            heartbeat: Duration::from_secs(2),
            dead_after: Duration::from_secs(12),
        }
    }

    /// The same run on EC2 Auto Scaling.
    pub fn on_aws(self) -> Self {
        Self { cloud: ChaosCloud::Aws, ..self }
    }

    /// The same run without faults, kills or outage.
    pub fn fault_free(&self) -> Self {
        Self { faults_per_mille: 0, kills_per_mille: 0, outage: (0.0, 0.0), ..self.clone() }
    }
}

/// What the table holds at the end, by kind of item.
pub type Items = BTreeMap<&'static str, u64>;

/// The fleet's shape: node rows per (role, state).
pub type Shape = BTreeMap<(String, String), u64>;

#[derive(Debug, Clone, Default)]
pub struct ChaosOutcome {
    pub aws_calls: u64,
    pub faults_injected: u64,
    pub by_kind: Vec<(FaultKind, u64)>,
    pub ticks: u64,
    pub ticks_killed: u64,
    pub heartbeats_refused: u64,
    pub sessions_cut: u64,
    pub nodes_with_sessions_terminated: u64,
    pub overfilled_edges: u64,
    pub joins: u64,
    pub rejected: u64,
    pub items: Items,
    pub shape: Shape,
    /// Ticks after the faults stopped until the fleet was settled: the table
    /// and the farm agree, nothing is left to repair, and a tick decides
    /// nothing (`None`: not within 20).
    pub convergence_ticks: Option<u32>,
    /// Nodes the farm runs that the table no longer lists, at the end.
    pub nodes_without_rows: u64,
    /// The group's last decisions, newest first (what a failure is read from).
    pub last_decisions: Vec<String>,
    /// Each round after the faults: the fleet's shape and the decisions its
    /// ticks made (what a slow convergence is read from).
    pub settling: Vec<String>,
    /// On Auto Scaling: what its lifecycle hooks saw.
    pub lifecycle: Option<CloudStats>,
}

/// Items lost: kinds of item the fault-free twin holds and this run holds
/// none of (its group, its stream's route, its app claim, its host pool),
/// and the nodes the farm still runs whose row is gone. How many nodes each
/// run ends with is not compared: two runs of one seed scale in at
/// different moments, and neither is wrong.
pub fn items_lost(run: &ChaosOutcome, twin: &ChaosOutcome) -> u64 {
    let kinds = twin.items.keys().filter(|kind| !matches!(**kind, "nodes" | "hosts in use" | "holds"));
    let missing = kinds.filter(|kind| run.items.get(*kind).copied().unwrap_or(0) == 0).count() as u64;
    missing + run.nodes_without_rows
}

/// One run: the scenario under its faults, then ticks without them until
/// the fleet is settled (see `settled`).
pub async fn run(settings: &ChaosSettings) -> anyhow::Result<ChaosOutcome> {
    let tuning = Tuning {
        heartbeat_interval: settings.heartbeat,
        stale_after: settings.heartbeat * 4,
        dead_after: settings.dead_after,
        // The lease on the run's compressed clock: a killed tick holds its
        // group for a few ticks, as 30 s do against a one-minute schedule.
        scaler_lease: settings.tick * 3,
        hook_heartbeat_timeout_secs: cloud::HOOK_TIMEOUT.as_secs() as u32,
        ..Tuning::default()
    };
    let config = fresh_config_with(tuning).await;
    let faults = Faults::new(settings.seed, settings.faults_per_mille);
    let plain = aws_config(&config).await;
    // ASG names are account-wide: a run and its twin (and tests sharing the
    // emulator) each have a group of their own on Auto Scaling.
    let (group, asg) = match settings.cloud {
        ChaosCloud::Simulated => (scenario::GROUP.to_owned(), None),
        ChaosCloud::Aws => {
            let group = format!("chaos-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let asg = AsgCloud::new(&group, settings.seed, &plain);
            (group, Some(asg))
        }
    };
    // The stand-in answers beneath the faults, as AWS does behind the network.
    let sdk = match &asg {
        Some(asg) => crate::sdk_seam::through(&plain, asg.clone()),
        None => plain.clone(),
    };
    let mut routers = Vec::new();
    for _ in 0..settings.api_processes {
        routers.push(streamfleet_http::local_app(process(&config, &faults, &sdk)?.0));
    }
    let mut scalers = Vec::new();
    for _ in 0..settings.scaler_processes {
        scalers.push(process(&config, &faults, &sdk)?.1);
    }
    let outage = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let url = serve_front(routers, outage.clone(), refused.clone()).await;
    let client = Client::new(&url, ADMIN_TOKEN);
    let asg_task = asg.as_ref().map(|asg| {
        asg.deliver_to(&scalers);
        asg.spawn()
    });

    let options = Options {
        curve: settings.curve.clone(),
        tick: settings.tick,
        heartbeat: settings.heartbeat,
        view: false,
        lifecycle_demo: false,
    };
    let farm = match &asg {
        None => {
            scenario::set_up(&client).await?;
            scenario::farm(&client, &options)
        }
        Some(asg) => {
            let image = cloud::some_image(&plain).await?;
            client.admin(Method::POST, "/v1/nodegroups", Some(&cloud::group_spec(&group, &image))).await?;
            let settings = FarmSettings {
                group: group.clone(),
                region: cloud::REGION.into(),
                ..scenario::farm_settings(&options)
            };
            Farm::with_hosts(client.clone(), settings, asg.hosts())
        }
    };
    farm.spawn();
    faults.set_on(settings.faults_per_mille > 0);

    let ticking = Arc::new(AtomicBool::new(true));
    let ticks = Arc::new(AtomicU64::new(0));
    let killed = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn(tick_while(
        scalers.clone(),
        settings.clone(),
        ticking.clone(),
        ticks.clone(),
        killed.clone(),
    ));

    // The crowd comes to a fleet at its minimum, as it would to a running
    // service: viewers who came before any edge served would sit on the
    // origin (its fallback) for the whole run, and no edge would be busy.
    serving_at_minimum(&farm, Duration::from_secs(60)).await;
    // The outage and the end of the faults keep the wall clock, however
    // slowly the players' steps go.
    let timeline = tokio::spawn(timeline(settings.clone(), faults.clone(), outage.clone()));
    let mut load = Load::new(client.clone(), farm.clone(), settings.curve.clone());
    let mut terminated_twice = false;
    let mut rebalanced = false;
    while !load.finished() {
        load.step().await;
        match &asg {
            // The pool's termination goes through the hook at once: delivered twice.
            None if !terminated_twice && load.stats.phase == "ramp down" => {
                terminated_twice = terminate_busiest_edge_twice(&client, &farm).await;
            }
            // On Auto Scaling, while the heartbeat path is down (the node
            // held cannot say it still has viewers), or at the ramp down if
            // no edge served then.
            Some(asg)
                if !terminated_twice
                    && (outage.load(Ordering::SeqCst) || load.stats.phase == "ramp down") =>
            {
                terminated_twice = match busiest_edge(&farm) {
                    Some(id) => asg.terminate(&id).await,
                    None => false,
                };
            }
            Some(asg) if !rebalanced && load.stats.phase == "steady" => {
                if let Some(id) = quietest_of_two_edges(&farm) {
                    asg.rebalance(&id);
                    rebalanced = true;
                }
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    timeline.await?;
    ticking.store(false, Ordering::SeqCst);
    ticker.await?;

    // The faults are over: tick on, unharmed, until the fleet is settled,
    // counting the ticks it takes.
    let mut convergence_ticks = None;
    let mut idle = false;
    let mut settling = Vec::new();
    for round in 0..=20u32 {
        let unsettled = settled(&client, &group, &farm).await?;
        let done = unsettled.is_ok();
        settling.push(format!(
            "{round}: {:?} {}",
            shape_of(&client, &group).await?,
            unsettled.err().unwrap_or_else(|| "settled".into())
        ));
        if idle && done {
            convergence_ticks = Some(round);
            break;
        }
        load.step().await;
        tokio::time::sleep(settings.heartbeat * 2).await;
        let reports = join_all(scalers.iter().map(|s| s.tick())).await;
        // Two processes tick at once, so one skips: idle is neither deciding.
        idle = reports.iter().all(|r| r.as_ref().is_ok_and(|r| r.decisions == 0));
        let decided: Vec<String> = reports
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| format!("error {e}"), |r| r.decisions.to_string()))
            .collect();
        settling.push(format!("   ticks decided {}", decided.join(" + ")));
        ticks.fetch_add(scalers.len() as u64, Ordering::SeqCst);
    }
    if let Some(task) = asg_task {
        task.abort();
    }
    let shape = shape_of(&client, &group).await?;
    let nodes_without_rows = nodes_without_rows(&client, &group, &farm).await?;
    let items = items_of(&config).await?;
    let last_decisions = scenario::recent_decisions(&client, &group, 12)
        .await?
        .iter()
        .map(|d| {
            format!("{} {} {}: {} -> {}", d["at"], d["role"], d["action"]["type"], d["reason"], d["outcome"])
        })
        .collect();
    Ok(ChaosOutcome {
        aws_calls: faults.calls(),
        faults_injected: faults.injected(),
        by_kind: faults.by_kind(),
        ticks: ticks.load(Ordering::SeqCst),
        ticks_killed: killed.load(Ordering::SeqCst),
        heartbeats_refused: refused.load(Ordering::SeqCst),
        sessions_cut: farm.cut_total(),
        nodes_with_sessions_terminated: farm.cut_nodes(),
        overfilled_edges: farm.overfilled().len() as u64,
        joins: load.stats.joins,
        rejected: load.stats.rejected,
        items,
        shape,
        convergence_ticks,
        nodes_without_rows,
        last_decisions,
        settling,
        lifecycle: asg.map(|asg| asg.stats()),
    })
}

/// The heartbeat path's outage, and the faults' end, on the wall clock.
async fn timeline(settings: ChaosSettings, faults: Faults, outage: Arc<AtomicBool>) {
    let started = Instant::now();
    let at = |secs: f64| started + Duration::from_secs_f64(secs);
    let (from, length) = settings.outage;
    if length > 0.0 {
        tokio::time::sleep_until(at(from).into()).await;
        outage.store(true, Ordering::SeqCst);
        tokio::time::sleep_until(at(from + length).into()).await;
        outage.store(false, Ordering::SeqCst);
    }
    tokio::time::sleep_until(at(settings.faults_until).into()).await;
    faults.set_on(false);
}

/// One Lambda-like process: its own clients and caches over the table,
/// its AWS calls through the faults.
fn process(
    config: &Config,
    faults: &Faults,
    sdk: &aws_config::SdkConfig,
) -> anyhow::Result<(streamfleet_http::AppState, Arc<Scaler>)> {
    let sdk = faults.wrap(sdk);
    let state = app_state_with(config, &sdk, aws_sdk_dynamodb::Client::new(&sdk))?;
    let scaler = state.scaler.clone();
    Ok((state, scaler))
}

/// The API Gateway in front of the processes: each request to the next
/// process in turn; heartbeats answered 503 during the outage.
async fn serve_front(routers: Vec<axum::Router>, outage: Arc<AtomicBool>, refused: Arc<AtomicU64>) -> String {
    let routers = Arc::new(routers);
    let next = Arc::new(AtomicUsize::new(0));
    let front = tower::service_fn(move |request: axum::http::Request<Body>| {
        let router = routers[next.fetch_add(1, Ordering::Relaxed) % routers.len()].clone();
        let cut_off = outage.load(Ordering::SeqCst) && request.uri().path().ends_with("/heartbeat");
        let refused = refused.clone();
        async move {
            if cut_off {
                refused.fetch_add(1, Ordering::Relaxed);
                return Ok::<_, std::convert::Infallible>(
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "heartbeat path down").into_response(),
                );
            }
            router.oneshot(request).await
        }
    });
    let app = axum::Router::new().fallback_service(front);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the front serves") });
    url
}

/// Every scaler process ticks every `tick`, all at once; some ticks are
/// killed part-way (a Lambda timeout, a crash), at a point drawn from the seed.
async fn tick_while(
    scalers: Vec<Arc<Scaler>>,
    settings: ChaosSettings,
    ticking: Arc<AtomicBool>,
    ticks: Arc<AtomicU64>,
    killed: Arc<AtomicU64>,
) {
    let mut rng = settings.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let started = Instant::now();
    while ticking.load(Ordering::SeqCst) {
        tokio::time::sleep(settings.tick).await;
        let killing = started.elapsed().as_secs_f64() < settings.faults_until;
        let runs = scalers.iter().map(|scaler| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let kill = killing && (rng % 1000) < u64::from(settings.kills_per_mille);
            // Within a tick's first calls: on Auto Scaling an idle group's
            // tick can finish inside 60 ms, and a run then killed none.
            let after = Duration::from_millis((rng >> 20) % 20);
            let scaler = scaler.clone();
            let killed = killed.clone();
            async move {
                if kill {
                    if tokio::time::timeout(after, scaler.tick()).await.is_err() {
                        killed.fetch_add(1, Ordering::SeqCst);
                    }
                } else if let Err(e) = scaler.tick().await {
                    tracing::warn!(error = %e, "a chaos tick failed");
                }
            }
        });
        join_all(runs).await;
        ticks.fetch_add(scalers.len() as u64, Ordering::SeqCst);
    }
}

/// The in-service edge with the most viewers.
fn busiest_edge(farm: &Farm) -> Option<String> {
    let nodes = farm.nodes();
    let edges = nodes.iter().filter(|(_, n)| n.role == "edge" && n.state == "inService" && !n.cordoned);
    edges.max_by_key(|(_, n)| n.viewers.len()).map(|(id, _)| id.clone())
}

/// The in-service edge with the fewest viewers, once there are two.
fn quietest_of_two_edges(farm: &Farm) -> Option<String> {
    let nodes = farm.nodes();
    let edges: Vec<_> =
        nodes.iter().filter(|(_, n)| n.role == "edge" && n.state == "inService" && !n.cordoned).collect();
    let quietest = edges.iter().min_by_key(|(_, n)| n.viewers.len()).map(|(id, _)| (*id).clone());
    quietest.filter(|_| edges.len() >= 2)
}

/// Waits, at most `limit`, until the farm's origin and an edge serve.
async fn serving_at_minimum(farm: &Farm, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        let nodes = farm.nodes();
        let serving = |role: &str| nodes.values().any(|n| n.role == role && n.state == "inService");
        if serving("origin") && serving("edge") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An out-of-band termination of the busiest edge (an operator, an instance
/// refresh), delivered twice at once as events are.
async fn terminate_busiest_edge_twice(client: &Client, farm: &Farm) -> bool {
    let Some(id) = busiest_edge(farm) else { return false };
    let path = format!("/v1/pool/hosts/{id}/terminate");
    let answers = join_all([0, 1].map(|_| client.admin(Method::POST, &path, None))).await;
    answers.iter().any(Result::is_ok)
}

/// The group's node rows per (role, state).
async fn shape_of(client: &Client, group: &str) -> anyhow::Result<Shape> {
    let mut shape = Shape::new();
    for node in nodes(client, group).await? {
        let key = (
            node["role"].as_str().unwrap_or("?").to_owned(),
            node["state"].as_str().unwrap_or("?").to_owned(),
        );
        *shape.entry(key).or_default() += 1;
    }
    Ok(shape)
}

async fn nodes(client: &Client, group: &str) -> anyhow::Result<Vec<Value>> {
    client.items(&format!("/v1/nodegroups/{group}/nodes"), usize::MAX).await
}

/// Settled: every node the farm runs has its row and every row its node,
/// each in service or draining (nothing dead, failed, pending or half
/// terminated left to repair). Otherwise, what is not: each row left to
/// repair with its state, and the farm's own view of that node.
async fn settled(client: &Client, group: &str, farm: &Farm) -> anyhow::Result<Result<(), String>> {
    let rows = nodes(client, group).await?;
    let running = farm.nodes();
    let mut unsettled = Vec::new();
    for row in &rows {
        let id = row["nodeId"].as_str().unwrap_or("?");
        let state = row["state"].as_str().unwrap_or("?");
        let farm_view = running.get(id).map(|n| format!("{} {} as {}", n.role, n.state, n.address));
        if !matches!(state, "inService" | "draining") || farm_view.is_none() {
            unsettled.push(format!("{id} {state} (farm: {})", farm_view.as_deref().unwrap_or("none")));
        }
    }
    let listed = |id: &String| rows.iter().any(|r| r["nodeId"].as_str() == Some(id.as_str()));
    unsettled.extend(running.keys().filter(|id| !listed(id)).map(|id| format!("{id} runs without a row")));
    Ok(if unsettled.is_empty() { Ok(()) } else { Err(unsettled.join(", ")) })
}

async fn nodes_without_rows(client: &Client, group: &str, farm: &Farm) -> anyhow::Result<u64> {
    let rows: std::collections::BTreeSet<String> =
        nodes(client, group).await?.iter().filter_map(|n| n["nodeId"].as_str().map(str::to_owned)).collect();
    Ok(farm.nodes().keys().filter(|id| !rows.contains(*id)).count() as u64)
}

/// The table's items by kind, read without faults.
async fn items_of(config: &Config) -> anyhow::Result<Items> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config(config).await);
    let mut items = Items::new();
    let mut start = None;
    loop {
        let page =
            dynamodb.scan().table_name(&config.table).set_exclusive_start_key(start.take()).send().await?;
        for item in page.items() {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).map_or("", String::as_str);
            let kind = match sk {
                "GROUP" => "groups",
                "ROUTE" => "routes",
                "CLAIM" => "claims",
                sk if sk.starts_with("NODE#") => "nodes",
                sk if sk.starts_with("HOSTUSE#") => "hosts in use",
                sk if sk.starts_with("HOST#") => "pool hosts",
                _ => continue,
            };
            *items.entry(kind).or_default() += 1;
            if kind == "nodes" && item.contains_key("hold") {
                *items.entry("holds").or_default() += 1;
            }
        }
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return Ok(items),
        }
    }
}

impl ChaosOutcome {
    /// The `make chaos` figures (names as the issue gives them).
    pub fn figures(&self, lost: u64) -> String {
        let convergence = self.convergence_ticks.map_or("never".to_owned(), |t| t.to_string());
        format!(
            "chaos_aws_calls: {}\nchaos_faults_injected: {}\nchaos_sessions_cut: {}\n\
             chaos_nodes_with_sessions_terminated: {}\nchaos_items_lost: {lost}\n\
             chaos_convergence_ticks: {convergence}\nchaos_overfilled_edges: {}",
            self.aws_calls,
            self.faults_injected,
            self.sessions_cut,
            self.nodes_with_sessions_terminated,
            self.overfilled_edges
        )
    }
}
