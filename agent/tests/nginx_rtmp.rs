//! End to end with real peers: two nginx-rtmp servers (an origin, and an
//! edge that pulls from it), each with a streamfleet agent reading its
//! `/stat` page, the local API, and ffmpeg publishing and playing what the
//! lookups return. Every process is bounded in time and killed at the end.
//! Needs nginx, libnginx-mod-rtmp and ffmpeg: `make test` installs them
//! (scripts/ensure-media.sh).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::scaling::simulated_group;
use streamfleet_scenarios::{body, spawn_app_with, TestApp};

const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
const INTERVAL: Duration = Duration::from_secs(1);
const GROUP: &str = "media";

/// Kills its process when dropped (a failing assertion included).
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sf-agent-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An nginx with an RTMP application `live` (pulling from `pull` if
/// given) and its `/stat` page.
fn nginx(dir: &Path, rtmp: u16, http: u16, pull: Option<u16>) -> Process {
    let pull = pull.map_or(String::new(), |port| format!("pull rtmp://127.0.0.1:{port}/live;"));
    let d = dir.display();
    let conf = format!(
        "load_module {MODULE};\n\
         daemon off; master_process off; worker_processes 1;\n\
         error_log {d}/error.log warn; pid {d}/nginx.pid;\n\
         events {{ worker_connections 128; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{rtmp}; application live {{ live on; {pull} }} }} }}\n\
         http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;\n\
                 uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
                 server {{ listen 127.0.0.1:{http}; location /stat {{ rtmp_stat all; }} }} }}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .args(["-p", &dir.display().to_string(), "-c", &dir.join("nginx.conf").display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx runs (make test installs it: scripts/ensure-media.sh)");
    Process(child)
}

fn agent(dir: &Path, app: &TestApp, key: &str, node: &str, role: &str, rtmp: u16, http: u16) -> Process {
    let conf = format!(
        r#"api_url = "{url}"
group = "{GROUP}"
role = "{role}"
credential = "{key}"
token_file = "{dir}/token"
node_id = "{node}"
region = "eu-west-1"
host = "127.0.0.1"
imds = false
interval_secs = {interval}

[endpoints]
rtmp = "rtmp://{{host}}:{rtmp}/{{app}}/{{stream}}"

[stats]
kind = "nginx_rtmp"
url = "http://127.0.0.1:{http}/stat"
"#,
        url = app.url,
        dir = dir.display(),
        interval = INTERVAL.as_secs()
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_streamfleet-agent"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the agent runs");
    Process(child)
}

fn ffmpeg(args: &[&str]) -> Process {
    let child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg runs (make test installs it: scripts/ensure-media.sh)");
    Process(child)
}

async fn node(app: &TestApp, id: &str) -> Value {
    body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/nodes/{id}")).send().await.unwrap()).await
}

/// Polls until `check` holds, at most `within`; returns the last value.
async fn eventually<F, Fut>(
    within: Duration,
    what: &str,
    mut probe: F,
    check: impl Fn(&Value) -> bool,
) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + within;
    loop {
        let value = probe().await;
        if check(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} not within {within:?}: {value}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_rtmp_nodes_report_real_publishers_and_players() {
    assert!(Path::new(MODULE).exists(), "{MODULE} is missing: run scripts/ensure-media.sh");
    let app = spawn_app_with(Tuning {
        heartbeat_interval: INTERVAL,
        stale_after: INTERVAL * 5,
        ..Tuning::default()
    })
    .await;
    let mut spec = simulated_group(GROUP, 4);
    spec["apps"] = json!(["live"]);
    // The nginx hosts run beside the test, not from the group's pool.
    spec["selfManagedNodes"] = json!(true);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    let key = app.enrollment_key(GROUP).await;

    let (origin_rtmp, origin_http, edge_rtmp, edge_http) =
        (free_port(), free_port(), free_port(), free_port());
    let (origin_dir, edge_dir) = (scratch("origin"), scratch("edge"));
    let _origin = nginx(&origin_dir, origin_rtmp, origin_http, None);
    let _edge = nginx(&edge_dir, edge_rtmp, edge_http, Some(origin_rtmp));
    let _origin_agent = agent(&origin_dir, &app, &key, "nginx-origin", "origin", origin_rtmp, origin_http);
    let _edge_agent = agent(&edge_dir, &app, &key, "nginx-edge", "edge", edge_rtmp, edge_http);
    for id in ["nginx-origin", "nginx-edge"] {
        // In service and reading its nginx (the first beats may come before nginx listens).
        eventually(
            Duration::from_secs(20),
            "enrolled and reading nginx",
            || node(&app, id),
            |n| n["state"] == "inService" && n["load"]["degraded"].is_null(),
        )
        .await;
    }

    // Publish where the lookup says.
    let published = body(app.lookup("/v1/streams/live/cam1?action=publish").await).await;
    assert_eq!(published["nodeId"], "nginx-origin", "{published}");
    let publish_url = published["urls"]["rtmp"].as_str().unwrap().to_owned();
    assert_eq!(publish_url, format!("rtmp://127.0.0.1:{origin_rtmp}/live/cam1"));
    let publisher = ffmpeg(&[
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        "25",
        "-c:a",
        "aac",
        "-t",
        "120",
        "-f",
        "flv",
        &publish_url,
    ]);
    // ffmpeg connects within a few seconds; then two heartbeat intervals.
    let origin = eventually(
        Duration::from_secs(10),
        "the origin reports the publisher",
        || node(&app, "nginx-origin"),
        |n| {
            n["load"]["publishers"] == 1
                && n["streams"].as_array().is_some_and(|s| s.iter().any(|k| k == "live/cam1"))
        },
    )
    .await;
    assert_eq!(origin["load"]["subscribers"], 0, "{origin}");

    // Play where the lookup says: an edge, which pulls from the origin.
    let watched = eventually(
        Duration::from_secs(10),
        "a subscribe lookup",
        || async {
            let response = app.lookup("/v1/streams/live/cam1?action=subscribe").await;
            body(response).await
        },
        |b| b["nodeId"].is_string(),
    )
    .await;
    assert_eq!(watched["nodeId"], "nginx-edge", "{watched}");
    let play_url = watched["urls"]["rtmp"].as_str().unwrap().to_owned();
    assert_eq!(play_url, format!("rtmp://127.0.0.1:{edge_rtmp}/live/cam1"));
    let player = ffmpeg(&["-i", &play_url, "-t", "120", "-f", "null", "-"]);
    eventually(
        Duration::from_secs(10),
        "the edge reports the player",
        || node(&app, "nginx-edge"),
        |n| n["load"]["subscribers"] == 1,
    )
    .await;

    // The publisher stops: the stream leaves the origin's report, and a
    // subscribe lookup answers "not live".
    drop(publisher);
    eventually(
        Duration::from_secs(10),
        "the stream leaves the origin's report",
        || node(&app, "nginx-origin"),
        |n| n["load"]["publishers"] == 0 && n["streams"].as_array().is_some_and(|s| s.is_empty()),
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "subscribe answers not live",
        || async {
            let response = app.lookup("/v1/streams/live/cam1?action=subscribe").await;
            let status = response.status().as_u16();
            json!({"status": status, "body": body(response).await})
        },
        |r| r["status"] == 404 && r["body"]["code"] == "not_live",
    )
    .await;
    drop(player);
}
