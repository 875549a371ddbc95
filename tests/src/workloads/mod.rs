//! Each Lambda function at work, end to end on the emulator, as deployed:
//! its state built as on Lambda (settings from variables, secrets from
//! Secrets Manager, its own clients), its own router or event handler, on a
//! table the local stack arranges. Every route it serves, every event kind
//! it handles, every step it takes on the fleet, so that the AWS actions it
//! needs can be read off its requests (`iam::ActionLog`).

mod api;
mod fleet;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use serde_json::Value;
use streamfleet_http::AppState;
use streamfleet_runtime::{
    aws_config, function_state_in, secrets, Function, Vars, AWS_ENDPOINT_VAR, EVENT_BUS_VAR, FLEET_CACHE_VAR,
    GROUP_CACHE_VAR, TABLE_VAR, TICK_QUEUE_VAR,
};

use crate::iam::ActionLog;
use crate::{serve_router, spawn_app, stored_secret, TestApp, ADMIN_TOKEN, NODE_SECRET};

/// What a function did: the IAM actions of its AWS requests, and the route
/// keys it answered with a success.
pub struct Audit {
    pub actions: Vec<String>,
    pub routes: Vec<String>,
}

/// Plays `function`'s workload and says what it needed.
pub async fn audit(function: Function) -> Audit {
    let setup = spawn_app().await;
    let log = ActionLog::default();
    let sdk = log.recording(&aws_config(&setup.config).await);
    let process = Process { function, vars: deployment_vars(&setup, function).await, sdk };
    let state = process.start().await;
    let routes = Routes::default();
    match function {
        Function::NodeGroups => {
            api::node_groups(&setup, &routes.serve(&setup, streamfleet_http::nodegroups_app(state)).await)
                .await
        }
        Function::Heartbeat => {
            api::heartbeats(&setup, &routes.serve(&setup, streamfleet_http::heartbeat_app(state)).await).await
        }
        Function::Lookup => {
            api::lookups(&setup, &routes.serve(&setup, streamfleet_http::lookup_app(state)).await).await
        }
        Function::Scaler => fleet::scaler(&setup, &state, &process).await,
        Function::Lifecycle => fleet::lifecycle(&setup, &state).await,
    }
    Audit { actions: log.actions(), routes: routes.answered() }
}

/// How a function's process starts: each start is a cold start.
struct Process {
    function: Function,
    vars: Vars,
    sdk: aws_config::SdkConfig,
}

impl Process {
    async fn start(&self) -> AppState {
        function_state_in(self.function, &self.vars, &self.sdk).await.expect("the function starts")
    }
}

/// The variables a deployment sets for `function`: the setup's table, and
/// the secrets it uses as Secrets Manager ids (holding the setup's values,
/// so that both sign alike).
async fn deployment_vars(setup: &TestApp, function: Function) -> Vars {
    let endpoint = setup.config.aws_endpoint.clone().expect("tests run on the emulator");
    let mut vars = vec![
        (TABLE_VAR.to_owned(), setup.config.table.clone()),
        (AWS_ENDPOINT_VAR.to_owned(), endpoint),
        // Each step sees the one before it, as a later invocation would.
        (FLEET_CACHE_VAR.to_owned(), "0".to_owned()),
        (GROUP_CACHE_VAR.to_owned(), "0".to_owned()),
    ];
    // Decisions are published where the deployment names a bus (both
    // templates do); the emulator's account has its `default` one.
    if function.logs_decisions() {
        vars.push((EVENT_BUS_VAR.to_owned(), "default".to_owned()));
    }
    if function.orders_ticks() {
        vars.push((TICK_QUEUE_VAR.to_owned(), tick_queue(setup).await));
    }
    for secret in function.secrets() {
        let value = if secret.id_var == secrets::ADMIN_TOKEN.id_var { ADMIN_TOKEN } else { NODE_SECRET };
        vars.push((secret.id_var.to_owned(), stored_secret(value).await));
    }
    Vars::Given(vars.into_iter().collect())
}

/// A tick queue of the setup's own, as the templates make.
async fn tick_queue(setup: &TestApp) -> String {
    let sqs = aws_sdk_sqs::Client::new(&aws_config(&setup.config).await);
    let name = format!("{}-ticks", setup.config.table);
    streamfleet_local::tick_queue::create_queue(&sqs, &name, std::time::Duration::from_secs(1))
        .await
        .expect("the tick queue is created")
}

/// The route keys a router answered with a success (or a redirect).
#[derive(Clone, Default)]
struct Routes(Arc<Mutex<BTreeSet<String>>>);

impl Routes {
    async fn serve(&self, setup: &TestApp, app: axum::Router) -> TestApp {
        let seen = self.clone();
        let app = app.route_layer(axum::middleware::from_fn(
            move |path: MatchedPath, request: Request, next: Next| {
                let seen = seen.clone();
                async move {
                    let key = format!("{} {}", request.method(), path.as_str());
                    let response = next.run(request).await;
                    // A redirect is how the WHIP, WHEP and HLS routes succeed.
                    if response.status().is_success() || response.status().is_redirection() {
                        seen.0.lock().expect("routes lock").insert(key);
                    }
                    response
                }
            },
        ));
        serve_router(setup.config.clone(), app).await
    }

    fn answered(&self) -> Vec<String> {
        self.0.lock().expect("routes lock").iter().cloned().collect()
    }
}

/// The JSON body of a successful response; fails the workload otherwise.
async fn ok(response: reqwest::Response, what: &str) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
