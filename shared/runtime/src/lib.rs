//! Start-up shared by every streamfleet process (Lambda functions, the local
//! stack, the tests): read the configuration once, build the AWS clients
//! once, and assemble the application state.

mod config;
mod function;
mod lifecycle_event;
pub mod metrics;
pub mod secrets;
mod warm_up;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::Credentials;
use streamfleet_core::credentials::{NodeCredentials, WeakSecret};
use streamfleet_core::fleet::SimulatedFleet;
use streamfleet_core::ports::{DecisionEvents, NoDecisionEvents, TickQueue};
use streamfleet_core::service::{
    Fleets, HeartbeatSettings, Heartbeats, LookupSettings, Lookups, NodeGroups, Operator, Pool, Scaler,
    ScalerSettings, ScalerStores,
};
use streamfleet_core::SystemClock;
use streamfleet_dynamo::DynamoStore;
use streamfleet_http::{AdminToken, AppState};

pub use config::{
    Config, ConfigError, Tuning, Vars, AWS_ENDPOINT_VAR, EVENT_BUS_VAR, FLEET_CACHE_VAR, GROUP_CACHE_VAR,
    HEARTBEAT_INTERVAL_VAR, HOOK_TIMEOUT_VAR, SCHEDULE_VAR, SEAT_LEASE_VAR, TABLE_VAR, TICK_QUEUE_VAR,
    TICK_VAR,
};
pub use function::Function;
mod queued_ticks;
mod tick_delivery;
pub use lifecycle_event::{
    handle_lifecycle_event, parse_lifecycle_event, run_lifecycle_function, EventError,
};
pub use queued_ticks::{batch_response, carry_out_orders, messages_of, BatchOutcome, QueuedOrder};
pub use secrets::SecretError;
pub use warm_up::{warm_up, WarmUp};

/// Logs as JSON on Lambda (CloudWatch parses it), as text elsewhere; the
/// level comes from `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`), default `info`.
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let directives = std::env::var("RUST_LOG").or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"));
    let registry = tracing_subscriber::registry().with(log_filter(directives.ok().as_deref()));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let fmt = tracing_subscriber::fmt::layer();
    let _ = if on_lambda {
        registry.with(fmt.json().with_current_span(false).without_time()).try_init()
    } else {
        registry.with(fmt.with_target(false)).try_init()
    };
}

