//! EC2 Auto Scaling's side of the lifecycle, for the chaos run on the AWS
//! backend. The emulator runs the ASGs (desired capacity, instances,
//! protection) but fires no lifecycle hook and answers neither
//! `CompleteLifecycleAction` nor `RecordLifecycleActionHeartbeat`; so this
//! stands in for exactly that part, as AWS behaves:
//! - every instance an ASG starts, and every one it loses, is announced as a
//!   lifecycle event, delivered to the lifecycle handler twice, each copy
//!   late by its own random delay (so copies of one action, and actions of
//!   one instance, arrive out of order), and again until it is handled (as
//!   EventBridge retries a failed invocation);
//! - an out-of-band termination (an operator, an instance refresh) keeps
//!   the instance running until its action is answered or its heartbeat
//!   timeout lapses (then the hook's default result applies: CONTINUE for a
//!   termination, ABANDON for a launch), and only then ends it in the
//!   emulator; an abandoned launch is ended the same way;
//! - the two calls the emulator lacks are answered in the SDK's HTTP path,
//!   beneath the injected faults: an answer for an action still waiting is
//!   taken, one for an action that no longer waits gets AWS's
//!   `ValidationError`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};
use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::service::{HookOutcome, Scaler};
use streamfleet_local::farm::{HostMap, Hosts};
use streamfleet_runtime::parse_lifecycle_event;

use crate::iam::form_params;
use crate::sdk_seam::Seam;

/// The region of the chaos run's Auto Scaling groups.
pub const REGION: &str = crate::scaling::AWS_REGION;

/// The lifecycle hooks' heartbeat timeout in the run (AWS's minimum): a
/// held termination must be kept alive by the ticks, or it goes through.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Launch,
    Terminate,
}

/// One lifecycle action the cloud waits on.
#[derive(Debug, Clone)]
struct Action {
    kind: Kind,
    instance: String,
    asg: String,
    hook: &'static str,
    /// When the cloud stops waiting and applies the hook's default result.
    timeout_at: Instant,
    /// The answer taken (`CONTINUE`/`ABANDON`), or the default applied.
    result: Option<String>,
    /// Its consequence in the emulator is done.
    applied: bool,
}

/// What the cloud saw, for the outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudStats {
    /// Lifecycle events handed to the handler (copies and retries included).
    pub events_delivered: u64,
    /// Deliveries the handler failed (retried).
    pub events_failed: u64,
    /// Of the delivered, the ones the handler found to be a repeat.
    pub duplicates: u64,
    pub launches_continued: u64,
    pub launches_abandoned: u64,
    pub terminations_continued: u64,
    pub heartbeats: u64,
    /// Answers for actions that no longer waited (`ValidationError`).
    pub late_answers: u64,
    /// Actions whose heartbeat timeout lapsed: held terminations that went
    /// through on their own (with viewers, if any were left).
    pub timed_out: u64,
    pub rebalance_warnings: u64,
    /// Terminations from outside streamfleet (an operator, a refresh).
    pub out_of_band_terminations: u64,
}

#[derive(Debug)]
struct State {
    actions: BTreeMap<String, Action>,
    /// Instances announced as launched, with their role and ASG; one that
    /// goes is announced as terminating, once.
    known: BTreeMap<String, (Role, String)>,
    /// Instances on their way out, kept running until their action ends.
    terminating: BTreeSet<String>,
    /// Each instance's private address, given once.
    addresses: BTreeMap<String, String>,
    stats: CloudStats,
    rng: u64,
}

/// The Auto Scaling stand-in of one run: `Clone` shares it.
#[derive(Clone)]
pub struct AsgCloud(Arc<Inner>);

struct Inner {
    group: GroupName,
    asgs: Vec<(Role, String)>,
    /// Straight to the emulator, without faults: the cloud's own view.
    autoscaling: aws_sdk_autoscaling::Client,
    handlers: Mutex<Vec<Arc<Scaler>>>,
    state: Mutex<State>,
}

impl std::fmt::Debug for AsgCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AsgCloud").field(&self.0.group).finish()
    }
}

impl AsgCloud {
    pub fn new(group: &str, seed: u64, sdk: &aws_config::SdkConfig) -> Self {
        let group = GroupName::parse(group).expect("a valid group name");
        let region = Region::parse(REGION).expect("a valid region");
        let asgs = [Role::Origin, Role::Edge]
            .map(|role| (role, streamfleet_aws_fleet::asg_name(&group, role, &region)))
            .to_vec();
        let config =
            aws_sdk_autoscaling::config::Builder::from(sdk).region(aws_config::Region::new(REGION)).build();
        Self(Arc::new(Inner {
            group,
            asgs,
            autoscaling: aws_sdk_autoscaling::Client::from_conf(config),
            handlers: Mutex::default(),
            state: Mutex::new(State {
                actions: BTreeMap::new(),
                known: BTreeMap::new(),
                terminating: BTreeSet::new(),
                addresses: BTreeMap::new(),
                stats: CloudStats::default(),
                rng: seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1,
            }),
        }))
    }

