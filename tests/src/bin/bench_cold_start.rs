//! `make bench`: each Lambda function's cold start, beside its floor, in one
//! run. A stand-in for the Lambda Runtime API serves each bootstrap (the
//! host's release build: `cargo build --release`) one event per start:
//!
//! - `cold_init_ms_<function>`: exec to the first `/next` request, median
//!   of `STREAMFLEET_COLD_STARTS` (default 20) starts;
//! - `cold_init_floor_ms_<function>`: the same for a hello-world
//!   `lambda_runtime` bootstrap, plus the AWS calls the function's init needs
//!   (each secret it reads, the DynamoDB warm-up) made by a bare SDK program
//!   (`bare-init`), each the median of starts interleaved with the function's;
//! - `cold_init_vs_floor_ratio_<function>` (bar ≤ 1.5);
//! - `first_invoke_ms_<function>`: from handing it the first event (its
//!   first `/next` answered) to its response, median.
//!
//! `bench_cold_start [DIR]`: DIR holds the bootstraps (default `target/release`).

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{
    emulator_endpoint, group_spec, repo_root, spawn_app, stored_secret, TestApp, ADMIN_TOKEN, NODE_SECRET,
};
use tokio::sync::mpsc;

const GROUP: &str = "live-eu";
/// The fixtures' nodes: `edge-origin` asks as this edge.
const ORIGIN: &str = "i-0origin000000001";
const EDGE: &str = "i-0edge00000000001";
/// An instance no group lists: the lifecycle function's interruption
/// warning for it is answered `unknown` and touches no node of the fleet
/// the other functions' events use.
const UNLISTED: &str = "i-0nobody000000001";
/// Nodes go stale after three heartbeat intervals (15 s): they report again
/// before a start when this much time has passed.
const REPORT_EVERY: Duration = Duration::from_secs(3);
const START_TIMEOUT: Duration = Duration::from_secs(30);
const HELLO: &str = "hello-bootstrap";
const BARE_INIT: &str = "bare-init";