/// `target=level,level` directives (`streamfleet_core=debug,info`), `info`
/// when unset or unreadable. `Targets` rather than `EnvFilter`: span and
/// field filters would link a regex engine into every function.
fn log_filter(directives: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    directives
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .and_then(|text| text.to_lowercase().parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tracing::Level;

    use super::{log_filter, timeouts};

    #[test]
    fn every_aws_call_ends_within_the_http_functions_timeout() {
        let on_aws = timeouts(false);
        assert_eq!(on_aws.operation_attempt_timeout(), Some(Duration::from_secs(3)));
        // The HTTP functions' Lambda timeout is 10 s (infra/sam/template.yaml).
        assert!(on_aws.operation_timeout().is_some_and(|t| t < Duration::from_secs(10)));
        assert!(on_aws.connect_timeout().is_some());
        let on_emulator = timeouts(true);
        assert!(on_emulator.operation_attempt_timeout() > on_aws.operation_attempt_timeout());
    }

    #[test]
    fn log_levels_come_from_lambda_or_rust_log_directives() {
        assert!(log_filter(None).would_enable("streamfleet_core", &Level::INFO));
        assert!(!log_filter(None).would_enable("streamfleet_core", &Level::DEBUG));
        // Lambda's ApplicationLogLevel arrives upper case.
        assert!(log_filter(Some("DEBUG")).would_enable("any", &Level::DEBUG));
        assert!(!log_filter(Some("WARN")).would_enable("any", &Level::INFO));
        let per_target = log_filter(Some("streamfleet_http=debug,warn"));
        assert!(per_target.would_enable("streamfleet_http::routes", &Level::DEBUG));
        assert!(!per_target.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(log_filter(Some("  ")).would_enable("x", &Level::INFO));
    }
}

/// The SDK configuration of a process configured by `config`.
pub async fn aws_config(config: &Config) -> aws_config::SdkConfig {
    sdk_config(config.aws_endpoint.as_deref()).await
}

/// The SDK configuration: the standard AWS chain on AWS; against the
/// emulator, its endpoint with dummy credentials and `AWS_REGION` (default
/// `us-east-1`), so that nothing probes the instance metadata service.
/// Every client shares one HTTPS client (rustls on ring, see Cargo.toml).
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(timeouts(endpoint.is_some()));
    if let Some(endpoint) = endpoint {
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
        loader = loader.endpoint_url(endpoint).region(aws_config::Region::new(region)).credentials_provider(
            Credentials::new("emulator", "emulator", None, None, "streamfleet-emulator"),
        );
    }
    loader.load().await
}

/// How long one AWS call may take. The SDK sets no limit of its own, so a
/// call on a connection that stalls (half open, a lost packet) would hold
/// its lookup, its node's seat turn or its tick until the Lambda timeout.
/// On AWS an attempt ends after 3 s (DynamoDB and Auto Scaling answer in
/// milliseconds; the SDK's standard retries then try again) and a call,
/// retries included, after 8 s: within the HTTP functions' 10 s, so that a
/// request waiting on one call gets a 503 with a request id rather than the
/// gateway's 504 (one making several calls can still run out of time).
/// The emulator is one Python process whose answers take seconds under a
/// benchmark's load: there the limits are ten times as long.
pub fn timeouts(on_emulator: bool) -> aws_config::timeout::TimeoutConfig {
    let scale = if on_emulator { 10 } else { 1 };
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2 * scale))
        .operation_attempt_timeout(std::time::Duration::from_secs(3 * scale))
        .operation_timeout(std::time::Duration::from_secs(8 * scale))
        .build()
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Token(#[from] streamfleet_http::auth::WeakToken),
    #[error(transparent)]
    NodeSecret(#[from] WeakSecret),
}

/// Builds the store and services from a configuration.
pub async fn app_state(config: &Config) -> Result<AppState, StartError> {
    let sdk = aws_config(config).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    app_state_with(config, &sdk, dynamodb)
}

/// Builds the services on a given DynamoDB client (the benchmarks pass one
/// that counts its calls).
pub fn app_state_with(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    dynamodb: aws_sdk_dynamodb::Client,
) -> Result<AppState, StartError> {
    build_state(config, Backends::ALL.link(config, sdk), dynamodb)
}

fn aws_fleet(config: &Config, sdk: &aws_config::SdkConfig) -> Arc<dyn streamfleet_core::ports::Fleet> {
    Arc::new(
        streamfleet_aws_fleet::AwsFleet::new(sdk.clone())
            .hook_timeout_secs(config.tuning.hook_heartbeat_timeout_secs),
    )
}

/// Builds the Auto Scaling backend of a function that drives the fleet.
/// Passed by value rather than chosen from [`Function::drives_fleet`] at run
/// time, so that a function handed `None` does not link the Auto Scaling and
/// EC2 SDKs at all (their serializers are a megabyte of each bootstrap).
pub type FleetBackend = fn(&Config, &aws_config::SdkConfig) -> Arc<dyn streamfleet_core::ports::Fleet>;

/// Builds the EventBridge publisher of a function that writes decisions;
/// passed by value for the same reason as [`FleetBackend`].
pub type EventsBackend = fn(&aws_config::SdkConfig, String) -> Arc<dyn DecisionEvents>;

/// Decisions published on the bus `bus`.
pub fn eventbridge_events(sdk: &aws_config::SdkConfig, bus: String) -> Arc<dyn DecisionEvents> {
    Arc::new(streamfleet_eventbridge::EventBridgeDecisions::new(aws_sdk_eventbridge::Client::new(sdk), bus))
}

/// Builds the SQS queue scheduled invocations order ticks on; passed by
/// value for the same reason as [`FleetBackend`].
pub type OrdersBackend = fn(&aws_config::SdkConfig, String) -> Arc<dyn TickQueue>;

/// Tick orders on the SQS queue at `queue_url`.
pub fn sqs_tick_queue(sdk: &aws_config::SdkConfig, queue_url: String) -> Arc<dyn TickQueue> {
    Arc::new(streamfleet_sqs::SqsTickQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url))
}

/// The AWS backends a function's `main` links.
#[derive(Clone, Copy, Default)]
pub struct Backends {
    /// Where the function drives the fleet.
    pub fleet: Option<FleetBackend>,
    /// Where the function writes decisions (published when the deployment
    /// names a bus).
    pub events: Option<EventsBackend>,
    /// Where a scheduled scaler orders ticks (when the deployment names a
    /// queue).
    pub orders: Option<OrdersBackend>,
}