    /// The processes whose lifecycle handler gets the events, in turn.
    pub fn deliver_to(&self, scalers: &[Arc<Scaler>]) {
        *self.0.handlers.lock().expect("handlers lock") = scalers.to_vec();
    }

    pub fn stats(&self) -> CloudStats {
        self.lock().stats.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().expect("cloud lock")
    }

    /// A delay up to `max`, drawn from the run's seed.
    fn delay(&self, max: Duration) -> Duration {
        let mut state = self.lock();
        state.rng ^= state.rng << 13;
        state.rng ^= state.rng >> 7;
        state.rng ^= state.rng << 17;
        max.mul_f64((state.rng % 1000) as f64 / 1000.0)
    }

    /// The farm's hosts: every instance of the group's ASGs (one on its way
    /// out runs until its action ends), each with a private address of its own.
    pub fn hosts(&self) -> Hosts {
        let cloud = self.clone();
        Arc::new(move || {
            let cloud = cloud.clone();
            Box::pin(async move {
                let instances = cloud.instances().await?;
                let mut state = cloud.lock();
                let mut hosts = HostMap::new();
                for (id, (role, _)) in instances {
                    let given = state.addresses.len();
                    let address = state
                        .addresses
                        .entry(id.clone())
                        .or_insert_with(|| format!("10.9.{}.{}", given / 250, given % 250 + 1))
                        .clone();
                    hosts.insert(id, (role.to_string(), address));
                }
                Ok(hosts)
            })
        })
    }

    /// The ASGs' instances: id → (role, ASG).
    async fn instances(&self) -> anyhow::Result<BTreeMap<String, (Role, String)>> {
        let names: Vec<String> = self.0.asgs.iter().map(|(_, name)| name.clone()).collect();
        let output = self
            .0
            .autoscaling
            .describe_auto_scaling_groups()
            .set_auto_scaling_group_names(Some(names))
            .send()
            .await?;
        let mut instances = BTreeMap::new();
        for asg in output.auto_scaling_groups() {
            let name = asg.auto_scaling_group_name().unwrap_or_default();
            let Some((role, _)) = self.0.asgs.iter().find(|(_, n)| n == name) else { continue };
            for instance in asg.instances() {
                if let Some(id) = instance.instance_id() {
                    instances.insert(id.to_owned(), (*role, name.to_owned()));
                }
            }
        }
        Ok(instances)
    }

