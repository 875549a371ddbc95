//! The load: one publisher and a crowd of viewers following a
//! time-compressed curve, each doing what a real player does: look the
//! stream up, connect to the node named, retry after `Retry-After` when
//! there is no room, look up again when its edge goes away.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use reqwest::StatusCode;

use crate::api::Client;
use crate::farm::Farm;

/// Viewers wanted over time: (seconds from start, viewers then, label),
/// linear in between.
#[derive(Debug, Clone)]
pub struct Curve {
    pub name: &'static str,
    pub points: Vec<(f64, u32, &'static str)>,
}

impl Curve {
    /// Viewers ramp up, a flash crowd of ×10 within "two minutes" (12 s),
    /// a hold, a ramp down, quiet.
    pub fn flash() -> Self {
        Self {
            name: "flash",
            points: vec![
                (0.0, 0, "start"),
                (30.0, 40, "ramp up"),
                (60.0, 40, "steady"),
                (72.0, 400, "flash crowd ×10"),
                (132.0, 400, "peak"),
                (180.0, 20, "ramp down"),
                (260.0, 20, "quiet"),
            ],
        }
    }

    /// An evening: a slow rise, a peak, a slow fall.
    pub fn evening() -> Self {
        Self {
            name: "evening",
            points: vec![
                (0.0, 0, "start"),
                (90.0, 300, "evening rise"),
                (150.0, 300, "peak"),
                (240.0, 20, "night"),
                (300.0, 20, "quiet"),
            ],
        }
    }

    /// A minute and a half for the tests.
    pub fn short() -> Self {
        Self {
            name: "short",
            points: vec![
                (0.0, 0, "start"),
                (5.0, 20, "ramp up"),
                (15.0, 20, "steady"),
                (20.0, 160, "flash crowd"),
                (40.0, 160, "peak"),
                (45.0, 0, "ramp down"),
                (90.0, 0, "quiet"),
            ],
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::flash(), Self::evening(), Self::short()].into_iter().find(|c| c.name == name)
    }

    pub fn length(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p.0)
    }

