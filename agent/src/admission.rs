//! The media server asks the agent before it admits a publisher or player:
//! nginx-rtmp's `on_publish` / `on_play`, SRS's `http_hooks`, MediaMTX's
//! `authHTTPAddress`. The agent allows only clients with an admission token
//! for this node, stream and action (when the group requires them), and
//! nobody while the node is cordoned, draining or full, whoever sent them.
//!
//! What it knows comes from its heartbeat answers ([`Gate::learn`]); until
//! the first one it admits nobody. The decision is a pure function of that
//! and the ask ([`Gate::decide`]); each dialect only turns its server's
//! callback into an [`Ask`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use streamfleet_core::admission::{Action, AdmissionKey};
use streamfleet_core::names::{AppName, NodeId, StreamName};
use time::OffsetDateTime;

/// One client the media server asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub action: Action,
    pub app: String,
    pub stream: String,
    pub token: Option<String>,
}

/// What the node last learned from streamfleet, and its load.
#[derive(Debug, Default)]
struct Known {
    /// `None` until a heartbeat answer said.
    required: Option<bool>,
    key: Option<AdmissionKey>,
    state: Option<String>,
    cordoned: bool,
    capacity: Option<u32>,
    sessions: u32,
}

/// The agent's admission decisions, shared by the heartbeat loop (which
/// teaches it) and the callback server (which asks it).
#[derive(Clone)]
pub struct Gate {
    node: NodeId,
    known: Arc<Mutex<Known>>,
}

/// Why a client was refused (logged; the media server only sees a "no").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("streamfleet has not answered this node yet")]
    NotYet,
    #[error("the node is {0}")]
    NotServing(String),
    #[error("the node is full ({sessions} of {capacity} sessions)")]
    Full { sessions: u32, capacity: u32 },
    #[error("{0}")]
    Token(#[from] streamfleet_core::admission::Refusal),
    #[error("the stream name is not one streamfleet routes")]
    BadName,
}

impl Gate {
    pub fn new(node: NodeId) -> Self {
        Self { node, known: Arc::default() }
    }

    /// What a heartbeat answer says; fields it leaves out keep their value
    /// (never fail open because an answer could not tell).
    pub fn learn(&self, answer: &Value) {
        let mut known = self.known.lock().expect("gate lock");
        if let Some(required) = answer["admissionRequired"].as_bool() {
            known.required = Some(required);
            known.key = answer["admissionKey"].as_str().and_then(AdmissionKey::decode);
        }
        if let Some(state) = answer["state"].as_str() {
            known.state = Some(state.to_owned());
        }
        if let Some(cordoned) = answer["cordoned"].as_bool() {
            known.cordoned = cordoned;
        }
        if let Some(capacity) = answer["capacity"].as_u64() {
            known.capacity = u32::try_from(capacity).ok();
        }
    }

    /// The API no longer knows this node (forgotten, its token revoked):
    /// nobody is admitted until it is enrolled and answered again.
    pub fn forget(&self) {
        let mut known = self.known.lock().expect("gate lock");
        known.state = None;
    }

    /// The sessions the media server holds now (its last stats read).
    pub fn load(&self, sessions: u32) {
        self.known.lock().expect("gate lock").sessions = sessions;
    }

    /// Whether to admit `ask` at `now`.
    pub fn decide(&self, ask: &Ask, now: OffsetDateTime) -> Result<(), Refused> {
        let known = self.known.lock().expect("gate lock");
        let required = known.required.ok_or(Refused::NotYet)?;
        match known.state.as_deref() {
            Some("inService") if !known.cordoned => {}
            Some("inService") => return Err(Refused::NotServing("cordoned".into())),
            Some(other) => return Err(Refused::NotServing(other.to_owned())),
            None => return Err(Refused::NotYet),
        }
        if let Some(capacity) = known.capacity.filter(|&c| known.sessions >= c) {
            return Err(Refused::Full { sessions: known.sessions, capacity });
        }
        if !required {
            return Ok(());
        }
        let app = AppName::parse(ask.app.as_str()).map_err(|_| Refused::BadName)?;
        let stream = StreamName::parse(ask.stream.as_str()).map_err(|_| Refused::BadName)?;
        let key = known.key.as_ref().ok_or(Refused::NotYet)?;
        key.check(ask.token.as_deref(), &self.node, &app, &stream, ask.action, now)?;
        Ok(())
    }

