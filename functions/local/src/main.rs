//! `make dev`: the AWS emulator, the table and every API function on one
//! loopback port, in one process, through the same routers as on Lambda;
//! the scaler on a short tick; and (unless `STREAMFLEET_SCENARIO=none`)
//! simulated media nodes and a load scenario with a live view.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

use streamfleet_emulator::Emulator;
use streamfleet_local::api::Client;
use streamfleet_local::load::Curve;
use streamfleet_local::scenario::{self, Options};
use streamfleet_local::tick_queue;
use streamfleet_runtime::{app_state, aws_config, init_tracing, Config, Tuning};

const DEFAULT_PORT: u16 = 8080;
const DEFAULT_TABLE: &str = "streamfleet-local";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scenario =
        match std::env::var("STREAMFLEET_SCENARIO").as_deref() {
            Ok("none") => None,
            Ok(name) => Some(Curve::parse(name).with_context(|| {
                format!("STREAMFLEET_SCENARIO={name}: one of flash, evening, short, none")
            })?),
            Err(_) => Some(Curve::flash()),
        };
    if scenario.is_some() && std::env::var_os("RUST_LOG").is_none() {
        // The live view owns the terminal: errors only, and not the 503s
        // the scenario's players are meant to meet.
        std::env::set_var("RUST_LOG", "error,tower_http=off");
    }
    init_tracing();
    let port = match std::env::var("STREAMFLEET_PORT") {
        Ok(port) => port.parse::<u16>().context("STREAMFLEET_PORT must be a port number")?,
        Err(_) => DEFAULT_PORT,
    };
    let token = std::env::var("STREAMFLEET_ADMIN_TOKEN").unwrap_or_else(|_| random_secret());

    // An endpoint given by the caller means an emulator it runs; otherwise
    // start ours, which stops when this process does.
    let (emulator, endpoint) = match std::env::var("STREAMFLEET_AWS_ENDPOINT") {
        Ok(endpoint) => (None, endpoint),
        Err(_) => {
            let root =
                std::env::var_os("STREAMFLEET_REPO_ROOT").map(PathBuf::from).unwrap_or_else(|| ".".into());
            let emulator = Emulator::start_in_repo(&root).context("starting the AWS emulator")?;
            let endpoint = emulator.endpoint().to_owned();
            (Some(emulator), endpoint)
        }
    };
    let node_secret = std::env::var("STREAMFLEET_NODE_SECRET").unwrap_or_else(|_| random_secret());
    let mut tuning = Tuning::from_env()?;
    if scenario.is_some() && std::env::var_os(streamfleet_runtime::HEARTBEAT_INTERVAL_VAR).is_none() {
        // A compressed clock: nodes report every 2 s.
        tuning.heartbeat_interval = Duration::from_secs(2);
        tuning.stale_after = Duration::from_secs(6);
    }
    // No stream is read here: lookups' calls for a tick go to this
    // process's scaler.
    tuning.tick_calls_in_process = true;
    let tick = local_tick_every()?;
    tuning.tick_every = tick;
    tuning.schedule_every = tick.max(LOCAL_SCHEDULE);
    let sqs = aws_sdk_sqs::Client::new(&streamfleet_runtime::sdk_config(Some(&endpoint)).await);
    let table = std::env::var("STREAMFLEET_TABLE").unwrap_or_else(|_| DEFAULT_TABLE.to_owned());
    let tick_queue =
        tick_queue::create_queue(&sqs, &format!("{table}-ticks"), Duration::from_secs(5)).await?;
    let config = Config {
        table,
        admin_token: SecretString::from(token),
        node_secret: SecretString::from(node_secret),
        aws_endpoint: Some(endpoint.clone()),
        // Decisions go to the emulator's default bus, as on AWS: a rule
        // there sees them.
        event_bus: Some(
            std::env::var(streamfleet_runtime::EVENT_BUS_VAR).unwrap_or_else(|_| "default".to_owned()),
        ),
        // The scaler fanned out on a queue, as on AWS.
        tick_queue: Some(tick_queue.clone()),
        tuning,
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config(&config).await);
    streamfleet_dynamo::schema::create_table_if_missing(&dynamodb, &config.table).await?;
    let state = app_state(&config).await?;
    tick_queue::spawn_schedule(state.scaler.clone(), tuning.schedule_every);
    tick_queue::spawn_consumers(sqs, tick_queue, state.scaler.clone(), LOCAL_CONSUMERS);
    let app = streamfleet_http::local_app(state);

    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{port} (set STREAMFLEET_PORT to use another)"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let token = config.admin_token.expose_secret().to_owned();
    print_banner(&url, &token, &endpoint, &config.table);
    if let Some(curve) = scenario {
        let options =
            Options { curve, tick, heartbeat: tuning.heartbeat_interval, view: true, lifecycle_demo: true };
        tokio::spawn(play(Client::new(&url, &token), options, url.clone(), token.clone(), endpoint.clone()));
    }

    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    drop(emulator);
    println!("streamfleet stopped.");
    Ok(())
}

/// Plays the scenario with its live view, then says what happened; the
/// stack keeps running for the user to explore.
async fn play(client: Client, options: Options, url: String, token: String, endpoint: String) {
    // Let the banner be read before the view takes the screen.
    tokio::time::sleep(Duration::from_secs(3)).await;
    match scenario::run(&client, &options).await {
        Ok(outcome) => {
            print_banner(&url, &token, &endpoint, "streamfleet-local");
            println!(
                "scenario {} done: {outcome}
(the stack keeps running; Ctrl-C stops it)",
                options.curve.name
            );
        }
        Err(e) => eprintln!("the scenario failed: {e:#}"),
    }
}

/// The local schedule: ticks ordered this often for the time until the next.
const LOCAL_SCHEDULE: Duration = Duration::from_secs(30);
/// Consumers of the tick queue (on AWS, the event source's concurrency).
const LOCAL_CONSUMERS: usize = 2;

/// How often the local scaler ticks each group (`STREAMFLEET_TICK_SECS`,
/// default 5).
fn local_tick_every() -> anyhow::Result<Duration> {
    let secs = match std::env::var("STREAMFLEET_TICK_SECS") {
        Ok(secs) => secs
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .context("STREAMFLEET_TICK_SECS must be whole seconds")?,
        Err(_) => 5,
    };
    Ok(Duration::from_secs(secs))
}

/// Two random v4 UUIDs: 244 random bits, as 64 hex digits.
fn random_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn print_banner(url: &str, token: &str, endpoint: &str, table: &str) {
    println!(
        "\nstreamfleet is running (Ctrl-C stops everything)\n\
         \n  console      {url}/console (sign in with the admin token)\
         \n  API          {url}\
         \n  OpenAPI      {url}/v1/openapi.json\
         \n  admin token  {token}\
         \n  emulator     {endpoint} (table {table})\n\
         \nTry:\
         \n  curl -s -H 'Authorization: Bearer {token}' {url}/v1/nodegroups\
         \n  curl -s -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\
         \n       -d @events/examples/nodegroup.json {url}/v1/nodegroups\
         \n  curl -s -H 'Authorization: Bearer {token}' {url}/v1/nodegroups/live-eu   # its health: why it gets no node here\
         \n  curl -s -H 'Authorization: Bearer {token}' {url}/v1/nodegroups/live-eu/enrollment-key\
         \n  curl -s '{url}/v1/streams/live/cam1?action=publish&group=live-eu'\n"
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
