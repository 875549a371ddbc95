//! Simulated media nodes: one task per host the scaler gave the group (a
//! pool host of the simulated cloud by default; the chaos harness on Auto
//! Scaling lists the ASGs' instances instead, see [`Hosts`]). Each boots,
//! enrolls with the group's key, heartbeats like a real node, holds the
//! sessions the lookups sent it (a publisher on an origin,
//! viewers on an edge) and reports them honestly. A host taken back while
//! its node still holds viewers cuts them: the farm counts that.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::api::Client;

/// One simulated node, as the farm and the view see it.
#[derive(Debug, Clone)]
pub struct SimNode {
    pub role: String,
    pub address: String,
    pub capacity: u32,
    pub viewers: BTreeSet<u64>,
    pub streams: BTreeSet<String>,
    pub publishers: u32,
    /// As the last heartbeat answer said (`pending` before the first).
    pub state: String,
    pub cordoned: bool,
    token: Option<String>,
    last_sent_ms: i128,
}

impl SimNode {
    pub fn sessions(&self) -> u32 {
        self.publishers + self.viewers.len() as u32
    }

    fn report(&mut self, region: &str) -> Value {
        // Strictly increasing: two reports in one millisecond are not a replay.
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        self.last_sent_ms = now_ms.max(self.last_sent_ms + 1);
        let sent = OffsetDateTime::from_unix_timestamp_nanos(self.last_sent_ms * 1_000_000)
            .expect("a valid instant");
        json!({
            "sentAt": sent.format(&Rfc3339).expect("formats"),
            "role": self.role,
            "region": region,
            "host": self.address,
            // MediaMTX's ports: what the redirect routes send clients to.
            "endpoints": {
                "rtmp": "rtmp://{host}:1935/{app}/{stream}",
                "hls": "http://{host}:8888/{app}/{stream}/index.m3u8",
                "whip": "http://{host}:8889/{app}/{stream}/whip",
                "whep": "http://{host}:8889/{app}/{stream}/whep",
            },
            "publishers": self.publishers,
            "subscribers": self.viewers.len(),
            "streams": self.streams,
            "cpuPct": (self.sessions() as f32 * 100.0 / self.capacity.max(1) as f32).min(100.0),
            "bandwidthKbps": u64::from(self.sessions()) * 2500,
            "capacity": self.capacity,
        })
    }
}

pub struct FarmSettings {
    pub group: String,
    pub region: String,
    pub heartbeat: Duration,
    /// From the host being taken to the node's first heartbeat.
    pub boot: Duration,
    /// Sessions per role.
    pub capacity: BTreeMap<String, u32>,
}

/// The hosts the group's cloud runs now: host id → (role, address).
pub type HostMap = BTreeMap<String, (String, String)>;

/// Where the farm reads which hosts run: called every half second. A host
/// that leaves the list is gone (its viewers are cut); one that joins boots.
pub type Hosts = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<HostMap>> + Send + Sync>;

/// The simulated cloud's hosts of `group`: its pool hosts in use (or being
/// taken back, which waits for the lifecycle hook).
pub fn pool_hosts(client: Client, group: String) -> Hosts {
    Arc::new(move || {
        let (client, group) = (client.clone(), group.clone());
        Box::pin(async move {
            let hosts = client.admin(Method::GET, "/v1/pool/hosts", None).await?;
            let mut serving = HostMap::new();
            for host in hosts.as_array().into_iter().flatten() {
                let ours = host["group"] == group.as_str();
                let up = matches!(host["state"].as_str(), Some("inUse" | "terminating"));
                if let (true, true, Some(id), Some(role), Some(address)) =
                    (ours, up, host["hostId"].as_str(), host["role"].as_str(), host["address"].as_str())
                {
                    serving.insert(id.to_owned(), (role.to_owned(), address.to_owned()));
                }
            }
            Ok(serving)
        })
    })
}

#[derive(Default)]
struct State {
    nodes: BTreeMap<String, SimNode>,
    /// Viewers whose node went while they watched.
    cut: Vec<u64>,
    cut_total: u64,
    /// Nodes taken back while they held viewers.
    cut_nodes: u64,
    /// Nodes a lookup sent a viewer to while they were full.
    overfilled: BTreeSet<String>,
}

#[derive(Clone)]
pub struct Farm {
    client: Client,
    settings: Arc<FarmSettings>,
    hosts: Hosts,
    state: Arc<Mutex<State>>,
}

impl Farm {
    /// A farm of the simulated cloud's pool hosts.
    pub fn new(client: Client, settings: FarmSettings) -> Self {
        let hosts = pool_hosts(client.clone(), settings.group.clone());
        Self::with_hosts(client, settings, hosts)
    }

    /// A farm of the hosts `hosts` lists.
    pub fn with_hosts(client: Client, settings: FarmSettings, hosts: Hosts) -> Self {
        Self { client, settings: Arc::new(settings), hosts, state: Arc::default() }
    }