    fn admit(&self, ask: Option<Ask>, server: &str) -> bool {
        let Some(ask) = ask else {
            tracing::warn!(server, "an admission callback the agent cannot read: refused");
            return false;
        };
        match self.decide(&ask, OffsetDateTime::now_utc()) {
            Ok(()) => true,
            Err(why) => {
                // The token itself is never logged.
                tracing::info!(server, action = ?ask.action, app = %ask.app, stream = %ask.stream, reason = %why, "client refused");
                false
            }
        }
    }
}

/// `token=` in a query string (with or without its `?`).
fn token_in_query(query: &str) -> Option<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
}

/// nginx-rtmp's `on_publish` / `on_play`: a form with `call`, `app`,
/// `name` and, appended raw, the client's own query (`token`). A client can
/// thus add fields of any name: a form naming `call`, `app`, `name` or
/// `token` twice is refused, so that no client rewrites what is checked.
pub fn nginx_rtmp_ask(form: &str) -> Option<Ask> {
    let mut fields: HashMap<String, String> = HashMap::new();
    for (key, value) in form_urlencoded::parse(form.as_bytes()).into_owned() {
        let checked = matches!(key.as_str(), "call" | "app" | "name" | "token");
        if fields.insert(key, value).is_some() && checked {
            return None;
        }
    }
    let action = match fields.get("call")?.as_str() {
        "publish" => Action::Publish,
        "play" => Action::Play,
        _ => return None,
    };
    Some(Ask {
        action,
        app: fields.get("app")?.clone(),
        stream: fields.get("name")?.clone(),
        token: fields.get("token").cloned(),
    })
}

/// SRS's `http_hooks` `on_publish` / `on_play`: JSON with `action`, `app`,
/// `stream` and `param` (the query, `?token=…`).
pub fn srs_ask(body: &Value) -> Option<Ask> {
    let action = match body["action"].as_str()? {
        "on_publish" => Action::Publish,
        "on_play" => Action::Play,
        _ => return None,
    };
    Some(Ask {
        action,
        app: body["app"].as_str()?.to_owned(),
        stream: body["stream"].as_str()?.to_owned(),
        token: body["param"].as_str().and_then(token_in_query),
    })
}

/// What a MediaMTX auth request asks.
#[derive(Debug, PartialEq, Eq)]
pub enum MediaMtxAsk {
    Client(Ask),
    /// Its control API, metrics or profiler, from this host (the agent
    /// reads its stats there): allowed.
    LocalControl,
    Refused,
}

/// MediaMTX's `authHTTPAddress`: JSON with `action` (`publish`, `read`,
/// `playback`, `api`…), `path` (`<app>/<stream>`), `ip`, and the token in
/// `query`, `token` (a bearer) or `password`.
pub fn mediamtx_ask(body: &Value) -> MediaMtxAsk {
    let action = match body["action"].as_str() {
        Some("publish") => Action::Publish,
        Some("read" | "playback") => Action::Play,
        Some("api" | "metrics" | "pprof") => {
            let local = body["ip"].as_str().is_some_and(|ip| ip == "127.0.0.1" || ip == "::1");
            return if local { MediaMtxAsk::LocalControl } else { MediaMtxAsk::Refused };
        }
        _ => return MediaMtxAsk::Refused,
    };
    let Some((app, stream)) = body["path"].as_str().and_then(|p| p.split_once('/')) else {
        return MediaMtxAsk::Refused;
    };
    let token = body["query"]
        .as_str()
        .and_then(token_in_query)
        .or_else(|| body["token"].as_str().filter(|t| !t.is_empty()).map(str::to_owned))
        .or_else(|| body["password"].as_str().filter(|t| !t.is_empty()).map(str::to_owned));
    MediaMtxAsk::Client(Ask { action, app: app.to_owned(), stream: stream.to_owned(), token })
}