impl Backends {
    /// The backends `function` uses, chosen at run time (the tests and the
    /// local stack, which link everything anyway).
    pub fn of(function: Function) -> Self {
        Self {
            fleet: function.drives_fleet().then_some(aws_fleet as FleetBackend),
            events: function.logs_decisions().then_some(eventbridge_events as EventsBackend),
            orders: function.orders_ticks().then_some(sqs_tick_queue as OrdersBackend),
        }
    }
}

impl Backends {
    /// Every backend (the tests and the local stack).
    const ALL: Backends =
        Backends { fleet: Some(aws_fleet), events: Some(eventbridge_events), orders: Some(sqs_tick_queue) };

    /// The backends built, each where the configuration asks for it.
    fn link(self, config: &Config, sdk: &aws_config::SdkConfig) -> Linked {
        Linked {
            fleet: self.fleet.map(|backend| backend(config, sdk)),
            events: match (self.events, &config.event_bus) {
                (Some(backend), Some(bus)) => backend(sdk, bus.clone()),
                _ => Arc::new(NoDecisionEvents),
            },
            orders: self.orders.zip(config.tick_queue.clone()).map(|(backend, url)| backend(sdk, url)),
        }
    }
}

/// The backends a process runs with.
struct Linked {
    fleet: Option<Arc<dyn streamfleet_core::ports::Fleet>>,
    events: Arc<dyn DecisionEvents>,
    orders: Option<Arc<dyn TickQueue>>,
}

/// A Lambda function's state: its configuration (secrets from Secrets
/// Manager), its clients, the DynamoDB connection opened during init, and
/// the backends its `main` links.
async fn lambda_state(function: Function, backends: Backends) -> Result<AppState, StartError> {
    let vars = Vars::Process;
    let sdk = sdk_config(Config::aws_endpoint_in(&vars)?.as_deref()).await;
    state_with_backend(function, &vars, &sdk, backends).await
}

/// A function's state from given settings and SDK configuration, with the
/// Auto Scaling backend exactly where the function drives the fleet: the
/// tests that audit which AWS actions each function calls pass an SDK whose
/// HTTP client records every request.
pub async fn function_state_in(
    function: Function,
    vars: &Vars,
    sdk: &aws_config::SdkConfig,
) -> Result<AppState, StartError> {
    state_with_backend(function, vars, sdk, Backends::of(function)).await
}

async fn state_with_backend(
    function: Function,
    vars: &Vars,
    sdk: &aws_config::SdkConfig,
    backends: Backends,
) -> Result<AppState, StartError> {
    let config = Config::load(function, vars, sdk).await?;
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    warm_up(&dynamodb, &config.table).await;
    build_state(&config, backends.link(&config, sdk), dynamodb)
}