/// What one function's deployment is: its binary, its template's settings.
struct Function {
    name: &'static str,
    memory_mb: u32,
    timeout_secs: u64,
    /// `STREAMFLEET_*` variables beside the table, the endpoint and the
    /// templates' global ones.
    vars: Vec<(&'static str, String)>,
    /// The secrets its init reads (their ids), for `bare-init`.
    secret_ids: Vec<String>,
    event: Value,
    /// What a real answer to `event` looks like.
    expect: fn(&Value) -> Result<(), String>,
}

/// What the stand-in saw of a start.
#[derive(Debug)]
enum Seen {
    /// The first `/next`: the event was handed out then.
    Next(Instant),
    Response(Instant, Bytes),
    Error(&'static str, Bytes),
}

/// The invocation waiting for the process being started, and where to tell
/// what it does.
#[derive(Default)]
struct Slot {
    pending: Option<Invocation>,
    seen: Option<mpsc::UnboundedSender<Seen>>,
}

struct Invocation {
    request_id: String,
    event: Bytes,
    deadline_ms: u64,
    arn: String,
}

type Shared = Arc<Mutex<Slot>>;

fn tell(slot: &Shared, seen: Seen) {
    if let Some(tx) = &slot.lock().expect("slot").seen {
        let _ = tx.send(seen);
    }
}

/// `GET /2018-06-01/runtime/invocation/next`: the pending event, once; a
/// later `/next` (the process done with it) waits until the process is killed.
async fn next(State(slot): State<Shared>) -> axum::response::Response {
    let arrived = Instant::now();
    let invocation = slot.lock().expect("slot").pending.take();
    let Some(invocation) = invocation else {
        return std::future::pending().await;
    };
    tell(&slot, Seen::Next(arrived));
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        headers.insert(name, value.parse().expect("a header value"));
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &invocation.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &invocation.arn);
    set("lambda-runtime-trace-id", &trace);
    (StatusCode::OK, headers, invocation.event).into_response()
}

async fn response(State(slot): State<Shared>, body: Bytes) -> StatusCode {
    tell(&slot, Seen::Response(Instant::now(), body));
    StatusCode::ACCEPTED
}

async fn error(State(slot): State<Shared>, body: Bytes) -> StatusCode {
    tell(&slot, Seen::Error("invocation error", body));
    StatusCode::ACCEPTED
}

async fn init_error(State(slot): State<Shared>, body: Bytes) -> StatusCode {
    tell(&slot, Seen::Error("init error", body));
    StatusCode::ACCEPTED
}

/// The Runtime API stand-in on a loopback port; its `host:port`.
async fn runtime_api(slot: Shared) -> String {
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(slot);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let address = listener.local_addr().expect("bound").to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the Runtime API serves") });
    address
}

/// One start's timings: exec to the first `/next`, the event to its answer.
struct Timings {
    init: Duration,
    invoke: Duration,
}

struct Bench {
    slot: Shared,
    runtime_api: String,
    binaries: PathBuf,
    logs: PathBuf,
    region: String,
    table: String,
}

impl Bench {
    /// The environment Lambda gives a `provided.al2023` bootstrap, and the
    /// templates' variables, for `function` named `name`.
    fn lambda_env(&self, command: &mut Command, name: &str, memory_mb: u32) {
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("_HANDLER", "bootstrap")
            .env("LAMBDA_TASK_ROOT", &self.binaries)
            .env("LAMBDA_RUNTIME_DIR", &self.binaries)
            .env("AWS_LAMBDA_RUNTIME_API", &self.runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("streamfleet-{name}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/streamfleet-{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/07/[$LATEST]0123456789abcdef")
            // The templates' LoggingConfig: JSON logs at their default level.
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_REGION", &self.region)
            .env("AWS_DEFAULT_REGION", &self.region)
            .env("AWS_ACCESS_KEY_ID", "emulator")
            .env("AWS_SECRET_ACCESS_KEY", "emulator")
            .env("AWS_SESSION_TOKEN", "emulator");
    }

    /// The templates' global variables, and the emulator as the endpoint.
    fn streamfleet_env(&self, command: &mut Command) {
        command
            .env("STREAMFLEET_TABLE", &self.table)
            .env("STREAMFLEET_AWS_ENDPOINT", emulator_endpoint())
            .env("STREAMFLEET_HEARTBEAT_INTERVAL_SECS", "5")
            .env("STREAMFLEET_HOOK_HEARTBEAT_TIMEOUT_SECS", "300");
    }

    fn log_file(&self, name: &str) -> File {
        File::options()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{name}.log")))
            .expect("a log file")
    }

    /// Starts `binary` as Lambda would, hands it `event` at its first `/next`
    /// and waits for its answer; kills it then.
    async fn start(
        &self,
        binary: &str,
        name: &str,
        memory_mb: u32,
        timeout_secs: u64,
        vars: &[(&'static str, String)],
        event: &Value,
    ) -> (Timings, Value) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let deadline_ms =
            (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64 + timeout_secs * 1000;
        {
            let mut slot = self.slot.lock().expect("slot");
            slot.seen = Some(tx);
            slot.pending = Some(Invocation {
                request_id: uuid::Uuid::new_v4().to_string(),
                event: Bytes::from(event.to_string()),
                deadline_ms,
                arn: format!("arn:aws:lambda:{}:123456789012:function:streamfleet-{name}", self.region),
            });
        }
        let mut command = Command::new(self.binaries.join(binary));
        self.lambda_env(&mut command, name, memory_mb);
        if binary != HELLO {
            self.streamfleet_env(&mut command);
            command.envs(vars.iter().map(|(k, v)| (*k, v)));
        }
        let log = self.log_file(binary);
        command.stdin(Stdio::null()).stdout(log.try_clone().expect("log")).stderr(log);
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|e| panic!("{binary} starts: {e}"));
        let outcome = watch(&mut child, &mut rx, started).await;
        let _ = child.kill();
        let _ = child.wait();
        let mut slot = self.slot.lock().expect("slot");
        slot.pending = None;
        slot.seen = None;
        drop(slot);
        outcome.unwrap_or_else(|e| {
            panic!(
                "{binary} ({name}): {e}; its output is in {}",
                self.logs.join(format!("{binary}.log")).display()
            )
        })
    }

    /// `bare-init`'s milliseconds for these secrets and the warm-up.
    async fn bare_init(&self, secret_ids: &[String]) -> f64 {
        let mut command = Command::new(self.binaries.join(BARE_INIT));
        self.lambda_env(&mut command, BARE_INIT, 128);
        self.streamfleet_env(&mut command);
        command.args(secret_ids).stdin(Stdio::null()).stderr(self.log_file(BARE_INIT));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("bare-init runs")
            .unwrap_or_else(|e| panic!("{BARE_INIT} starts: {e}"));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{BARE_INIT} failed ({}); see {}",
            output.status,
            self.logs.display()
        );
        text.trim().parse().unwrap_or_else(|_| panic!("{BARE_INIT} printed {text:?}"))
    }
}

/// Waits for the first `/next` and the answer, or the process's end.
async fn watch(
    child: &mut Child,
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    started: Instant,
) -> Result<(Timings, Value), String> {
    let mut next_at = None;
    let give_up = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        tokio::select! {
            seen = rx.recv() => match seen.expect("the Runtime API is up") {
                Seen::Next(at) => next_at = Some(at),
                Seen::Response(at, body) => {
                    let next_at = next_at.ok_or("an answer before any /next")?;
                    let answer = serde_json::from_slice(&body).map_err(|e| {
                        format!("its answer is not JSON ({e}): {}", String::from_utf8_lossy(&body))
                    })?;
                    let timings = Timings { init: next_at - started, invoke: at - next_at };
                    return Ok((timings, answer));
                }
                Seen::Error(kind, body) => {
                    return Err(format!("{kind}: {}", String::from_utf8_lossy(&body)));
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(5)) => {
                if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                    return Err(format!("it ended ({status}) before answering"));
                }
                if tokio::time::Instant::now() > give_up {
                    return Err(format!("no answer within {START_TIMEOUT:?}"));
                }
            }
        }
    }
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    }
}