/// The callbacks' routes, on `admission_listen`.
pub fn router(gate: Gate) -> Router {
    Router::new()
        .route("/nginx-rtmp/on_publish", post(nginx_rtmp))
        .route("/nginx-rtmp/on_play", post(nginx_rtmp))
        .route("/srs/hooks", post(srs))
        .route("/mediamtx/auth", post(mediamtx))
        .with_state(gate)
}

/// nginx-rtmp admits on any 2xx and closes the connection otherwise.
async fn nginx_rtmp(State(gate): State<Gate>, form: String) -> StatusCode {
    if gate.admit(nginx_rtmp_ask(&form), "nginx-rtmp") {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    }
}

/// SRS admits on status 200 with code 0.
async fn srs(State(gate): State<Gate>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if gate.admit(srs_ask(&body), "srs") {
        (StatusCode::OK, Json(serde_json::json!({"code": 0})))
    } else {
        (StatusCode::FORBIDDEN, Json(serde_json::json!({"code": 403})))
    }
}

/// MediaMTX admits on any 2xx.
async fn mediamtx(State(gate): State<Gate>, Json(body): Json<Value>) -> StatusCode {
    let admitted = match mediamtx_ask(&body) {
        MediaMtxAsk::Client(ask) => gate.admit(Some(ask), "mediamtx"),
        MediaMtxAsk::LocalControl => true,
        MediaMtxAsk::Refused => gate.admit(None, "mediamtx"),
    };
    if admitted {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use serde_json::json;
    use streamfleet_core::admission::{Refusal, TOKEN_TTL};
    use streamfleet_core::credentials::NodeCredentials;
    use streamfleet_core::names::GroupName;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-07 06:00 UTC);

    fn key() -> AdmissionKey {
        let creds =
            NodeCredentials::new(SecretString::from("0123456789abcdef0123456789abcdef".to_owned())).unwrap();
        creds.admission_key(&GroupName::parse("live").unwrap(), &NodeId::parse("i-0a").unwrap())
    }

    fn token(stream: &str, action: Action) -> String {
        let (node, app) = (NodeId::parse("i-0a").unwrap(), AppName::parse("live").unwrap());
        key().mint(&node, &app, &StreamName::parse(stream).unwrap(), action, NOW + TOKEN_TTL)
    }

    fn gate(answer: Value) -> Gate {
        let gate = Gate::new(NodeId::parse("i-0a").unwrap());
        gate.learn(&answer);
        gate
    }

    fn requiring() -> Gate {
        gate(
            json!({"state": "inService", "cordoned": false, "capacity": 10, "admissionRequired": true, "admissionKey": key().encoded()}),
        )
    }

    fn ask(stream: &str, action: Action, token: Option<String>) -> Ask {
        Ask { action, app: "live".into(), stream: stream.into(), token }
    }

    #[test]
    fn with_tokens_required_only_a_token_for_this_stream_and_action_admits() {
        let gate = requiring();
        let publish = |t| gate.decide(&ask("cam1", Action::Publish, t), NOW);
        assert_eq!(publish(Some(token("cam1", Action::Publish))), Ok(()));
        assert_eq!(publish(None), Err(Refused::Token(Refusal::Missing)));
        assert_eq!(publish(Some(token("cam2", Action::Publish))), Err(Refused::Token(Refusal::Forged)));
        assert_eq!(publish(Some(token("cam1", Action::Play))), Err(Refused::Token(Refusal::Forged)));
        let late = NOW + TOKEN_TTL + Duration::from_secs(1);
        let expired = gate.decide(&ask("cam1", Action::Publish, Some(token("cam1", Action::Publish))), late);
        assert_eq!(expired, Err(Refused::Token(Refusal::Expired)));
    }

    #[test]
    fn a_cordoned_draining_or_full_node_admits_nobody_and_an_unanswered_one_neither() {
        let valid = ask("cam1", Action::Play, Some(token("cam1", Action::Play)));
        assert_eq!(Gate::new(NodeId::parse("i-0a").unwrap()).decide(&valid, NOW), Err(Refused::NotYet));
        let gate = requiring();
        gate.learn(&json!({"cordoned": true}));
        assert!(matches!(gate.decide(&valid, NOW), Err(Refused::NotServing(_))));
        gate.learn(&json!({"cordoned": false, "state": "draining"}));
        assert!(matches!(gate.decide(&valid, NOW), Err(Refused::NotServing(_))));
        gate.learn(&json!({"state": "inService"}));
        gate.forget();
        assert_eq!(gate.decide(&valid, NOW), Err(Refused::NotYet), "forgotten by the API");
        gate.learn(&json!({"state": "inService"}));
        gate.load(10);
        assert_eq!(gate.decide(&valid, NOW), Err(Refused::Full { sessions: 10, capacity: 10 }));
        gate.load(9);
        assert_eq!(gate.decide(&valid, NOW), Ok(()));
    }

    #[test]
    fn an_open_group_admits_without_tokens_and_an_answer_that_cannot_tell_changes_nothing() {
        let gate = gate(json!({"state": "inService", "cordoned": false, "admissionRequired": false}));
        assert_eq!(gate.decide(&ask("cam1", Action::Play, None), NOW), Ok(()));
        let gate = requiring();
        gate.learn(&json!({"state": "inService", "cordoned": false}));
        assert_eq!(gate.decide(&ask("cam1", Action::Play, None), NOW), Err(Refused::Token(Refusal::Missing)));
    }

    #[test]
    fn each_servers_callback_reads_as_the_same_ask() {
        let t = token("cam1", Action::Publish);
        let want = Some(ask("cam1", Action::Publish, Some(t.clone())));
        let nginx = format!(
            "app=live&flashver=FMLE%2F3.0&swfurl=&tcurl=rtmp%3A%2F%2F127.0.0.1%3A1935%2Flive&pageurl=&addr=127.0.0.1&clientid=1&call=publish&name=cam1&type=live&token={t}"
        );
        assert_eq!(nginx_rtmp_ask(&nginx), want);
        let srs = json!({"server_id": "vid-1", "action": "on_publish", "client_id": "341w361a", "ip": "127.0.0.1",
            "vhost": "__defaultVhost__", "app": "live", "tcUrl": "rtmp://127.0.0.1:1935/live", "stream": "cam1",
            "param": format!("?token={t}"), "stream_url": "/live/cam1", "stream_id": "vid-2"});
        assert_eq!(srs_ask(&srs), want);
        let mediamtx = json!({"user": "", "password": "", "token": "", "ip": "203.0.113.9", "action": "publish",
            "path": "live/cam1", "protocol": "webrtc", "id": "c1b6e5a2", "query": format!("token={t}")});
        assert_eq!(mediamtx_ask(&mediamtx), MediaMtxAsk::Client(want.clone().unwrap()));
        let bearer =
            json!({"action": "read", "path": "live/cam1", "ip": "203.0.113.9", "token": t, "query": ""});
        assert!(matches!(
            mediamtx_ask(&bearer),
            MediaMtxAsk::Client(Ask { action: Action::Play, token: Some(_), .. })
        ));
        assert_eq!(mediamtx_ask(&json!({"action": "api", "ip": "127.0.0.1"})), MediaMtxAsk::LocalControl);
        assert_eq!(mediamtx_ask(&json!({"action": "api", "ip": "203.0.113.9"})), MediaMtxAsk::Refused);
        assert_eq!(nginx_rtmp_ask("call=update&app=live&name=cam1"), None);
        // nginx-rtmp appends the client's query raw: its own `call` or
        // `name` must not replace nginx's (a play passed off as a publish
        // of the stream the token is for).
        let rewritten = format!("app=live&call=play&name=cam1&type=live&token={t}&call=publish&name=other");
        assert_eq!(nginx_rtmp_ask(&rewritten), None);
        assert_eq!(nginx_rtmp_ask(&format!("app=live&call=publish&name=cam1&token={t}&token=x")), None);
    }
}