fn build_state(
    config: &Config,
    linked: Linked,
    dynamodb: aws_sdk_dynamodb::Client,
) -> Result<AppState, StartError> {
    let Linked { fleet: aws, events, orders } = linked;
    let store = Arc::new(DynamoStore::new(dynamodb, config.table.clone()));
    let clock = Arc::new(SystemClock);
    let credentials = NodeCredentials::new(config.node_secret.clone())?;
    let tuning = config.tuning;
    let heartbeat_settings =
        HeartbeatSettings { interval: tuning.heartbeat_interval, ..HeartbeatSettings::default() };
    let lookup_settings = LookupSettings {
        stale_after: tuning.stale_after,
        fleet_cache_ttl: tuning.fleet_cache_ttl,
        pack_ceiling_pct: tuning.pack_ceiling_pct,
        // Less than half a report interval however the tuning was built.
        seat_lease: tuning
            .seat_lease
            .min(tuning.heartbeat_interval / 2)
            .min(streamfleet_core::seats::MAX_LEASE),
        group_cache_ttl: tuning.group_cache_ttl,
        route_ttl: tuning.route_ttl,
        ..LookupSettings::default()
    };
    let fleets = Fleets { aws, simulated: Arc::new(SimulatedFleet::new(store.clone())) };
    let stores = ScalerStores::all_in(store.clone()).publishing_to(events.clone());
    let scaler_settings = ScalerSettings {
        plan: streamfleet_core::scaling::PlanSettings {
            stale_after: tuning.stale_after,
            dead_after: tuning.dead_after,
            mass_silence_pct: tuning.mass_silence_pct,
            ..Default::default()
        },
        hook_heartbeat_timeout_secs: tuning.hook_heartbeat_timeout_secs,
        lease_for: tuning.scaler_lease,
        tick_every: tuning.tick_every,
        schedule_every: tuning.schedule_every,
        ..ScalerSettings::default()
    };
    // Names this process on the scaler leases it takes.
    let holder = format!("scaler-{}", uuid::Uuid::new_v4().simple());
    let mut scaler = Scaler::new(stores, fleets, clock.clone(), scaler_settings, holder);
    if let Some(queue) = orders {
        scaler = scaler.ordering_through(queue);
    }
    let scaler = Arc::new(scaler);
    // On AWS the call's write is all (the table's stream delivers it); the
    // local stack hands it to its own scaler.
    let tick_requests: Arc<dyn streamfleet_core::ports::TickRequests> = if tuning.tick_calls_in_process {
        let in_process = tick_delivery::InProcessTicks::new(store.clone());
        in_process.deliver_to(&scaler);
        Arc::new(in_process)
    } else {
        store.clone()
    };
    let operator = Operator::new(
        store.clone(),
        store.clone(),
        store.clone(),
        store.clone(),
        clock.clone(),
        scaler_settings.log_ttl,
    )
    .calling_ticks(tick_requests.clone())
    .publishing_to(events);
    Ok(AppState {
        operator,
        groups: NodeGroups::new(
            store.clone(),
            store.clone(),
            store.clone(),
            clock.clone(),
            credentials.clone(),
        ),
        heartbeats: Heartbeats::new(
            store.clone(),
            store.clone(),
            store.clone(),
            clock.clone(),
            credentials.clone(),
            heartbeat_settings,
        ),
        lookups: Arc::new(
            Lookups::new(
                store.clone(),
                store.clone(),
                store.clone(),
                store.clone(),
                clock.clone(),
                credentials,
                lookup_settings,
            )
            .calling_ticks(tick_requests),
        ),
        scaler,
        pool: Pool::new(store),
        admin_token: AdminToken::new(&config.admin_token)?,
    })
}

/// The whole `main` of an HTTP Lambda function: tracing, configuration and
/// clients once at cold start, then the function's router for every event.
/// The router comes from `main` so that each binary links its own routes only.
pub async fn run_http_function(
    function: Function,
    app: fn(AppState) -> axum::Router,
    events: Option<EventsBackend>,
) -> Result<(), lambda_http::Error> {
    init_tracing();
    metrics::init_metrics(function);
    // HTTP functions never drive the fleet (see `Function::drives_fleet`).
    let state = lambda_state(function, Backends { fleet: None, events, orders: None }).await?;
    // One request per invocation: its metrics are written as it ends.
    let flushed = axum::middleware::map_response(|response: axum::response::Response| async move {
        metrics::flush_metrics();
        response
    });
    lambda_http::run(app(state).layer(flushed)).await
}

/// One scheduled invocation: the event only says "now"; every group is
/// ticked, every `tickSecs` until the next invocation takes over (see
/// `tick_times`). A failed group is logged and retried next tick, so the
/// invocation fails only when the groups could not even be listed (then the
/// dead-letter target sees it).
pub async fn scheduled_tick(
    scaler: &streamfleet_core::service::Scaler,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<streamfleet_core::service::TickReport, lambda_runtime::Error> {
    let (payload, context) = event.into_parts();
    tracing::info!(
        request = %context.request_id,
        event = payload.get("id").and_then(|v| v.as_str()).unwrap_or("-"),
        time = payload.get("time").and_then(|v| v.as_str()).unwrap_or("-"),
        "scheduled scaler tick"
    );
    // Groups are started only while the invocation has time left, and their
    // leases lapse at its deadline: a tick cut by the function's timeout
    // frees its groups for the next invocation.
    let deadline =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(context.deadline) * 1_000_000).ok();
    let mut report = streamfleet_core::service::TickReport::default();
    let times = scaler.tick_times(deadline);
    for (i, at) in times.iter().enumerate() {
        let wait = *at - time::OffsetDateTime::now_utc();
        match std::time::Duration::try_from(wait) {
            Ok(wait) => tokio::time::sleep(wait).await,
            // A tick that ran past this one's time: its slot is skipped, not
            // run back to back with it.
            Err(_) if i > 0 => continue,
            Err(_) => {}
        }
        let ticked = scaler.tick_until(deadline).await;
        // After each tick: a document holds 100 values of a metric at most.
        metrics::flush_metrics();
        match ticked {
            Ok(tick) => report.add(&tick),
            // The first tick's failure is the invocation's; a later one is
            // left to the next tick.
            Err(e) if i == 0 => return Err(e.into()),
            Err(e) => tracing::error!(error = %e, "scaler tick failed; the next tick retries"),
        }
    }
    tracing::info!(
        ticks = report.ticks,
        groups = report.groups,
        decisions = report.decisions,
        skipped = report.skipped,
        failed = report.failed,
        deferred = report.deferred,
        "tick done"
    );
    Ok(report)
}

