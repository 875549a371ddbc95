//! Real WebRTC clients given only streamfleet's URLs: aiortc (a full
//! WebRTC stack, `tests/webrtc/peer.py`) POSTs its offer to `/v1/whip/…`
//! or `/v1/whep/…`, follows the 307 to the node streamfleet chose, and
//! completes the offer/answer, ICE and DTLS with a real WebRTC endpoint on
//! the node's side; then video flows. Needs the aiortc venv: `make test`
//! installs it (scripts/ensure-webrtc.sh).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{group_spec, repo_root, spawn_app, TestApp};

const GROUP: &str = "webrtc";

fn python() -> std::path::PathBuf {
    let python = repo_root().join(".tools/webrtc-venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/ensure-webrtc.sh", python.display());
    python
}

fn peer_script() -> std::path::PathBuf {
    repo_root().join("tests/webrtc/peer.py")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A media node's WHIP or WHEP endpoint; killed when dropped.
struct NodePeer {
    child: Child,
    said: mpsc::Receiver<Value>,
}

impl NodePeer {
    fn start(kind: &str, port: u16) -> Self {
        let mut child = Command::new(python())
            .arg(peer_script())
            .args(["node", kind, &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the WebRTC peer runs");
        let stdout = child.stdout.take().unwrap();
        let (tell, said) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line) {
                    let _ = tell.send(value);
                }
            }
        });
        let peer = Self { child, said };
        let ready = peer.next(Duration::from_secs(30));
        assert_eq!(ready["ready"], true, "{ready}");
        peer
    }

    /// What it says next, within `within`.
    fn next(&self, within: Duration) -> Value {
        self.said.recv_timeout(within).unwrap_or_else(|e| panic!("the node's WebRTC peer said nothing: {e}"))
    }
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WHIP or WHEP client given `url`, run to its end (at most 40 s): its report.
async fn client(kind: &str, url: String) -> Value {
    let kind = kind.to_owned();
    tokio::task::spawn_blocking(move || {
        let output = Command::new("timeout")
            .arg("40")
            .arg(python())
            .arg(peer_script())
            .args(["client", &kind, &url])
            .output()
            .expect("the WebRTC client runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|_| {
            panic!("the client's report: {stdout} {}", String::from_utf8_lossy(&output.stderr))
        })
    })
    .await
    .unwrap()
}

async fn app() -> TestApp {
    let app = spawn_app().await;
    let mut spec = group_spec(GROUP);
    spec["apps"] = json!(["live"]);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    app
}

fn endpoint(kind: &str, port: u16) -> String {
    format!("http://{{host}}:{port}/{{app}}/{{stream}}/{kind}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webrtc_publisher_follows_the_307_and_sends_video_to_the_origin_chosen() {
    let app = app().await;
    let port = free_port();
    let node = NodePeer::start("whip", port);
    let origin = Report::new("origin", "eu-west-1", "127.0.0.1").serving("whip", &endpoint("whip", port));
    app.enroll(GROUP, "o-webrtc", &origin).await;

    let report = client("whip", format!("{}/v1/whip/live/cam1", app.url)).await;
    let landed = format!("http://127.0.0.1:{port}/live/cam1/whip");
    assert_eq!(report["redirects"], json!([{"status": 307, "location": landed}]), "{report}");
    assert_eq!((report["status"].as_u64(), report["url"].as_str()), (Some(201), Some(landed.as_str())));
    assert!(report["session"].as_str().unwrap().starts_with("/session/"), "{report}");
    assert_eq!(report["connected"], true, "ICE and DTLS: {report}");
    assert_eq!(node.next(Duration::from_secs(10))["framesReceived"], 10, "video reached the node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webrtc_player_follows_the_307_to_an_edge_and_receives_video() {
    let app = app().await;
    let live = Report {
        publishers: 1,
        streams: vec!["live/cam1".into()],
        ..Report::new("origin", "eu-west-1", "127.0.0.1")
    };
    app.enroll(GROUP, "o-1", &live).await;
    let port = free_port();
    let _node = NodePeer::start("whep", port);
    let edge = Report::new("edge", "eu-west-1", "127.0.0.1").serving("whep", &endpoint("whep", port));
    app.enroll(GROUP, "e-webrtc", &edge).await;

    let report = client("whep", format!("{}/v1/whep/live/cam1", app.url)).await;
    let landed = format!("http://127.0.0.1:{port}/live/cam1/whep");
    assert_eq!(report["redirects"], json!([{"status": 307, "location": landed}]), "{report}");
    assert_eq!(report["connected"], true, "ICE and DTLS: {report}");
    assert!(report["framesReceived"].as_u64().unwrap() >= 10, "video from the edge: {report}");
}
