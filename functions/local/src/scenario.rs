//! The demo the README's first command plays: a provision pool, a group on
//! the simulated cloud, its simulated nodes, and a load curve; then what
//! happened, from the decision log.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::api::Client;
use crate::farm::{Farm, FarmSettings};
use crate::load::{Curve, Load};
use crate::view;

pub const GROUP: &str = "demo";
pub const REGION: &str = "eu-west-1";
const EDGE_CAPACITY: u32 = 50;
const POOL_HOSTS: u32 = 16;

#[derive(Debug, Clone)]
pub struct Options {
    pub curve: Curve,
    /// The scaler's tick (for the scale-out delay the outcome reports).
    pub tick: Duration,
    pub heartbeat: Duration,
    /// Draw the live view on the terminal.
    pub view: bool,
    /// Terminate a busy edge out of band during the ramp down (as EC2
    /// would on an instance refresh), to show a held termination.
    pub lifecycle_demo: bool,
}

/// What the scenario did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub peak_edges: u32,
    pub final_edges: u32,
    pub min_edges: u32,
    pub launches: u32,
    pub drained: u32,
    pub held: u32,
    pub cut: u64,
    pub rejected: u64,
    pub joins: u64,
    /// From edge demand first crossing the scale-out threshold to the
    /// scaler's first edge launch after it (negative: it launched before,
    /// on expected growth).
    pub scale_out_delay_secs: Option<f64>,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "peak edges {} (min {}, now {}), {} launch decisions, {} drained, {} held by lifecycle hooks, \
             sessions cut {}, viewers turned away {} of {} joins, scale-out {}",
            self.peak_edges,
            self.min_edges,
            self.final_edges,
            self.launches,
            self.drained,
            self.held,
            self.cut,
            self.rejected,
            self.joins,
            self.scale_out_delay_secs.map_or("never".into(), |s| format!("{s:+.1} s after the threshold"))
        )
    }
}

/// The demo group: one origin (capacity 100), edges of 50 viewers from 1
/// to 12, on a compressed clock (warm-up 6 s, short cooldowns).
pub fn group_spec() -> Value {
    json!({
        "name": GROUP,
        "cloud": "simulated",
        "regions": [{"region": REGION}],
        "apps": ["live"],
        "roles": {
            "origin": {
                "launch": {"instanceType": "c6i.large", "connectionCapacity": 100},
                "scale": {"min": 1, "max": 2, "warmupSecs": 6}
            },
            "edge": {
                "launch": {"instanceType": "c6i.large", "connectionCapacity": EDGE_CAPACITY},
                "scale": {"min": 1, "max": 12, "step": 1, "warmupSecs": 6,
                          "scaleOutCooldownSecs": 0, "scaleInCooldownSecs": 15, "drainDeadlineSecs": 600}
            }
        }
    })
}

/// The pool and the group.
pub async fn set_up(client: &Client) -> anyhow::Result<()> {
    for i in 1..=POOL_HOSTS {
        let host =
            json!({"hostId": format!("sim-{i:02}"), "region": REGION, "address": format!("10.0.1.{i}")});
        client.admin(Method::POST, "/v1/pool/hosts", Some(&host)).await?;
    }
    client.admin(Method::POST, "/v1/nodegroups", Some(&group_spec())).await?;
    Ok(())
}

pub fn farm(client: &Client, options: &Options) -> Farm {
    Farm::new(client.clone(), farm_settings(options))
}

/// The demo's simulated nodes: booting in 2 s, the group's capacities.
pub fn farm_settings(options: &Options) -> FarmSettings {
    FarmSettings {
        group: GROUP.into(),
        region: REGION.into(),
        heartbeat: options.heartbeat,
        boot: Duration::from_secs(2),
        capacity: BTreeMap::from([("origin".into(), 100), ("edge".into(), EDGE_CAPACITY)]),
    }
}

/// Plays the curve, then waits for the group to settle; returns what happened.
pub async fn run(client: &Client, options: &Options) -> anyhow::Result<Outcome> {
    set_up(client).await?;
    let farm = farm(client, options);
    farm.spawn();
    let mut load = Load::new(client.clone(), farm.clone(), options.curve.clone());
    let mut outcome = Outcome::default();
    let mut crossed_at: Option<OffsetDateTime> = None;
    let mut terminated_one = false;
    let mut last_draw = std::time::Instant::now() - Duration::from_secs(5);
    let threshold = 0.85;
    loop {
        load.step().await;
        let nodes = farm.nodes();
        let edges: Vec<_> = nodes.values().filter(|n| n.role == "edge").collect();
        let serving = edges.iter().filter(|n| n.state == "inService" && !n.cordoned).count() as u32;
        outcome.peak_edges = outcome.peak_edges.max(edges.len() as u32);
        let demand = f64::from(load.stats.seated + load.stats.waiting);
        // Only once edges serve: the start (no edge yet) is not a crossing.
        if crossed_at.is_none() && serving > 0 && demand > threshold * f64::from(serving * EDGE_CAPACITY) {
            crossed_at = Some(OffsetDateTime::now_utc());
        }
        if options.lifecycle_demo && !terminated_one && load.stats.phase == "ramp down" {
            if let Some((id, _)) = nodes
                .iter()
                .filter(|(_, n)| n.role == "edge" && n.state == "inService")
                .max_by_key(|(_, n)| n.viewers.len())
            {
                let path = format!("/v1/pool/hosts/{id}/terminate");
                if client.admin(Method::POST, &path, None).await.is_ok() {
                    terminated_one = true;
                }
            }
        }
        if options.view && last_draw.elapsed() >= Duration::from_secs(1) {
            last_draw = std::time::Instant::now();
            let decisions = recent_decisions(client, GROUP, 8).await.unwrap_or_default();
            view::draw(
                client.url(),
                &options.curve,
                load.elapsed(),
                &load.stats,
                &nodes,
                &decisions,
                farm.cut_total(),
            );
        }
        if load.finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let decisions = recent_decisions(client, GROUP, 500).await?;
    let count = |kind: &str| decisions.iter().filter(|d| d["action"]["type"] == kind).count() as u32;
    outcome.launches =
        decisions.iter().filter(|d| d["action"]["type"] == "launch" && d["role"] == "edge").count() as u32;
    outcome.drained = count("drain");
    outcome.held = count("hold");
    outcome.cut = farm.cut_total();
    outcome.rejected = load.stats.rejected;
    outcome.joins = load.stats.joins;
    outcome.final_edges = farm.nodes().values().filter(|n| n.role == "edge").count() as u32;
    let group = client.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}"), None).await?;
    outcome.min_edges = group["roles"]["edge"]["scale"]["min"].as_u64().unwrap_or(0) as u32;
    if let Some(crossed) = crossed_at {
        outcome.scale_out_delay_secs = decisions
            .iter()
            .filter(|d| d["action"]["type"] == "launch" && d["role"] == "edge")
            .filter_map(|d| {
                d["at"].as_str().and_then(|at| {
                    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
                })
            })
            // A launch up to one tick early counts: growth can call it first.
            .filter(|at| *at >= crossed - options.tick)
            .min()
            .map(|at| (at - crossed).as_seconds_f64());
    }
    Ok(outcome)
}

/// A group's newest decisions (newest first).
pub async fn recent_decisions(client: &Client, group: &str, wanted: usize) -> anyhow::Result<Vec<Value>> {
    client.items(&format!("/v1/nodegroups/{group}/events"), wanted).await
}
