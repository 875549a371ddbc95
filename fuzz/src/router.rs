//! Requests through the real router, in process, on the emulator: each one
//! an API Gateway fixture with one thing changed (its body, path, query,
//! method or a header). Every answer must be documented-shaped: below 500
//! (a 503 `no_room` is the lookup contract, counted apart), and every error
//! a JSON body with a `code`.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::mutate::{mutate, mutate_bytes, Rng};

#[derive(Debug, Default)]
pub struct RouterOutcome {
    pub requests: u64,
    /// Answers of 500 and up, but for 503 `no_room`.
    pub server_errors: u64,
    pub no_room: u64,
    /// 4xx answers without a JSON body naming a `code`.
    pub errors_without_code: u64,
    /// A few of the requests behind the counts above, for the report.
    pub samples: Vec<String>,
}

struct Credentials {
    key: String,
    token: String,
}

fn fixtures(root: &Path) -> Vec<Value> {
    let mut events: Vec<(String, Value)> = std::fs::read_dir(root.join("events/apigw"))
        .expect("events/apigw")
        .map(|entry| {
            let path = entry.expect("an entry").path();
            let event = serde_json::from_slice(&std::fs::read(&path).expect("a fixture")).expect("JSON");
            (path.display().to_string(), event)
        })
        // Ticks drive the whole scaler against the emulator: each costs
        // what a thousand other requests do, and their inputs are a path.
        .filter(|(path, _)| !path.contains("tick"))
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events.into_iter().map(|(_, event)| event).collect()
}

/// Percent-encodes what may not stand in a URI as it is.
fn uri_safe(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"/-._~%?=&+:@!$'()*,;".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A fixture as a request's parts, with real credentials in place of its
/// placeholders and a current `sentAt` (so heartbeats reach past the clock
/// check).
struct Parts {
    method: String,
    path: Vec<u8>,
    query: Vec<u8>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Parts {
    fn of(event: &Value, credentials: &Credentials) -> Self {
        let headers = event["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let value = value
                    .as_str()
                    .unwrap_or("")
                    .replace("ENROLLMENT_KEY", &credentials.key)
                    .replace("NODE_TOKEN", &credentials.token);
                (name.clone(), value)
            })
            .collect();
        let mut body = event["body"].as_str().unwrap_or("").as_bytes().to_vec();
        if let Ok(mut report) = serde_json::from_slice::<Value>(&body) {
            if report.get("sentAt").is_some() {
                report["sentAt"] = Value::from(streamfleet_scenarios::nodes::sent_at());
                body = serde_json::to_vec(&report).expect("serializes");
            }
        }
        Self {
            method: event["requestContext"]["http"]["method"].as_str().unwrap_or("GET").to_owned(),
            path: event["rawPath"].as_str().unwrap_or("/").as_bytes().to_vec(),
            query: event["rawQueryString"].as_str().unwrap_or("").as_bytes().to_vec(),
            headers,
            body,
        }
    }

    /// One thing changed: the body (most often), the path, the query, the
    /// method, or a header.
    fn mutated(mut self, rng: &mut Rng) -> Self {
        match rng.below(6) {
            0 | 1 => self.body = mutate(rng, &self.body),
            2 => {
                mutate_bytes(rng, &mut self.path);
                if self.path.first() != Some(&b'/') {
                    self.path.insert(0, b'/');
                }
            }
            3 => mutate_bytes(rng, &mut self.query),
            4 => {
                self.method =
                    (*rng.pick(&["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])).to_owned()
            }
            _ => match rng.below(3) {
                0 => self.headers.retain(|(name, _)| name != "authorization"),
                1 => self.headers.push((
                    "content-type".into(),
                    (*rng.pick(&["text/plain", "", "application/json; x"])).into(),
                )),
                _ => {
                    for (name, value) in &mut self.headers {
                        if name == "authorization" {
                            let mut bytes = value.clone().into_bytes();
                            mutate_bytes(rng, &mut bytes);
                            *value = String::from_utf8_lossy(&bytes)
                                .chars()
                                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                                .collect();
                        }
                    }
                }
            },
        }
        self
    }

    fn request(self) -> Request<Body> {
        let mut uri = uri_safe(&self.path);
        if !self.query.is_empty() {
            uri.push('?');
            uri.push_str(&uri_safe(&self.query));
        }
        let mut builder = Request::builder().method(self.method.as_str()).uri(uri);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.body(Body::from(self.body)).unwrap_or_else(|_| Request::new(Body::empty()))
    }
}

async fn send(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A group from the fixtures, its key, and a node token of it.
async fn set_up(router: &axum::Router, events: &[Value]) -> Credentials {
    let fixture = |id: &str| {
        events.iter().find(|e| e["requestContext"]["requestId"] == id).cloned().unwrap_or(Value::Null)
    };
    let mut credentials = Credentials { key: String::new(), token: String::new() };
    let as_is =
        |id: &str, credentials: &Credentials| send(router, Parts::of(&fixture(id), credentials).request());
    as_is("req-nodegroups-create", &credentials).await;
    let (_, key) = as_is("req-enrollment-key-get", &credentials).await;
    credentials.key = key["enrollmentKey"].as_str().unwrap_or("").to_owned();
    let (_, enrolled) = as_is("req-heartbeat-enroll-origin", &credentials).await;
    as_is("req-heartbeat-enroll-edge", &credentials).await;
    credentials.token = enrolled["nodeToken"].as_str().unwrap_or("").to_owned();
    credentials
}

/// `requests` mutated requests through the local stack's router (every
/// route of every function) on a fresh table of the emulator.
pub async fn fuzz_router(rng: &mut Rng, root: &Path, requests: u64) -> RouterOutcome {
    let config = streamfleet_scenarios::fresh_config().await;
    let router = streamfleet_http::local_app(streamfleet_scenarios::state(&config).await);
    let events = fixtures(root);
    let credentials = set_up(&router, &events).await;
    let mut outcome = RouterOutcome::default();
    for _ in 0..requests {
        let event = rng.pick(&events);
        let request = Parts::of(event, &credentials).mutated(rng).request();
        // A HEAD answer has no body to name a code in.
        let head = request.method() == axum::http::Method::HEAD;
        let described = format!("{} {}", request.method(), request.uri());
        let (status, body) = send(&router, request).await;
        outcome.requests += 1;
        let code = body["code"].as_str().map(str::to_owned);
        if status == StatusCode::SERVICE_UNAVAILABLE && code.as_deref() == Some("no_room") {
            outcome.no_room += 1;
        } else if status.is_server_error() {
            outcome.server_errors += 1;
            if outcome.samples.len() < 10 {
                outcome.samples.push(format!("{status} {described}: {body}"));
            }
        } else if status.is_client_error() && code.is_none() && !head {
            outcome.errors_without_code += 1;
            if outcome.samples.len() < 10 {
                outcome.samples.push(format!("{status} without a code: {described}"));
            }
        }
    }
    outcome
}
