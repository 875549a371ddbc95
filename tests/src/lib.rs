//! The scenario-test harness: a real API on a loopback port, backed by its
//! own DynamoDB table on the AWS emulator, so tests run in parallel.

pub mod chaos;
pub mod conformance;
pub mod crowd;
pub mod iam;
pub mod nodes;
pub mod rates;
pub mod routes;
pub mod scaling;
pub mod sdk_seam;
pub mod workloads;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reqwest::{Method, RequestBuilder, Response};
use secrecy::SecretString;
use serde_json::Value;
use streamfleet_dynamo::CallCounter;
use streamfleet_emulator::Emulator;
use streamfleet_http::AppState;
use streamfleet_runtime::{app_state, app_state_with, aws_config, Config, Tuning};

/// The admin token of every test app; also the one in `events/` fixtures.
pub const ADMIN_TOKEN: &str = "local-dev-token-change-me";
/// The node secret of every test app; the fixtures' node credentials derive from it.
pub const NODE_SECRET: &str = "local-dev-node-secret-change-me-0123456789";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_owned()
}

/// The emulator of this test process: the one `make test` started (named
/// by `STREAMFLEET_TEST_AWS_ENDPOINT`), or one started here and stopped
/// when the process exits.
pub fn emulator_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    static OWN: OnceLock<Emulator> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("STREAMFLEET_TEST_AWS_ENDPOINT") {
        Ok(endpoint) => endpoint,
        Err(_) => {
            let emulator = Emulator::start_in_repo(&repo_root()).expect("the AWS emulator starts");
            OWN.get_or_init(|| emulator).endpoint().to_owned()
        }
    })
}

/// A configuration pointing at a fresh table of its own.
pub async fn fresh_config() -> Config {
    fresh_config_with(Tuning::default()).await
}

/// Logs of the code under test, shown for failing tests (`RUST_LOG` sets the level).
fn init_test_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

pub async fn fresh_config_with(tuning: Tuning) -> Config {
    init_test_tracing();
    let config = Config {
        table: format!("test-{}", uuid::Uuid::new_v4().simple()),
        admin_token: SecretString::from(ADMIN_TOKEN),
        node_secret: SecretString::from(NODE_SECRET),
        aws_endpoint: Some(emulator_endpoint().to_owned()),
        event_bus: None,
        tick_queue: None,
        tuning,
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config(&config).await);
    streamfleet_dynamo::schema::create_table_if_missing(&dynamodb, &config.table)
        .await
        .expect("table created");
    config
}

pub struct TestApp {
    pub url: String,
    pub config: Config,
    pub http: reqwest::Client,
}

/// Serves the local stack's router (every route) on a free loopback port.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Tuning::default()).await
}

pub async fn spawn_app_with(tuning: Tuning) -> TestApp {
    let config = fresh_config_with(tuning).await;
    serve(config.clone(), state(&config).await).await
}

/// An app whose DynamoDB requests `CallCounter` counts.
pub async fn spawn_counted_app(tuning: Tuning) -> (TestApp, CallCounter) {
    let config = fresh_config_with(tuning).await;
    let counter = CallCounter::default();
    let sdk = aws_config(&config).await;
    let client = counter.instrument(&aws_sdk_dynamodb::Client::new(&sdk));
    let state = app_state_with(&config, &sdk, client).expect("application state builds");
    (serve(config, state).await, counter)
}

/// Another API process over `app`'s table: its own caches, seat leases
/// and DynamoDB client, as another Lambda instance has.
pub async fn another_process(app: &TestApp) -> TestApp {
    serve(app.config.clone(), state(&app.config).await).await
}

async fn serve(config: Config, state: AppState) -> TestApp {
    serve_router(config, streamfleet_http::local_app(state)).await
}

/// Serves `app` (one function's router, say) on a free loopback port.
pub async fn serve_router(config: Config, app: axum::Router) -> TestApp {
    let app = app.layer(axum::middleware::from_fn(conformance::conforming));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("server runs") });
    TestApp { url, config, http: reqwest::Client::new() }
}

pub async fn state(config: &Config) -> AppState {
    app_state(config).await.expect("application state builds")
}

impl TestApp {
    /// A request carrying the admin token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(ADMIN_TOKEN)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    pub async fn create_group(&self, spec: &Value) -> Response {
        self.admin(Method::POST, "/v1/nodegroups").json(spec).send().await.expect("request sent")
    }

    pub async fn get_group(&self, name: &str) -> Response {
        self.admin(Method::GET, &format!("/v1/nodegroups/{name}")).send().await.expect("request sent")
    }

    /// The group's current version (its `ETag`).
    pub async fn etag(&self, group: &str) -> String {
        let response = self.get_group(group).await;
        response.headers()["etag"].to_str().expect("an ASCII ETag").to_owned()
    }

    /// A JSON merge patch of the group's spec, on its current version.
    pub async fn patch_group(&self, group: &str, patch: &Value) -> Response {
        self.admin(Method::PATCH, &format!("/v1/nodegroups/{group}"))
            .header("if-match", self.etag(group).await)
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string())
            .send()
            .await
            .expect("request sent")
    }

    /// A raw DynamoDB client on this app's table, for what the API cannot do yet.
    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&aws_config(&self.config).await)
    }
}

/// A valid group spec, as JSON, from `events/examples/nodegroup.json`,
/// that takes self-managed nodes: most scenarios enroll nodes of their own
/// making, as an operator's hand-run hosts. The scaler's scenarios, where
/// the cloud launches every node, and the tenancy ones turn it off.
pub fn group_spec(name: &str) -> Value {
    let mut spec = example_group_spec(name);
    spec["selfManagedNodes"] = Value::Bool(true);
    spec
}

/// The stack without caches (every request sees the store as it is), with
/// one group, `group`, serving app `live`.
pub async fn spawn_app_serving_live(group: &str) -> TestApp {
    let tuning = Tuning {
        fleet_cache_ttl: std::time::Duration::ZERO,
        group_cache_ttl: std::time::Duration::ZERO,
        ..Tuning::default()
    };
    let app = spawn_app_with(tuning).await;
    let mut spec = group_spec(group);
    spec["apps"] = serde_json::json!(["live"]);
    assert_eq!(app.create_group(&spec).await.status(), reqwest::StatusCode::CREATED);
    app
}

/// `events/examples/nodegroup.json` as it is, under another name.
pub fn example_group_spec(name: &str) -> Value {
    let text =
        std::fs::read_to_string(repo_root().join("events/examples/nodegroup.json")).expect("example exists");
    let mut spec: Value = serde_json::from_str(&text).expect("example is JSON");
    spec["name"] = Value::from(name);
    spec
}

/// A secret stored in the emulator's Secrets Manager; its ARN.
pub async fn stored_secret(value: &str) -> String {
    let sdk = streamfleet_runtime::sdk_config(Some(emulator_endpoint())).await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("streamfleet-test-{}", uuid::Uuid::new_v4().simple());
    let created =
        client.create_secret().name(name).secret_string(value).send().await.expect("secret created");
    created.arn().expect("an ARN").to_owned()
}

/// An EventBridge event from `events/eventbridge/<name>.json`.
pub fn eventbridge_fixture(name: &str) -> Value {
    let path = repo_root().join("events/eventbridge").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists")).expect("fixture is JSON")
}

/// The JSON body of a response.
pub async fn body(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}