/// The `q` quantile, the nearest sample.
fn quantile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("events").join(path)).expect("the fixture exists");
    serde_json::from_str(&text).expect("the fixture is JSON")
}

fn http_status(answer: &Value) -> Result<(), String> {
    match answer["statusCode"].as_u64() {
        Some(200) => Ok(()),
        _ => Err(format!("not a 200: {answer}")),
    }
}

/// The fleet the HTTP functions' events find: the `live-eu` group of the
/// fixtures, an origin holding `live/cam1` and an edge; the edge's token.
struct Fleet {
    app: TestApp,
    nodes: Vec<(&'static str, String, Report)>,
    reported: Instant,
}

impl Fleet {
    async fn set_up(app: TestApp) -> Self {
        let mut spec = group_spec(GROUP);
        spec["apps"] = json!(["live"]);
        let created = app.create_group(&spec).await;
        assert_eq!(created.status(), reqwest::StatusCode::CREATED, "the group is created");
        let mut origin = Report::new("origin", "eu-west-1", "198.51.100.1");
        let origin_token = app.enroll(GROUP, ORIGIN, &origin).await;
        let edge = Report::new("edge", "eu-west-1", "203.0.113.1");
        let edge_token = app.enroll(GROUP, EDGE, &edge).await;
        let published = app.lookup("/v1/streams/live/cam1?action=publish").await;
        assert_eq!(published.status(), reqwest::StatusCode::OK, "live/cam1 is published");
        origin.streams = vec!["live/cam1".to_owned()];
        let mut fleet = Self {
            app,
            nodes: vec![(ORIGIN, origin_token, origin), (EDGE, edge_token, edge)],
            reported: Instant::now(),
        };
        fleet.refresh().await;
        fleet
    }

    /// Every node reports, so that none is stale at the next start.
    async fn refresh(&mut self) {
        for (id, token, report) in &self.nodes {
            self.app.report(GROUP, id, token, report).await;
        }
        self.reported = Instant::now();
    }