    /// Viewers wanted at `t`, and the phase's label.
    pub fn at(&self, t: f64) -> (u32, &'static str) {
        let next = self.points.iter().position(|p| p.0 > t);
        match next {
            None => self.points.last().map_or((0, "done"), |p| (p.1, p.2)),
            Some(0) => (self.points[0].1, self.points[0].2),
            Some(i) => {
                let (t0, v0, _) = self.points[i - 1];
                let (t1, v1, label) = self.points[i];
                let share = (t - t0) / (t1 - t0);
                ((f64::from(v0) + (f64::from(v1) - f64::from(v0)) * share).round() as u32, label)
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    pub phase: &'static str,
    pub wanted: u32,
    pub seated: u32,
    pub waiting: u32,
    /// Lookups answered "no room" (each retry counts).
    pub refused: u64,
    /// Viewers who found no room for longer than their patience.
    pub rejected: u64,
    pub joins: u64,
    /// Viewers whose edge went while they watched.
    pub cut: u64,
    pub origin: Option<String>,
}

/// A lookup's status, node and Retry-After.
type Answered = (StatusCode, Option<String>, Option<u64>);

struct Viewer {
    node: Option<String>,
    /// Watching viewers leave after their own session (others come instead
    /// while the audience holds): what lets drained edges empty.
    leaves_at: Option<Instant>,
    waiting_since: Instant,
    next_try: Instant,
    rejected: bool,
}

pub struct Load {
    client: Client,
    farm: Farm,
    curve: Curve,
    stream: (String, String),
    patience: Duration,
    viewers: BTreeMap<u64, Viewer>,
    next_id: u64,
    pub stats: LoadStats,
    started: Instant,
    seed: u64,
}

impl Load {
    pub fn new(client: Client, farm: Farm, curve: Curve) -> Self {
        Self {
            client,
            farm,
            curve,
            stream: ("live".into(), "cam1".into()),
            patience: Duration::from_secs(15),
            viewers: BTreeMap::new(),
            next_id: 0,
            stats: LoadStats::default(),
            started: Instant::now(),
            seed: 0x5eed,
        }
    }

    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    pub fn finished(&self) -> bool {
        self.elapsed() >= self.curve.length()
    }

    fn key(&self) -> String {
        format!("{}/{}", self.stream.0, self.stream.1)
    }

    /// One step: follow the curve, (re)place whoever waits.
    pub async fn step(&mut self) {
        let now = Instant::now();
        for cut in self.farm.take_cut() {
            if let Some(viewer) = self.viewers.get_mut(&cut) {
                viewer.node = None;
                viewer.waiting_since = now;
                viewer.next_try = now;
                self.stats.cut += 1;
            }
        }
        self.publish().await;
        let done: Vec<u64> = self
            .viewers
            .iter()
            .filter(|(_, v)| v.leaves_at.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if let Some(Viewer { node: Some(node), .. }) = self.viewers.remove(&id) {
                self.farm.detach_viewer(&node, id);
            }
        }
        let (wanted, phase) = self.curve.at(self.elapsed());
        self.stats.phase = phase;
        self.stats.wanted = wanted;
        self.follow(wanted, now);
        self.place(now).await;
        self.stats.seated = self.viewers.values().filter(|v| v.node.is_some()).count() as u32;
        self.stats.waiting = self.viewers.len() as u32 - self.stats.seated;
    }

    async fn publish(&mut self) {
        let key = self.key();
        if self.stats.origin.as_deref().is_some_and(|origin| self.farm.holds(origin, &key)) {
            return;
        }
        let path = format!("/v1/streams/{}/{}?action=publish&region=eu-west-1", self.stream.0, self.stream.1);
        if let Ok(answer) = self.client.lookup(&path).await {
            if let Some(node) = answer.body["nodeId"].as_str().filter(|_| answer.status == StatusCode::OK) {
                if self.farm.attach_publisher(node, &key) {
                    self.stats.origin = Some(node.to_owned());
                }
            }
        }
    }

    /// Newcomers queue; a shrinking audience leaves the queue first.
    fn follow(&mut self, wanted: u32, now: Instant) {
        while (self.viewers.len() as u32) < wanted {
            self.next_id += 1;
            self.viewers.insert(
                self.next_id,
                Viewer { node: None, leaves_at: None, waiting_since: now, next_try: now, rejected: false },
            );
        }
        let mut extra = self.viewers.len() as u32 - wanted.min(self.viewers.len() as u32);
        let waiting: Vec<u64> =
            self.viewers.iter().filter(|(_, v)| v.node.is_none()).map(|(id, _)| *id).collect();
        for id in waiting.into_iter().take(extra as usize) {
            self.viewers.remove(&id);
            extra -= 1;
        }
        while extra > 0 {
            // A pseudo-random seated viewer leaves.
            let seated: Vec<u64> = self.viewers.keys().copied().collect();
            let id = seated[(self.random() * seated.len() as f64) as usize % seated.len()];
            if let Some(viewer) = self.viewers.remove(&id) {
                if let Some(node) = viewer.node {
                    self.farm.detach_viewer(&node, id);
                }
            }
            extra -= 1;
        }
    }

    /// Uniform in [0, 1), from a fixed seed: runs are alike.
    fn random(&mut self) -> f64 {
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.seed >> 11) as f64 / (1u64 << 53) as f64
    }

    async fn place(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .viewers
            .iter()
            .filter(|(_, v)| v.node.is_none() && v.next_try <= now)
            .map(|(id, _)| *id)
            .collect();
        let path =
            format!("/v1/streams/{}/{}?action=subscribe&region=eu-west-1", self.stream.0, self.stream.1);
        let client = &self.client;
        let farm = &self.farm;
        let key = self.key();
        let key = &key;
        // Each player connects the moment its own answer arrives, as real
        // players do: a slow answer to one must not hold the others' seats
        // past the report they were counted against.
        let answers: Vec<(u64, Option<Answered>, bool)> = stream::iter(due)
            .map(|id| {
                let path = path.clone();
                async move {
                    let answer = client.lookup(&path).await.ok().map(|a| {
                        (a.status, a.body["nodeId"].as_str().map(str::to_owned), a.retry_after_secs)
                    });
                    let attached = match &answer {
                        Some((StatusCode::OK, Some(node), _)) => farm.attach_viewer(node, id, key),
                        _ => false,
                    };
                    (id, answer, attached)
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        for (id, answer, attached) in answers {
            // Sessions last 40 s on average (exponentially distributed).
            let session = Duration::from_secs_f64(-40.0 * (1.0 - self.random()).ln());
            let Some(viewer) = self.viewers.get_mut(&id) else { continue };
            let retry = match answer {
                Some((StatusCode::OK, Some(node), _)) if attached => {
                    viewer.node = Some(node);
                    viewer.leaves_at = Some(now + session);
                    self.stats.joins += 1;
                    continue;
                }
                Some((StatusCode::SERVICE_UNAVAILABLE, _, after)) => {
                    self.stats.refused += 1;
                    Duration::from_secs(after.unwrap_or(5).min(5))
                }
                _ => Duration::from_secs(1),
            };
            viewer.next_try = now + retry;
            if !viewer.rejected && now.duration_since(viewer.waiting_since) >= self.patience {
                viewer.rejected = true;
                self.stats.rejected += 1;
            }
        }
    }
}
