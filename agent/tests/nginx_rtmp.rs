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

/// An nginx with an RTMP application `live` (with `live_extra` in it: a
/// pull, a push, HLS) and its `/stat` page (with `http_extra` beside it).
fn nginx(dir: &Path, rtmp: u16, http: u16, live_extra: &str, http_extra: &str) -> Process {
    let d = dir.display();
    let conf = format!(
        "load_module {MODULE};\n\
         daemon off; master_process off; worker_processes 1;\n\
         error_log {d}/error.log warn; pid {d}/nginx.pid;\n\
         events {{ worker_connections 128; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{rtmp}; application live {{ live on; {live_extra} }} }} }}\n\
         http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;\n\
                 uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
                 server {{ listen 127.0.0.1:{http}; location /stat {{ rtmp_stat all; }} {http_extra} }} }}\n"
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

/// A streamfleet agent for the nginx at `rtmp`/`http`, reporting RTMP
/// (and `more_endpoints`, TOML lines) as its endpoints, with `settings`
/// (TOML lines) besides.
fn agent(
    dir: &Path,
    app: &TestApp,
    key: &str,
    node: (&str, &str),
    ports: (u16, u16),
    (settings, more_endpoints): (&str, &str),
) -> Process {
    let ((node, role), (rtmp, http)) = (node, ports);
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
{settings}

[endpoints]
rtmp = "rtmp://{{host}}:{rtmp}/{{app}}/{{stream}}"
{more_endpoints}

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

/// The API, and a group of self-managed nodes serving `live`; its key.
async fn media_group() -> (TestApp, String) {
    media_group_with(json!({})).await
}

/// `media_group`, with `spec`'s fields set on the group.
async fn media_group_with(more: Value) -> (TestApp, String) {
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
    for (field, value) in more.as_object().unwrap() {
        spec[field] = value.clone();
    }
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    let key = app.enrollment_key(GROUP).await;
    (app, key)
}

/// ffmpeg sending two minutes of test pattern and tone to `url` over RTMP.
fn publish(url: &str) -> Process {
    ffmpeg(&[
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
        url,
    ])
}

/// Each node in service and reading its nginx (the first beats may come
/// before nginx listens).
async fn in_service(app: &TestApp, ids: &[&str]) {
    for id in ids {
        eventually(
            Duration::from_secs(20),
            "enrolled and reading nginx",
            || node(app, id),
            |n| n["state"] == "inService" && n["load"]["degraded"].is_null(),
        )
        .await;
    }
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
    let (app, key) = media_group().await;

    let (origin_rtmp, origin_http, edge_rtmp, edge_http) =
        (free_port(), free_port(), free_port(), free_port());
    let (origin_dir, edge_dir) = (scratch("origin"), scratch("edge"));
    let _origin = nginx(&origin_dir, origin_rtmp, origin_http, "", "");
    let pull = format!("pull rtmp://127.0.0.1:{origin_rtmp}/live;");
    let _edge = nginx(&edge_dir, edge_rtmp, edge_http, &pull, "");
    let _origin_agent =
        agent(&origin_dir, &app, &key, ("nginx-origin", "origin"), (origin_rtmp, origin_http), ("", ""));
    let _edge_agent = agent(&edge_dir, &app, &key, ("nginx-edge", "edge"), (edge_rtmp, edge_http), ("", ""));
    in_service(&app, &["nginx-origin", "nginx-edge"]).await;

    // Publish where the lookup says.
    let published = body(app.lookup("/v1/streams/live/cam1?action=publish").await).await;
    assert_eq!(published["nodeId"], "nginx-origin", "{published}");
    let publish_url = published["urls"]["rtmp"].as_str().unwrap().to_owned();
    assert_eq!(publish_url, format!("rtmp://127.0.0.1:{origin_rtmp}/live/cam1"));
    let publisher = publish(&publish_url);
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

/// An HLS player given only streamfleet's URL: ffmpeg GETs
/// `/v1/hls/live/cam1.m3u8`, follows the 302 to a real nginx-rtmp edge
/// (fed by its origin's push, `hls on`, served over HTTP) and plays the
/// segments, which it resolves against the edge's URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hls_player_follows_the_redirect_to_a_real_nginx_edge_and_plays() {
    let (app, key) = media_group().await;
    let (origin_rtmp, origin_http, edge_rtmp, edge_http) =
        (free_port(), free_port(), free_port(), free_port());
    let (origin_dir, edge_dir) = (scratch("hls-origin"), scratch("hls-edge"));
    let push = format!("push rtmp://127.0.0.1:{edge_rtmp}/live;");
    let _origin = nginx(&origin_dir, origin_rtmp, origin_http, &push, "");
    let hls =
        format!("hls on; hls_path {}/hls; hls_fragment 1s; hls_playlist_length 6s;", edge_dir.display());
    let serve_hls = format!(
        "location /hls {{ root {}; types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }} }}",
        edge_dir.display()
    );
    let _edge = nginx(&edge_dir, edge_rtmp, edge_http, &hls, &serve_hls);
    let _origin_agent =
        agent(&origin_dir, &app, &key, ("hls-origin", "origin"), (origin_rtmp, origin_http), ("", ""));
    let edge_hls = format!(r#"hls = "http://{{host}}:{edge_http}/hls/{{stream}}.m3u8""#);
    let _edge_agent =
        agent(&edge_dir, &app, &key, ("hls-edge", "edge"), (edge_rtmp, edge_http), ("", &edge_hls));
    in_service(&app, &["hls-origin", "hls-edge"]).await;

    let published = body(app.lookup("/v1/streams/live/cam1?action=publish").await).await;
    let _publisher = publish(published["urls"]["rtmp"].as_str().unwrap());
    eventually(
        Duration::from_secs(10),
        "the origin reports the stream",
        || node(&app, "hls-origin"),
        |n| n["streams"].as_array().is_some_and(|s| s.iter().any(|k| k == "live/cam1")),
    )
    .await;

    // The player: streamfleet's URL only. Its log says where it went.
    let entry = format!("{}/v1/hls/live/cam1.m3u8", app.url);
    let played = eventually(
        Duration::from_secs(30),
        "ffmpeg plays 25 frames through the redirect",
        || play_hls(&entry),
        |p| p["frames"].as_u64().is_some_and(|f| f >= 25),
    )
    .await;
    let log = played["log"].as_str().unwrap();
    let edge = format!("http://127.0.0.1:{edge_http}/hls/");
    assert!(log.contains(&format!("{edge}cam1.m3u8")), "the playlist from the edge: {log}");
    assert!(log.contains(&edge) && log.contains(".ts"), "segments from the edge, resolved there: {log}");
}

/// ffmpeg reading 25 video frames of `url` (at most 20 s): the frames it
/// decoded and its log.
async fn play_hls(url: &str) -> Value {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let output = Command::new("timeout")
            .args(["20", "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "verbose", "-i", &url])
            .args(["-map", "0:v:0", "-frames:v", "25", "-f", "framemd5", "-"])
            .output()
            .expect("ffmpeg runs");
        let frames = String::from_utf8_lossy(&output.stdout).lines().filter(|l| !l.starts_with('#')).count();
        json!({"frames": frames, "log": String::from_utf8_lossy(&output.stderr)})
    })
    .await
    .unwrap()
}

/// A group that requires admission tokens: the origin's nginx-rtmp asks its
/// agent (`on_publish`) before it admits a publisher, and ffmpeg gets in
/// only with the token its lookup answered, for that stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_rtmp_admits_a_publisher_only_with_the_token_of_its_lookup() {
    let (app, key) = media_group_with(json!({"requireAdmissionTokens": true})).await;
    let (rtmp, http, callbacks) = (free_port(), free_port(), free_port());
    let dir = scratch("admission-origin");
    let on_publish = format!("on_publish http://127.0.0.1:{callbacks}/nginx-rtmp/on_publish;");
    let _origin = nginx(&dir, rtmp, http, &on_publish, "");
    let listen = format!(r#"admission_listen = "127.0.0.1:{callbacks}""#);
    let _agent = agent(&dir, &app, &key, ("gated-origin", "origin"), (rtmp, http), (&listen, ""));
    in_service(&app, &["gated-origin"]).await;

    let lookup = body(app.lookup("/v1/streams/live/cam1?action=publish").await).await;
    let token = lookup["token"].as_str().expect("a token: the group requires them").to_owned();
    let with_token = lookup["urls"]["rtmp"].as_str().unwrap().to_owned();
    assert_eq!(with_token, format!("rtmp://127.0.0.1:{rtmp}/live/cam1?token={token}"));
    let other = body(app.lookup("/v1/streams/live/cam2?action=publish").await).await;
    let others_token = other["token"].as_str().unwrap();

    let bare = format!("rtmp://127.0.0.1:{rtmp}/live/cam1");
    for (url, why) in [(bare.clone(), "no token"), (format!("{bare}?token={others_token}"), "cam2's token")] {
        assert!(!publish_for(&url, 3).await, "refused with {why}");
    }
    assert_eq!(node(&app, "gated-origin").await["load"]["publishers"], 0);

    let _publisher = publish(&with_token);
    eventually(
        Duration::from_secs(15),
        "the origin reports the admitted publisher",
        || node(&app, "gated-origin"),
        |n| {
            n["load"]["publishers"] == 1
                && n["streams"].as_array().is_some_and(|s| s.iter().any(|k| k == "live/cam1"))
        },
    )
    .await;
}

/// Whether ffmpeg could publish `secs` seconds to `url` (a refused
/// publisher fails at once).
async fn publish_for(url: &str, secs: u32) -> bool {
    let (url, secs) = (url.to_owned(), secs.to_string());
    tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .args(["20", "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
            .args([
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=10",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
            ])
            .args(["-t", &secs, "-f", "flv", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("ffmpeg runs")
            .success()
    })
    .await
    .unwrap()
}
