//! The `streamfleet` binary against the local stack (every route on one
//! port, DynamoDB on the emulator): each subcommand's happy path and a
//! failure, with the exit codes scripts rely on.

use std::process::Output;

use serde_json::Value;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::simulated_group;
use streamfleet_scenarios::{spawn_app, TestApp, ADMIN_TOKEN};

/// Runs the CLI against `app` (blocking, off the runtime that serves it).
async fn cli(app: &TestApp, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_streamfleet"));
    command
        .args(args)
        .env("STREAMFLEET_URL", &app.url)
        .env("STREAMFLEET_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("HOME", std::env::temp_dir())
        .env_remove("STREAMFLEET_CONFIG");
    tokio::task::spawn_blocking(move || command.output().expect("the CLI runs")).await.unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts success; returns stdout.
fn ok(output: Output) -> String {
    assert!(output.status.success(), "exit {:?}: {}", output.status.code(), stderr(&output));
    stdout(&output)
}

/// Asserts failure with `code`; returns stderr.
fn fails(output: Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "stdout {} stderr {}", stdout(&output), stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    stderr(&output)
}

fn spec_file(name: &str) -> tempfile_path::Path {
    // Its nodes enroll by hand, not from the pool.
    let mut spec = simulated_group(name, 4);
    spec["selfManagedNodes"] = Value::Bool(true);
    tempfile_path::write(&format!("{name}.json"), &spec.to_string())
}

/// A file in a fresh directory under the target dir, kept for post-mortems.
mod tempfile_path {
    pub type Path = std::path::PathBuf;

    pub fn write(name: &str, text: &str) -> Path {
        let dir = std::env::temp_dir().join(format!("streamfleet-cli-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn uuid_like() -> String {
        format!("{}-{:?}", std::process::id(), std::time::SystemTime::now())
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_create_list_show_update_delete() {
    let app = spawn_app().await;
    let file = spec_file("cli-groups");
    let created = ok(cli(&app, &["groups", "create", file.to_str().unwrap()]).await);
    assert!(created.contains("cli-groups"), "{created}");
    let again = fails(cli(&app, &["groups", "create", file.to_str().unwrap()]).await, 1);
    assert!(again.contains("already_exists") || again.contains("exists"), "{again}");

    let listed = ok(cli(&app, &["groups", "list"]).await);
    assert!(listed.contains("cli-groups") && listed.contains("NAME"), "{listed}");
    let json: Value =
        serde_json::from_str(&ok(cli(&app, &["groups", "list", "--output", "json"]).await)).unwrap();
    assert_eq!(json[0]["name"], "cli-groups");

    let shown: Value =
        serde_json::from_str(&ok(cli(&app, &["-o", "json", "groups", "show", "cli-groups"]).await)).unwrap();
    assert_eq!(shown["roles"]["edge"]["scale"]["max"], 4);
    assert!(fails(cli(&app, &["groups", "show", "nope"]).await, 1).contains("HTTP 404"));

    let patched = ok(cli(
        &app,
        &[
            "-o",
            "json",
            "groups",
            "update",
            "cli-groups",
            "--patch",
            r#"{"roles":{"edge":{"scale":{"max":6}}}}"#,
        ],
    )
    .await);
    assert_eq!(serde_json::from_str::<Value>(&patched).unwrap()["roles"]["edge"]["scale"]["max"], 6);
    let replaced =
        ok(cli(&app, &["-o", "json", "groups", "update", "cli-groups", "--file", file.to_str().unwrap()])
            .await);
    assert_eq!(serde_json::from_str::<Value>(&replaced).unwrap()["version"], 3);
    let invalid = fails(
        cli(
            &app,
            &["groups", "update", "cli-groups", "--patch", r#"{"roles":{"edge":{"scale":{"max":0}}}}"#],
        )
        .await,
        1,
    );
    assert!(invalid.contains("field roles.edge.scale"), "the API's message and field: {invalid}");
    fails(cli(&app, &["groups", "update", "cli-groups", "--patch", "{not json"]).await, 2);

    assert!(ok(cli(&app, &["groups", "delete", "cli-groups"]).await).contains("deleted"));
    fails(cli(&app, &["groups", "delete", "cli-groups"]).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_lookups_events_and_the_pool() {
    let app = spawn_app().await;
    ok(cli(&app, &["groups", "create", spec_file("cli-nodes").to_str().unwrap()]).await);
    let origin = Report::new("origin", "eu-west-1", "198.51.100.1");
    let edge = Report::new("edge", "eu-west-1", "203.0.113.1");
    let origin_token = app.enroll("cli-nodes", "origin-1", &origin).await;
    app.enroll("cli-nodes", "edge-1", &edge).await;

    let nodes = ok(cli(&app, &["nodes", "list", "cli-nodes"]).await);
    assert!(nodes.contains("origin-1") && nodes.contains("edge-1") && nodes.contains("inService"), "{nodes}");
    assert!(ok(cli(&app, &["nodes", "cordon", "cli-nodes", "edge-1"]).await).contains("true"));
    assert!(ok(cli(&app, &["nodes", "uncordon", "cli-nodes", "edge-1"]).await).contains("false"));
    fails(cli(&app, &["nodes", "cordon", "cli-nodes", "edge-9"]).await, 1);

    let published = ok(cli(&app, &["lookup", "publish", "live", "cam1", "--group", "cli-nodes"]).await);
    assert!(published.contains("origin-1") && published.contains("rtmp://198.51.100.1"), "{published}");
    let mut holding = origin.clone();
    holding.publishers = 1;
    holding.streams = vec!["live/cam1".into()];
    app.report("cli-nodes", "origin-1", &origin_token, &holding).await;
    let watched =
        ok(cli(&app, &["-o", "json", "lookup", "subscribe", "live", "cam1", "--group", "cli-nodes"]).await);
    assert_eq!(serde_json::from_str::<Value>(&watched).unwrap()["nodeId"], "edge-1");
    assert!(fails(cli(&app, &["lookup", "subscribe", "live", "nobody", "--group", "cli-nodes"]).await, 1)
        .contains("not_live"));

    app.tick("cli-nodes").await;
    ok(cli(&app, &["events", "cli-nodes"]).await);
    fails(cli(&app, &["events", "nope"]).await, 1);

    let added =
        ok(cli(&app, &["provision", "add", "host-1", "--region", "eu-west-1", "--address", "10.0.0.1"])
            .await);
    assert!(added.contains("available"), "{added}");
    assert!(ok(cli(&app, &["provision", "list"]).await).contains("host-1"));
    assert!(fails(cli(&app, &["provision", "reset", "host-1"]).await, 1).contains("not_terminated"));
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_and_connection_failures_have_their_own_exit_codes() {
    let app = spawn_app().await;
    let mut no_url = std::process::Command::new(env!("CARGO_BIN_EXE_streamfleet"));
    no_url.args(["groups", "list"]).env_remove("STREAMFLEET_URL").env("HOME", std::env::temp_dir());
    let output = tokio::task::spawn_blocking(move || no_url.output().unwrap()).await.unwrap();
    assert!(fails(output, 2).contains("no API URL"));

    let mut unreachable = std::process::Command::new(env!("CARGO_BIN_EXE_streamfleet"));
    unreachable.args(["--url", "http://127.0.0.1:9", "groups", "list"]).env("HOME", std::env::temp_dir());
    let output = tokio::task::spawn_blocking(move || unreachable.output().unwrap()).await.unwrap();
    assert!(fails(output, 3).contains("cannot reach"));

    let config = tempfile_path::write(
        "config.json",
        &format!(r#"{{"url": "{}", "token": "wrong-token-0123456789"}}"#, app.url),
    );
    let mut bad_token = std::process::Command::new(env!("CARGO_BIN_EXE_streamfleet"));
    bad_token
        .args(["--config", config.to_str().unwrap(), "groups", "list"])
        .env_remove("STREAMFLEET_URL")
        .env_remove("STREAMFLEET_ADMIN_TOKEN");
    let output = tokio::task::spawn_blocking(move || bad_token.output().unwrap()).await.unwrap();
    assert!(fails(output, 1).contains("HTTP 403"));
}

#[tokio::test(flavor = "multi_thread")]
async fn simulate_and_trace_run_offline() {
    let app = spawn_app().await;
    let trace = tempfile_path::write(
        "tiny.csv",
        "t_secs,stream,viewers\n0,a,100\n300,a,1500\n600,a,200\n900,a,200\n",
    );
    let report = ok(cli(&app, &["simulate", "--trace", trace.to_str().unwrap(), "--report", "json"]).await);
    let runs: Value = serde_json::from_str(&report).unwrap();
    let policies: Vec<&str> =
        runs[0]["outcomes"].as_array().unwrap().iter().map(|o| o["policy"].as_str().unwrap()).collect();
    assert_eq!(policies, streamfleet_sim::POLICIES);
    assert_eq!(runs[0]["outcomes"][0]["cut"], 0);
    let lines = ok(cli(&app, &["simulate", "--trace", trace.to_str().unwrap(), "--report", "bench"]).await);
    assert!(lines.contains("sim_tiny_streamfleet_hours_vs_oracle: "), "{lines}");
    assert!(lines.contains("sim_tiny_streamfleet_event_hours_vs_no_migration_oracle: "), "{lines}");
    assert!(ok(cli(&app, &["trace", "generate", "sawtooth", "--seed", "3"]).await)
        .starts_with("# streamfleet trace"));
    fails(cli(&app, &["trace", "generate", "square"]).await, 2);
    fails(cli(&app, &["simulate", "--trace", "/no/such.csv"]).await, 2);
}
