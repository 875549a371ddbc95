//! The agent against the local API and a stats page the test controls:
//! a page that breaks makes a degraded report with the last good figures
//! (no crash), the node token is kept for restarts, and a drain runs the
//! drain command once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use reqwest::{Method, StatusCode};
use streamfleet_agent::agent::{Agent, Beat, Identity};
use streamfleet_agent::config::Config;
use streamfleet_scenarios::scaling::simulated_group;
use streamfleet_scenarios::{body, spawn_app, TestApp};

const GROUP: &str = "agent";

/// A stats page whose text the test sets.
async fn stats_page(text: Arc<Mutex<String>>) -> String {
    let app = axum::Router::new().route(
        "/stat",
        get(move || {
            let text = text.clone();
            async move { text.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stat", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn config(app: &TestApp, key: &str, stats_url: &str, dir: &std::path::Path) -> Config {
    let text = format!(
        r#"api_url = "{}"
group = "{GROUP}"
role = "origin"
credential = "{key}"
token_file = "{}/token"
imds = false
drain_command = ["touch", "{}/drained"]
[endpoints]
rtmp = "rtmp://{{host}}:1935/{{app}}/{{stream}}"
[stats]
kind = "nginx_rtmp"
url = "{stats_url}"
"#,
        app.url,
        dir.display(),
        dir.display()
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

fn identity() -> Identity {
    Identity {
        node_id: "origin-1".into(),
        role: "origin".into(),
        region: "eu-west-1".into(),
        zone: None,
        host: "198.51.100.9".into(),
    }
}

async fn node(app: &TestApp) -> serde_json::Value {
    body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/nodes/origin-1")).send().await.unwrap())
        .await
}

/// A group, its key, an empty directory for the agent's files, and a stats
/// page serving a publishing nginx-rtmp.
struct Setting {
    app: TestApp,
    key: String,
    dir: std::path::PathBuf,
    page: Arc<Mutex<String>>,
    url: String,
}

async fn setting(name: &str) -> Setting {
    let app = spawn_app().await;
    // The agent enrolls a host of its own, not one the pool gave the group.
    let mut spec = simulated_group(GROUP, 2);
    spec["selfManagedNodes"] = serde_json::Value::Bool(true);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    let key = app.enrollment_key(GROUP).await;
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page = Arc::new(Mutex::new(include_str!("fixtures/nginx_rtmp_stat.xml").to_owned()));
    let url = stats_page(page.clone()).await;
    Setting { app, key, dir, page, url }
}

#[tokio::test]
async fn a_broken_stats_page_is_reported_degraded_and_a_drain_runs_the_drain_command_once() {
    let Setting { app, key, dir, page, url } = setting("sf-agent").await;

    let mut agent = Agent::new(identity(), config(&app, &key, &url, &dir)).expect("the agent starts");
    assert!(matches!(agent.beat().await, Beat::Accepted));
    let token = std::fs::read_to_string(dir.join("token")).expect("the node token is kept");
    assert!(token.starts_with("sfn."));
    assert_eq!(node(&app).await["load"]["publishers"], 1);

    // The page breaks: the last good figures, flagged degraded; no new session lands there.
    *page.lock().unwrap() = "<html>502 Bad Gateway</html>".into();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(matches!(agent.beat().await, Beat::Accepted));
    let degraded = node(&app).await;
    assert_eq!(
        (degraded["load"]["degraded"].as_bool(), degraded["load"]["publishers"].as_u64()),
        (Some(true), Some(1))
    );
    let lookup = app.lookup(&format!("/v1/streams/live/other?action=publish&group={GROUP}")).await;
    assert_eq!(lookup.status(), StatusCode::SERVICE_UNAVAILABLE, "a degraded node takes no new session");

    // A restarted agent reports with its kept token (the key would be refused).
    *page.lock().unwrap() = include_str!("fixtures/nginx_rtmp_idle.xml").into();
    let mut restarted =
        Agent::new(identity(), config(&app, "sfe.not-the-key", &url, &dir)).expect("the agent starts");
    assert!(matches!(restarted.beat().await, Beat::Accepted));
    assert!(node(&app).await["load"]["degraded"].is_null());

    // The group is deleted with drain: the node learns it drains and runs its command, once.
    let etag = app.get_group(GROUP).await.headers()["etag"].to_str().unwrap().to_owned();
    let deleted = app
        .admin(Method::DELETE, &format!("/v1/nodegroups/{GROUP}?drain=true"))
        .header("If-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    app.tick(GROUP).await;
    assert!(matches!(restarted.beat().await, Beat::Accepted));
    assert_eq!(restarted.state.as_deref(), Some("draining"));
    assert!(dir.join("drained").exists(), "the drain command ran");
    std::fs::remove_file(dir.join("drained")).unwrap();
    assert!(matches!(restarted.beat().await, Beat::Accepted));
    assert!(!dir.join("drained").exists(), "once");
}

#[tokio::test]
async fn a_node_the_api_forgot_enrolls_again_with_the_groups_key_at_once() {
    let Setting { app, key, dir, url, .. } = setting("sf-agent-forgot").await;
    let mut agent = Agent::new(identity(), config(&app, &key, &url, &dir)).expect("the agent starts");
    assert!(matches!(agent.beat().await, Beat::Accepted));

    app.forget_node(GROUP, "origin-1").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(matches!(agent.beat().await, Beat::Forgotten));
    assert!(!dir.join("token").exists(), "the dead token is dropped");
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(matches!(agent.beat().await, Beat::Accepted));
    assert!(dir.join("token").exists(), "the new enrolment's token is kept");
    assert_eq!(node(&app).await["load"]["publishers"], 1, "known and reporting again");
}

#[tokio::test]
async fn an_unreachable_api_is_an_outcome_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("sf-agent-down-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = Arc::new(Mutex::new(String::new()));
    let url = stats_page(page).await;
    let text = format!(
        "api_url = \"http://127.0.0.1:9\"\ngroup = \"g\"\nrole = \"edge\"\ncredential = \"k\"\ntoken_file = \"{}/t\"\nimds = false\n[endpoints]\n[stats]\nkind = \"nginx_rtmp\"\nurl = \"{url}\"\n",
        dir.display()
    );
    std::fs::write(dir.join("a.toml"), text).unwrap();
    let mut agent =
        Agent::new(identity(), Config::load(&dir.join("a.toml")).unwrap()).expect("the agent starts");
    assert!(matches!(agent.beat().await, Beat::Unreachable(_)));
}

#[tokio::test]
async fn imds_v2_gives_the_identity_with_a_session_token() {
    use axum::http::{HeaderMap, StatusCode as Status};
    let app = axum::Router::new()
        .route(
            "/latest/api/token",
            axum::routing::put(|headers: HeaderMap| async move {
                match headers.get("x-aws-ec2-metadata-token-ttl-seconds") {
                    Some(_) => (Status::OK, "tok-123".to_owned()),
                    None => (Status::BAD_REQUEST, String::new()),
                }
            }),
        )
        .route(
            "/latest/meta-data/{*path}",
            get(|axum::extract::Path(path): axum::extract::Path<String>, headers: HeaderMap| async move {
                if headers.get("x-aws-ec2-metadata-token").and_then(|v| v.to_str().ok()) != Some("tok-123") {
                    return (Status::UNAUTHORIZED, String::new());
                }
                match path.as_str() {
                    "instance-id" => (Status::OK, "i-0abc".into()),
                    "placement/region" => (Status::OK, "eu-west-1".into()),
                    "placement/availability-zone" => (Status::OK, "eu-west-1b".into()),
                    "public-hostname" => (Status::NOT_FOUND, String::new()),
                    "public-ipv4" => (Status::OK, "203.0.113.50".into()),
                    "autoscaling/target-lifecycle-state" => (Status::OK, "Warmed:Stopped".into()),
                    _ => (Status::NOT_FOUND, String::new()),
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let imds = streamfleet_agent::imds::Imds::connect(&base).await.unwrap();
    let identity = imds.identity().await.unwrap();
    assert_eq!(identity.instance_id.as_deref(), Some("i-0abc"));
    assert_eq!(identity.zone.as_deref(), Some("eu-west-1b"));
    assert_eq!(identity.host.as_deref(), Some("203.0.113.50"), "no public DNS name: the public IP");
    let target = imds.target_lifecycle_state().await.unwrap();
    assert_eq!(target.as_deref(), Some("Warmed:Stopped"), "an instance in its warm pool");
}

#[test]
fn an_instance_in_its_warm_pool_stays_quiet_unless_it_still_serves_viewers() {
    let dir = std::env::temp_dir().join(format!("sf-agent-pool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "api_url = \"http://127.0.0.1:9\"\ngroup = \"g\"\nrole = \"edge\"\ncredential = \"k\"\ntoken_file = \"{}/t\"\n[endpoints]\n[stats]\nkind = \"nginx_rtmp\"\nurl = \"http://127.0.0.1:9/stat\"\n",
        dir.display()
    );
    std::fs::write(dir.join("a.toml"), text).unwrap();
    let mut agent =
        Agent::new(identity(), Config::load(&dir.join("a.toml")).unwrap()).expect("the agent starts");
    for state in [None, Some("InService"), Some("Terminated")] {
        assert!(!agent.quiet_in_pool(state), "{state:?}: not in a pool, or no Auto Scaling group");
    }
    for state in ["Warmed:Stopped", "Warmed:Hibernated", "Warmed:Running"] {
        assert!(agent.quiet_in_pool(Some(state)), "launched into the pool: {state}");
    }
    // A scale-in returns it to the pool: held while its viewers leave,
    // which only its reports tell.
    agent.state = Some("draining".into());
    assert!(!agent.quiet_in_pool(Some("Warmed:Stopped")), "still draining");
    agent.state = Some("terminating".into());
    assert!(agent.quiet_in_pool(Some("Warmed:Stopped")), "let go: quiet");
    assert_eq!(agent.state, None, "its next life starts afresh");
}