/// Lookups' calls for a tick, as the table's stream delivers them (its
/// filter passes the call items only): each group named is ticked once.
/// A group another tick holds is left to it.
pub async fn called_ticks(
    scaler: &streamfleet_core::service::Scaler,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<streamfleet_core::service::TickReport, lambda_runtime::Error> {
    use streamfleet_core::service::GroupTickOutcome;
    let (payload, _) = event.into_parts();
    let key = |record: &serde_json::Value, name: &str| {
        record["dynamodb"]["Keys"][name]["S"].as_str().map(str::to_owned).unwrap_or_default()
    };
    let groups: std::collections::BTreeSet<_> = payload["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|record| key(record, streamfleet_dynamo::schema::SK) == streamfleet_dynamo::TICK_SK)
        .filter_map(|record| streamfleet_dynamo::group_of_pk(&key(record, streamfleet_dynamo::schema::PK)))
        .collect();
    let mut report = streamfleet_core::service::TickReport::default();
    for group in groups {
        report.groups += 1;
        match scaler.tick_one(&group).await {
            Ok(GroupTickOutcome::Ticked(records)) => {
                report.ticks += 1;
                report.decisions += records.len() as u32;
            }
            Ok(GroupTickOutcome::Leased) => report.skipped += 1,
            Ok(GroupTickOutcome::NoSuchGroup) => {}
            // Not retried: the scheduled tick comes within tickSecs.
            Err(e) => {
                report.failed += 1;
                tracing::error!(group = %group, error = %e, "a called tick failed; the scheduled tick retries");
            }
        }
    }
    tracing::info!(
        groups = report.groups,
        ticks = report.ticks,
        skipped = report.skipped,
        "called ticks done"
    );
    Ok(report)
}

/// The whole `main` of the scaler function: scheduled invocations, and the
/// table stream's batches of calls for a tick.
pub async fn run_scheduled_scaler() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    metrics::init_metrics(Function::Scaler);
    let scaler = lambda_state(
        Function::Scaler,
        Backends { fleet: Some(aws_fleet), events: Some(eventbridge_events), orders: Some(sqs_tick_queue) },
    )
    .await?
    .scaler;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let scaler = scaler.clone();
            async move {
                let answer = scaler_event(&scaler, event).await;
                metrics::flush_metrics();
                answer
            }
        },
    ))
    .await
}

/// What an invocation of the scaler is for: a batch of tick orders from the
/// queue, lookups' calls for a tick from the table's stream, or the schedule.
pub async fn scaler_event(
    scaler: &streamfleet_core::service::Scaler,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let from_queue = event.payload["Records"][0]["eventSource"] == "aws:sqs";
    if from_queue {
        return Ok(queued_tick_batch(scaler, event).await);
    }
    let report = if event.payload.get("Records").is_some() {
        called_ticks(scaler, event).await?
    } else if let Some(report) = scaler.dispatch().await? {
        tracing::info!(
            groups = report.groups,
            ordered = report.ordered,
            unsent = report.unsent,
            "ticks ordered"
        );
        return Ok(serde_json::to_value(report)?);
    } else {
        scheduled_tick(scaler, event).await?
    };
    Ok(serde_json::to_value(report)?)
}

/// A batch of the tick queue (its event source reports batch item
/// failures): the orders whose tick failed are delivered again.
async fn queued_tick_batch(
    scaler: &streamfleet_core::service::Scaler,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> serde_json::Value {
    let (payload, context) = event.into_parts();
    // Lambda always sets it; an invocation without one has no deadline.
    let deadline = (context.deadline > 0)
        .then(|| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(context.deadline) * 1_000_000).ok()
        })
        .flatten();
    let outcome = carry_out_orders(scaler, messages_of(&payload), deadline).await;
    let report = &outcome.report;
    tracing::info!(
        groups = report.groups,
        ticks = report.ticks,
        skipped = report.skipped,
        stale = report.deferred,
        failed = report.failed,
        "queued ticks done"
    );
    batch_response(&outcome.failed)
}