    /// The cloud at work until the task is aborted: announces instances that
    /// came and went, applies answers and timeouts.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let cloud = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = cloud.step().await {
                    tracing::warn!(error = %e, "the Auto Scaling stand-in could not list its ASGs");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }

    async fn step(&self) -> anyhow::Result<()> {
        let instances = self.instances().await?;
        let (came, went) = {
            let mut state = self.lock();
            let came: Vec<(String, (Role, String))> = instances
                .iter()
                .filter(|(id, _)| !state.known.contains_key(*id))
                .map(|(id, place)| (id.clone(), place.clone()))
                .collect();
            let went: Vec<(String, (Role, String))> = state
                .known
                .iter()
                .filter(|(id, _)| !instances.contains_key(*id) && !state.terminating.contains(*id))
                .map(|(id, place)| (id.clone(), place.clone()))
                .collect();
            state.known.extend(came.iter().cloned());
            state.known.retain(|id, _| instances.contains_key(id));
            // An instance that is gone ends whatever action it was waited on
            // for (a launch the scaler terminated before it was answered).
            for action in state.actions.values_mut() {
                if action.result.is_none() && !instances.contains_key(&action.instance) {
                    action.result = Some("ENDED".into());
                    action.applied = true;
                }
            }
            (came, went)
        };
        for (id, (role, asg)) in came {
            self.begin(Kind::Launch, &id, role, &asg);
        }
        // Gone at once (the scaler's own terminations: the emulator does not
        // wait on the hook): the event still comes, after the fact.
        for (id, (role, asg)) in went {
            self.begin(Kind::Terminate, &id, role, &asg);
        }
        self.apply(&instances).await;
        Ok(())
    }

    /// An out-of-band termination (an operator, an instance refresh): the
    /// instance is held in `Terminating:Wait` while the handler decides.
    pub async fn terminate(&self, instance: &str) -> bool {
        let Ok(instances) = self.instances().await else { return false };
        let Some((role, asg)) = instances.get(instance).cloned() else { return false };
        {
            let mut state = self.lock();
            state.terminating.insert(instance.to_owned());
            state.stats.out_of_band_terminations += 1;
        }
        self.begin(Kind::Terminate, instance, role, &asg);
        true
    }

    /// A rebalance recommendation for `instance`, delivered twice.
    pub fn rebalance(&self, instance: &str) {
        self.lock().stats.rebalance_warnings += 1;
        let event = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "EC2 Instance Rebalance Recommendation",
            "source": "aws.ec2",
            "region": REGION,
            "time": now_rfc3339(),
            "resources": [],
            "detail": {"instance-id": instance}
        });
        self.deliver(event, 2);
    }

    /// A new action: waited on, and announced twice.
    fn begin(&self, kind: Kind, instance: &str, role: Role, asg: &str) {
        let token = uuid::Uuid::new_v4().to_string();
        let (detail_type, transition, hook) = match kind {
            Kind::Launch => (
                "EC2 Instance-launch Lifecycle Action",
                "autoscaling:EC2_INSTANCE_LAUNCHING",
                streamfleet_aws_fleet::LAUNCH_HOOK,
            ),
            Kind::Terminate => (
                "EC2 Instance-terminate Lifecycle Action",
                "autoscaling:EC2_INSTANCE_TERMINATING",
                streamfleet_aws_fleet::TERMINATE_HOOK,
            ),
        };
        self.lock().actions.insert(
            token.clone(),
            Action {
                kind,
                instance: instance.to_owned(),
                asg: asg.to_owned(),
                hook,
                timeout_at: Instant::now() + HOOK_TIMEOUT,
                result: None,
                applied: false,
            },
        );
        // As the hooks streamfleet puts on its ASGs carry it (the emulator
        // keeps no notification metadata).
        let metadata = json!({
            "group": self.0.group.as_str(),
            "role": role.to_string(),
            "region": REGION,
            "heartbeatTimeoutSecs": HOOK_TIMEOUT.as_secs(),
        });
        let event = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": detail_type,
            "source": "aws.autoscaling",
            "region": REGION,
            "time": now_rfc3339(),
            "resources": [],
            "detail": {
                "LifecycleActionToken": token,
                "AutoScalingGroupName": asg,
                "LifecycleHookName": hook,
                "EC2InstanceId": instance,
                "LifecycleTransition": transition,
                "NotificationMetadata": metadata.to_string(),
            }
        });
        self.deliver(event, 2);
    }

    /// `copies` deliveries of `event`, each after its own delay of up to
    /// 3 s, each retried every second until handled (EventBridge retries a
    /// failed invocation for a day; here, for the five minutes a run lasts).
    fn deliver(&self, event: Value, copies: u32) {
        for _ in 0..copies {
            let cloud = self.clone();
            let event = event.clone();
            let late = self.delay(Duration::from_secs(3));
            tokio::spawn(async move {
                tokio::time::sleep(late).await;
                for attempt in 0..300 {
                    let handler = {
                        let handlers = cloud.0.handlers.lock().expect("handlers lock");
                        handlers.get(attempt % handlers.len().max(1)).cloned()
                    };
                    let Some(handler) = handler else {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    };
                    let parsed = parse_lifecycle_event(&event).expect("the stand-in's events parse");
                    let outcome = handler.hooks().on_event(parsed).await;
                    let handled = {
                        let mut state = cloud.lock();
                        state.stats.events_delivered += 1;
                        match outcome {
                            Ok(outcome) => {
                                state.stats.duplicates += u64::from(outcome == HookOutcome::Duplicate);
                                true
                            }
                            Err(_) => {
                                state.stats.events_failed += 1;
                                false
                            }
                        }
                    };
                    if handled {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    }

    /// Ends in the emulator what the answers (or the timeouts) ended: a
    /// termination once answered, a launch once abandoned.
    async fn apply(&self, instances: &BTreeMap<String, (Role, String)>) {
        let due: Vec<(String, String)> = {
            let mut state = self.lock();
            let State { actions, stats, .. } = &mut *state;
            let now = Instant::now();
            let mut due = Vec::new();
            for (token, action) in actions.iter_mut() {
                if action.result.is_none() && now >= action.timeout_at {
                    action.result = Some(
                        match action.kind {
                            Kind::Launch => "ABANDON",
                            Kind::Terminate => "CONTINUE",
                        }
                        .to_owned(),
                    );
                    stats.timed_out += 1;
                }
                let ends = match action.kind {
                    Kind::Terminate => action.result.is_some(),
                    Kind::Launch => action.result.as_deref() == Some("ABANDON"),
                };
                if ends && !action.applied {
                    due.push((token.clone(), action.instance.clone()));
                }
            }
            due
        };
        for (token, instance) in due {
            let ended = !instances.contains_key(&instance)
                || self
                    .0
                    .autoscaling
                    .terminate_instance_in_auto_scaling_group()
                    .instance_id(&instance)
                    // An operator's or a refresh's termination, or an
                    // abandoned launch: the ASG starts a replacement.
                    .should_decrement_desired_capacity(false)
                    .send()
                    .await
                    .is_ok();
            if ended {
                let mut state = self.lock();
                if let Some(action) = state.actions.get_mut(&token) {
                    action.applied = true;
                }
                // Its end was announced already: not again when it is gone.
                state.terminating.remove(&instance);
                state.known.remove(&instance);
            }
        }
    }

    /// Takes an answer (`CompleteLifecycleAction`) or a heartbeat: `false`
    /// when the action no longer waits (answered, timed out, unknown).
    fn answer(&self, operation: &str, params: &[(String, String)]) -> bool {
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let (Some(token), Some(instance)) = (param("LifecycleActionToken"), param("InstanceId")) else {
            return false;
        };
        let mut state = self.lock();
        let waiting = state.actions.get(token).is_some_and(|a| {
            a.result.is_none()
                && a.instance == instance
                && param("AutoScalingGroupName") == Some(a.asg.as_str())
                && param("LifecycleHookName") == Some(a.hook)
        });
        if !waiting {
            state.stats.late_answers += 1;
            return false;
        }
        if operation == "RecordLifecycleActionHeartbeat" {
            state.stats.heartbeats += 1;
            if let Some(action) = state.actions.get_mut(token) {
                action.timeout_at = Instant::now() + HOOK_TIMEOUT;
            }
            return true;
        }
        let result = param("LifecycleActionResult").unwrap_or("CONTINUE").to_owned();
        let kind = state.actions.get(token).map(|a| a.kind);
        match (kind, result.as_str()) {
            (Some(Kind::Launch), "ABANDON") => state.stats.launches_abandoned += 1,
            (Some(Kind::Launch), _) => state.stats.launches_continued += 1,
            _ => state.stats.terminations_continued += 1,
        }
        if let Some(action) = state.actions.get_mut(token) {
            action.result = Some(result);
        }
        true
    }
}

impl Seam for AsgCloud {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let params = form_params(request.body().bytes().unwrap_or_default());
        let operation =
            params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone()).unwrap_or_default();
        if !matches!(operation.as_str(), "CompleteLifecycleAction" | "RecordLifecycleActionHeartbeat") {
            return real.call(request);
        }
        let (status, body) = if self.answer(&operation, &params) {
            (
                200,
                format!(
                    "<{operation}Response xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">\
                     <{operation}Result/><ResponseMetadata><RequestId>stand-in</RequestId>\
                     </ResponseMetadata></{operation}Response>"
                ),
            )
        } else {
            (
                400,
                "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error>\
                 <Type>Sender</Type><Code>ValidationError</Code><Message>No active Lifecycle Action \
                 found with token</Message></Error><RequestId>stand-in</RequestId></ErrorResponse>"
                    .to_owned(),
            )
        };
        let mut response =
            HttpResponse::new(StatusCode::try_from(status).expect("a status"), SdkBody::from(body));
        response.headers_mut().insert("content-type", "text/xml");
        HttpConnectorFuture::ready(Ok(response))
    }
}

/// The demo group on Auto Scaling: its roles and curve as on the
/// simulated cloud, in the stand-in's region, launched from `image`.
pub fn group_spec(group: &str, image: &str) -> Value {
    let mut spec = streamfleet_local::scenario::group_spec();
    spec["name"] = Value::from(group);
    spec["cloud"] = Value::from("aws");
    spec["regions"] = serde_json::json!([{"region": REGION}]);
    for role in ["origin", "edge"] {
        spec["roles"][role]["launch"]["imageId"] = Value::from(image);
    }
    spec
}

/// An AMI the emulator knows.
pub async fn some_image(sdk: &aws_config::SdkConfig) -> anyhow::Result<String> {
    let config = aws_sdk_ec2::config::Builder::from(sdk).region(aws_config::Region::new(REGION)).build();
    let images = aws_sdk_ec2::Client::from_conf(config).describe_images().owners("amazon").send().await?;
    images
        .images()
        .iter()
        .filter_map(|i| i.image_id())
        .find(|id| id.len() <= 21)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the emulator lists no AMI"))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now formats")
}