    fn edge_token(&self) -> &str {
        &self.nodes[1].1
    }
}

#[tokio::main]
async fn main() {
    let binaries = std::env::args().nth(1).map_or_else(|| repo_root().join("target/release"), PathBuf::from);
    let binaries = std::fs::canonicalize(&binaries).unwrap_or_else(|e| panic!("{}: {e}", binaries.display()));
    let starts: usize =
        std::env::var("STREAMFLEET_COLD_STARTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    for binary in ["heartbeat", "lookup", "nodegroups", "scaler", "lifecycle", HELLO, BARE_INIT] {
        assert!(
            binaries.join(binary).is_file(),
            "{} is missing: cargo build --release --locked -p heartbeat -p lookup -p nodegroups -p scaler \
             -p lifecycle -p streamfleet-cold-start-floor",
            binaries.join(binary).display()
        );
    }

    // A fresh table (the in-process app's), its fleet, the secrets, the
    // decision bus and the tick queue, on the emulator.
    let app = spawn_app().await;
    let table = app.config.table.clone();
    let sdk = streamfleet_runtime::sdk_config(Some(emulator_endpoint())).await;
    let admin_secret = stored_secret(ADMIN_TOKEN).await;
    let node_secret = stored_secret(NODE_SECRET).await;
    let bus = format!("{table}-decisions");
    aws_sdk_eventbridge::Client::new(&sdk).create_event_bus().name(&bus).send().await.expect("bus created");
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = streamfleet_local::tick_queue::create_queue(
        &sqs,
        &format!("{table}-ticks"),
        Duration::from_secs(120),
    )
    .await
    .expect("tick queue created");
    let mut fleet = Fleet::set_up(app).await;

    let mut edge_origin = fixture("apigw/edge-origin.json");
    edge_origin["headers"]["authorization"] = json!(format!("Bearer {}", fleet.edge_token()));
    let mut interruption = fixture("eventbridge/spot-interruption.json");
    interruption["detail"]["instance-id"] = json!(UNLISTED);
    interruption["resources"] = json!([format!("arn:aws:ec2:us-east-1b:instance/{UNLISTED}")]);
    let functions = [
        Function {
            name: "heartbeat",
            memory_mb: 256,
            timeout_secs: 10,
            vars: vec![("STREAMFLEET_NODE_SECRET_ID", node_secret.clone())],
            secret_ids: vec![node_secret.clone()],
            event: edge_origin,
            expect: http_status,
        },
        Function {
            name: "lookup",
            memory_mb: 1024,
            timeout_secs: 10,
            vars: vec![],
            secret_ids: vec![],
            event: fixture("apigw/lookup-subscribe.json"),
            expect: http_status,
        },
        Function {
            name: "nodegroups",
            memory_mb: 256,
            timeout_secs: 10,
            vars: vec![
                ("STREAMFLEET_ADMIN_TOKEN_SECRET_ID", admin_secret.clone()),
                ("STREAMFLEET_NODE_SECRET_ID", node_secret.clone()),
                ("STREAMFLEET_EVENT_BUS", bus.clone()),
            ],
            secret_ids: vec![admin_secret.clone(), node_secret.clone()],
            event: fixture("apigw/nodegroups-list.json"),
            expect: http_status,
        },
        Function {
            name: "scaler",
            memory_mb: 512,
            timeout_secs: 120,
            vars: vec![
                ("STREAMFLEET_TICK_SECS", "10".to_owned()),
                ("STREAMFLEET_SCHEDULE_SECS", "60".to_owned()),
                ("STREAMFLEET_TICK_QUEUE_URL", queue.clone()),
                ("STREAMFLEET_EVENT_BUS", bus.clone()),
            ],
            secret_ids: vec![],
            event: fixture("eventbridge/scheduled.json"),
            // The schedule orders the group's ticks on the queue.
            expect: |answer| match answer["ordered"].as_u64() {
                Some(n) if n > 0 && answer["unsent"] == 0 => Ok(()),
                _ => Err(format!("no ticks ordered: {answer}")),
            },
        },
        Function {
            name: "lifecycle",
            memory_mb: 256,
            timeout_secs: 30,
            vars: vec![("STREAMFLEET_EVENT_BUS", bus.clone())],
            secret_ids: vec![],
            event: interruption,
            expect: |answer| match answer.as_str() {
                Some("unknown") => Ok(()),
                _ => Err(format!("not `unknown`: {answer}")),
            },
        },
    ];

    let slot = Shared::default();
    let runtime_api = runtime_api(slot.clone()).await;
    let logs = std::env::temp_dir().join(format!("streamfleet-cold-start-{}", std::process::id()));
    std::fs::create_dir_all(&logs).expect("a log directory");
    let bench = Bench { slot, runtime_api, binaries, logs, region: app_region(), table };
    eprintln!("cold starts: {starts} of each bootstrap from {}", bench.binaries.display());

    // The hello bootstrap's answer is its event.
    let hello_event = json!({ "hello": "world" });
    let mut samples: HashMap<&str, [Vec<f64>; 4]> = HashMap::new();
    let began = Instant::now();
    // Round after round, each function's start beside a hello start and a
    // bare-init run, so that a slower emulator or machine moves both alike.
    for round in 0..starts + 1 {
        for function in &functions {
            if fleet.reported.elapsed() >= REPORT_EVERY {
                fleet.refresh().await;
            }
            // Alternately first, so that neither always meets a warmer emulator.
            let early = if round % 2 == 1 { Some(floor(&bench, function, &hello_event).await) } else { None };
            let (timings, answer) = bench
                .start(
                    function.name,
                    function.name,
                    function.memory_mb,
                    function.timeout_secs,
                    &function.vars,
                    &function.event,
                )
                .await;
            if let Err(e) = (function.expect)(&answer) {
                panic!("{}'s first invocation: {e}", function.name);
            }
            let (hello, calls) = match early {
                Some(early) => early,
                None => floor(&bench, function, &hello_event).await,
            };
            // The first round warms the emulator (each its first calls of a
            // kind) and the page cache: not counted.
            if round == 0 {
                continue;
            }
            let [init, invoke, hello_init, bare] = samples.entry(function.name).or_default();
            init.push(ms(timings.init));
            invoke.push(ms(timings.invoke));
            hello_init.push(hello);
            bare.push(calls);
        }
    }
    eprintln!("  ({:.1} s of starts)", began.elapsed().as_secs_f64());

    for function in &functions {
        let [init, invoke, hello_init, bare] = samples.get_mut(function.name).expect("sampled");
        let spread = format!("{:.2}–{:.2}", quantile(init, 0.25), quantile(init, 0.75));
        let (init, invoke) = (median(init), median(invoke));
        let (hello_init, bare) = (median(hello_init), median(bare));
        let floor = hello_init + bare;
        let name = function.name;
        println!("cold_init_ms_{name}: {init:.2}");
        println!("cold_init_floor_ms_{name}: {floor:.2}");
        println!("cold_init_vs_floor_ratio_{name}: {:.3}", init / floor);
        println!("first_invoke_ms_{name}: {invoke:.2}");
        eprintln!(
            "  ({name}: init quartiles {spread} ms; floor: hello bootstrap to /next {hello_init:.2} ms, \
             bare SDK init ({} secrets + warm-up) {bare:.2} ms)",
            function.secret_ids.len()
        );
    }
    // The bootstraps' output is kept only when a start fails.
    let _ = std::fs::remove_dir_all(&bench.logs);
}

/// The floor's two parts beside one start of `function`: the hello
/// bootstrap's exec to `/next` (ms), and `bare-init`'s calls (ms).
async fn floor(bench: &Bench, function: &Function, hello_event: &Value) -> (f64, f64) {
    let (hello, echoed) = bench.start(HELLO, function.name, function.memory_mb, 10, &[], hello_event).await;
    assert_eq!(&echoed, hello_event, "the hello bootstrap echoes");
    (ms(hello.init), bench.bare_init(&function.secret_ids).await)
}

/// The region the in-process app's table is in (the functions must find it).
fn app_region() -> String {
    std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned())
}
