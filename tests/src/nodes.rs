//! Playing media nodes in tests: enrolling, reporting load, as an agent would.

use std::sync::atomic::{AtomicI64, Ordering};

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{body, TestApp};

/// A report timestamp: now, but strictly after every one handed out before,
/// so that two reports in one millisecond are not taken for a replay.
pub fn sent_at() -> String {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let next = |last: i64| now.max(last + 1);
    let millis =
        next(LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last))).unwrap());
    let at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).expect("a valid instant");
    at.format(&Rfc3339).expect("formats")
}

/// What a node reports: its place, where it serves, its load.
#[derive(Debug, Clone)]
pub struct Report {
    pub role: &'static str,
    pub region: &'static str,
    pub host: String,
    pub publishers: u32,
    pub subscribers: u32,
    pub streams: Vec<String>,
    pub capacity: Option<u32>,
    /// Endpoint templates by protocol (by default RTMP and HLS).
    pub endpoints: Value,
}

impl Report {
    pub fn new(role: &'static str, region: &'static str, host: &str) -> Self {
        Self {
            role,
            region,
            host: host.to_owned(),
            publishers: 0,
            subscribers: 0,
            streams: vec![],
            capacity: None,
            endpoints: json!({
                "rtmp": "rtmp://{host}:1935/{app}/{stream}",
                "hls": "http://{host}:8080/hls/{stream}.m3u8"
            }),
        }
    }

    /// The report with one more endpoint template.
    pub fn serving(mut self, protocol: &str, template: &str) -> Self {
        self.endpoints[protocol] = json!(template);
        self
    }

    pub fn json(&self) -> Value {
        let mut report = json!({
            "sentAt": sent_at(),
            "role": self.role,
            "region": self.region,
            "host": self.host,
            "endpoints": self.endpoints,
            "publishers": self.publishers,
            "subscribers": self.subscribers,
            "streams": self.streams,
            "cpuPct": 10.0,
            "bandwidthKbps": 1000
        });
        if let Some(capacity) = self.capacity {
            report["capacity"] = json!(capacity);
        }
        report
    }
}

impl TestApp {
    pub async fn enrollment_key(&self, group: &str) -> String {
        let response =
            self.admin(Method::GET, &format!("/v1/nodegroups/{group}/enrollment-key")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        body(response).await["enrollmentKey"].as_str().unwrap().to_owned()
    }

    pub async fn heartbeat(&self, group: &str, node: &str, credential: &str, report: &Value) -> Response {
        self.anonymous(Method::POST, &format!("/v1/nodegroups/{group}/nodes/{node}/heartbeat"))
            .bearer_auth(credential)
            .json(report)
            .send()
            .await
            .unwrap()
    }

    /// Enrolls a node with the group's key; returns its node token.
    pub async fn enroll(&self, group: &str, node: &str, report: &Report) -> String {
        let key = self.enrollment_key(group).await;
        let response = self.heartbeat(group, node, &key, &report.json()).await;
        let status = response.status();
        let answer = body(response).await;
        assert_eq!(status, StatusCode::CREATED, "enrolling {node}: {answer}");
        answer["nodeToken"].as_str().expect("a node token").to_owned()
    }

    /// Reports `report` for an enrolled node; asserts it was accepted.
    pub async fn report(&self, group: &str, node: &str, token: &str, report: &Report) -> Value {
        let response = self.heartbeat(group, node, token, &report.json()).await;
        assert_eq!(response.status(), StatusCode::OK, "heartbeat of {node}");
        body(response).await
    }

    /// Drops a node's row, as the scaler does when it forgets a node.
    pub async fn forget_node(&self, group: &str, node: &str) {
        use streamfleet_core::ports::NodeLifecycleStore;
        let store = streamfleet_dynamo::DynamoStore::new(self.dynamodb().await, self.config.table.clone());
        let group = streamfleet_core::names::GroupName::parse(group).expect("a group name");
        let node = streamfleet_core::names::NodeId::parse(node).expect("a node id");
        store.forget_node(&group, &node).await.expect("the row is dropped");
    }

    pub async fn lookup(&self, path_and_query: &str) -> Response {
        self.anonymous(Method::GET, path_and_query).send().await.unwrap()
    }
}

/// A node row as the store keeps it, for the tests that write rows the API
/// would not: an edge in eu-west-1, reporting nothing, last heard at `at`
/// (`None`: never, as a launched row waiting for its first report).
pub fn stored_edge(group: &str, id: &str, at: Option<time::OffsetDateTime>) -> streamfleet_core::node::Node {
    use streamfleet_core::node::{Node, NodeLoad, NodeState};
    let since = at.unwrap_or_else(time::OffsetDateTime::now_utc);
    Node {
        group: streamfleet_core::names::GroupName::parse(group).expect("a group name"),
        node_id: streamfleet_core::names::NodeId::parse(id).expect("a node id"),
        role: streamfleet_core::group::Role::Edge,
        region: streamfleet_core::names::Region::parse("eu-west-1").expect("a region"),
        zone: None,
        state: if at.is_some() { NodeState::InService } else { NodeState::Pending },
        cordoned: false,
        hold: None,
        drain_cause: None,
        host: Some("10.0.0.99".into()),
        endpoints: Default::default(),
        streams: vec![],
        load: NodeLoad::default(),
        seats_taken: 0,
        seats_carried: 0,
        state_since: since,
        launched_at: at.is_none().then_some(since),
        last_heartbeat_at: at,
        last_sent_at: at,
    }
}