    /// Follows the hosts until the process ends.
    pub fn spawn(&self) {
        let farm = self.clone();
        tokio::spawn(async move {
            let key = loop {
                match farm.enrollment_key().await {
                    Ok(key) => break key,
                    Err(e) => tracing::warn!(error = %e, "no enrollment key yet"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            };
            let mut tasks: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
            loop {
                if let Err(e) = farm.follow_hosts(&key, &mut tasks).await {
                    tracing::warn!(error = %e, "listing the hosts failed");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    async fn enrollment_key(&self) -> anyhow::Result<String> {
        let path = format!("/v1/nodegroups/{}/enrollment-key", self.settings.group);
        let body = self.client.admin(Method::GET, &path, None).await?;
        body["enrollmentKey"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no key in {body}"))
    }

    /// Starts a node for every host the group uses; stops those whose host
    /// was given back (their viewers are cut).
    async fn follow_hosts(
        &self,
        key: &str,
        tasks: &mut HashMap<String, tokio::task::JoinHandle<()>>,
    ) -> anyhow::Result<()> {
        let serving = (self.hosts)().await?;
        // A host given back and taken again for another role within one
        // listing runs a node of that role: the old one is gone.
        let role_of = |id: &str| self.with_node(id, |node| node.role.clone());
        let gone: Vec<String> = tasks
            .keys()
            .filter(|id| serving.get(*id).is_none_or(|(role, _)| role_of(id).as_ref() != Some(role)))
            .cloned()
            .collect();
        for id in gone {
            if let Some(task) = tasks.remove(&id) {
                task.abort();
            }
            let mut state = self.state.lock().expect("farm lock");
            if let Some(node) = state.nodes.remove(&id) {
                state.cut_nodes += u64::from(!node.viewers.is_empty());
                state.cut_total += node.viewers.len() as u64;
                state.cut.extend(node.viewers);
            }
        }
        for (id, (role, address)) in serving {
            if tasks.contains_key(&id) {
                continue;
            }
            let capacity = self.settings.capacity.get(&role).copied().unwrap_or(100);
            self.state.lock().expect("farm lock").nodes.insert(
                id.clone(),
                SimNode {
                    role,
                    address,
                    capacity,
                    viewers: BTreeSet::new(),
                    streams: BTreeSet::new(),
                    publishers: 0,
                    state: "booting".into(),
                    cordoned: false,
                    token: None,
                    last_sent_ms: 0,
                },
            );
            let farm = self.clone();
            let key = key.to_owned();
            tasks.insert(id.clone(), tokio::spawn(async move { farm.run_node(id, key).await }));
        }
        Ok(())
    }

    async fn run_node(self, id: String, key: String) {
        tokio::time::sleep(self.settings.boot).await;
        let mut beats = tokio::time::interval(self.settings.heartbeat);
        loop {
            beats.tick().await;
            let Some((report, credential)) = self.with_node(&id, |node| {
                let credential = node.token.clone().unwrap_or_else(|| key.clone());
                (node.report(&self.settings.region), credential)
            }) else {
                return;
            };
            match self.client.heartbeat(&self.settings.group, &id, &credential, &report).await {
                Ok(answer) if answer.status.is_success() => {
                    self.with_node(&id, |node| {
                        if let Some(token) = answer.body["nodeToken"].as_str() {
                            node.token = Some(token.to_owned());
                        }
                        node.state = answer.body["state"].as_str().unwrap_or("unknown").to_owned();
                        node.cordoned = answer.body["cordoned"].as_bool().unwrap_or(false);
                    });
                }
                Ok(answer) => {
                    tracing::debug!(node = %id, status = %answer.status, body = %answer.body, "heartbeat refused");
                    // As the agent does: a node the API forgot, or whose
                    // enrollment is no more (its host given back and taken
                    // again), enrolls anew with the group's key.
                    let code = answer.body["code"].as_str();
                    if matches!(code, Some("node_unknown" | "token_revoked")) {
                        self.with_node(&id, |node| node.token = None);
                    }
                }
                Err(e) => tracing::debug!(node = %id, error = %e, "heartbeat failed"),
            }
        }
    }

    fn with_node<T>(&self, id: &str, f: impl FnOnce(&mut SimNode) -> T) -> Option<T> {
        self.state.lock().expect("farm lock").nodes.get_mut(id).map(f)
    }

    /// A viewer connects to the edge a lookup named: refused when the node
    /// is gone, not serving, or full.
    pub fn attach_viewer(&self, node: &str, viewer: u64, stream: &str) -> bool {
        let mut state = self.state.lock().expect("farm lock");
        let Some(n) = state.nodes.get_mut(node) else {
            return false;
        };
        let serving = n.state == "inService" && !n.cordoned;
        let full = n.sessions() >= n.capacity;
        if serving && !full {
            n.viewers.insert(viewer);
            n.streams.insert(stream.to_owned());
        }
        if serving && full {
            state.overfilled.insert(node.to_owned());
        }
        serving && !full
    }

    pub fn detach_viewer(&self, node: &str, viewer: u64) {
        self.with_node(node, |n| {
            n.viewers.remove(&viewer);
            if n.viewers.is_empty() {
                n.streams.clear();
            }
        });
    }

    /// The publisher connects to its origin.
    pub fn attach_publisher(&self, node: &str, stream: &str) -> bool {
        self.with_node(node, |n| {
            let open = n.state == "inService";
            if open && n.streams.insert(stream.to_owned()) {
                n.publishers += 1;
            }
            open
        })
        .unwrap_or(false)
    }

    /// Whether a publisher's origin still runs.
    pub fn holds(&self, node: &str, stream: &str) -> bool {
        self.with_node(node, |n| n.streams.contains(stream)).unwrap_or(false)
    }

    /// Viewers cut since the last call (they need a new edge).
    pub fn take_cut(&self) -> Vec<u64> {
        std::mem::take(&mut self.state.lock().expect("farm lock").cut)
    }

    pub fn cut_total(&self) -> u64 {
        self.state.lock().expect("farm lock").cut_total
    }

    /// Nodes taken back while they still held viewers.
    pub fn cut_nodes(&self) -> u64 {
        self.state.lock().expect("farm lock").cut_nodes
    }

    /// Nodes a lookup sent a viewer to when they had no room left.
    pub fn overfilled(&self) -> BTreeSet<String> {
        self.state.lock().expect("farm lock").overfilled.clone()
    }

    pub fn nodes(&self) -> BTreeMap<String, SimNode> {
        self.state.lock().expect("farm lock").nodes.clone()
    }
}
