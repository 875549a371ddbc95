//! The lifecycle function: EventBridge events from EC2 Auto Scaling
//! (lifecycle actions) and EC2 (Spot interruption warnings, rebalance
//! recommendations), turned into domain events for the hooks service.

use serde::Deserialize;
use serde_json::Value;
use streamfleet_core::group::Cloud;
use streamfleet_core::hooks::{HookAction, HookTarget, InterruptionKind, LifecycleEvent, PoolMove};
use streamfleet_core::names::{NodeId, Region};
use streamfleet_core::service::{HookOutcome, LifecycleHooks};

pub const LAUNCH_DETAIL: &str = "EC2 Instance-launch Lifecycle Action";
pub const TERMINATE_DETAIL: &str = "EC2 Instance-terminate Lifecycle Action";
pub const SPOT_DETAIL: &str = "EC2 Spot Instance Interruption Warning";
pub const REBALANCE_DETAIL: &str = "EC2 Instance Rebalance Recommendation";

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("unexpected event {0:?}: this function takes lifecycle actions and interruption warnings")]
    Unexpected(String),
    #[error("malformed {detail_type} event: {message}")]
    Malformed { detail_type: String, message: String },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    region: String,
    detail: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ActionDetail {
    lifecycle_action_token: String,
    auto_scaling_group_name: String,
    lifecycle_hook_name: String,
    #[serde(rename = "EC2InstanceId")]
    ec2_instance_id: String,
    lifecycle_transition: String,
    #[serde(default)]
    notification_metadata: Option<String>,
    /// Only groups with a warm pool say where an instance comes from and
    /// goes: `EC2`, `AutoScalingGroup` or `WarmPool`.
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    destination: Option<String>,
}

#[derive(Deserialize)]
struct InstanceDetail {
    #[serde(rename = "instance-id")]
    instance_id: String,
}

/// The domain event of an EventBridge event.
pub fn parse_lifecycle_event(event: &Value) -> Result<LifecycleEvent, EventError> {
    let envelope: Envelope = serde_json::from_value(event.clone())
        .map_err(|e| EventError::Unexpected(format!("no EventBridge envelope ({e})")))?;
    let detail_type = envelope.detail_type.clone();
    let malformed = |message: String| EventError::Malformed { detail_type: detail_type.clone(), message };
    let instance = |id: String| NodeId::parse(id).map_err(|e| malformed(format!("instance id: {e}")));
    match envelope.detail_type.as_str() {
        LAUNCH_DETAIL | TERMINATE_DETAIL => {
            let detail: ActionDetail =
                serde_json::from_value(envelope.detail).map_err(|e| malformed(e.to_string()))?;
            let expected = if envelope.detail_type == LAUNCH_DETAIL {
                "autoscaling:EC2_INSTANCE_LAUNCHING"
            } else {
                "autoscaling:EC2_INSTANCE_TERMINATING"
            };
            if detail.lifecycle_transition != expected {
                return Err(malformed(format!(
                    "transition {} is not {expected}",
                    detail.lifecycle_transition
                )));
            }
            let region = Region::parse(&envelope.region).map_err(|e| malformed(format!("region: {e}")))?;
            // Metadata is free text on foreign hooks: only ours parses.
            let target = detail
                .notification_metadata
                .as_deref()
                .and_then(|text| serde_json::from_str::<HookTarget>(text).ok());
            let action = HookAction {
                hook: detail.lifecycle_hook_name,
                asg: detail.auto_scaling_group_name,
                token: detail.lifecycle_action_token,
                instance: instance(detail.ec2_instance_id)?,
                region,
            };
            let warm_pool = match (detail.origin.as_deref(), detail.destination.as_deref()) {
                (_, Some("WarmPool")) if envelope.detail_type == LAUNCH_DETAIL => Some(PoolMove::Entering),
                (_, Some("WarmPool")) => Some(PoolMove::Returning),
                (Some("WarmPool"), _) => Some(PoolMove::Leaving),
                _ => None,
            };
            Ok(if envelope.detail_type == LAUNCH_DETAIL {
                LifecycleEvent::Launch { cloud: Cloud::Aws, action, target, warm_pool }
            } else {
                LifecycleEvent::Terminate { cloud: Cloud::Aws, action, target, warm_pool }
            })
        }
        SPOT_DETAIL | REBALANCE_DETAIL => {
            let detail: InstanceDetail =
                serde_json::from_value(envelope.detail).map_err(|e| malformed(e.to_string()))?;
            let kind = if envelope.detail_type == SPOT_DETAIL {
                InterruptionKind::SpotInterruption
            } else {
                InterruptionKind::RebalanceRecommendation
            };
            Ok(LifecycleEvent::Interruption { instance: instance(detail.instance_id)?, kind })
        }
        other => Err(EventError::Unexpected(other.to_owned())),
    }
}

/// One invocation. A malformed event fails the invocation (EventBridge's
/// retries and the dead-letter queue keep it); so does a store or cloud
/// failure, which a retry may fix.
pub async fn handle_lifecycle_event(
    hooks: &LifecycleHooks,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<String, lambda_runtime::Error> {
    let (payload, context) = event.into_parts();
    let parsed = parse_lifecycle_event(&payload)?;
    tracing::info!(request = %context.request_id, event = ?parsed, "lifecycle event");
    let outcome = hooks.on_event(parsed).await?;
    tracing::info!(?outcome, "lifecycle event handled");
    Ok(outcome_name(&outcome).to_owned())
}

fn outcome_name(outcome: &HookOutcome) -> &'static str {
    match outcome {
        HookOutcome::Held => "held",
        HookOutcome::Completed(_) => "completed",
        HookOutcome::Duplicate => "duplicate",
        HookOutcome::Unknown => "unknown",
        HookOutcome::Cordoned => "cordoned",
        HookOutcome::Ignored(_) => "ignored",
    }
}

/// The whole `main` of the lifecycle function.
pub async fn run_lifecycle_function() -> Result<(), lambda_runtime::Error> {
    crate::init_tracing();
    crate::metrics::init_metrics(crate::Function::Lifecycle);
    let scaler = crate::lambda_state(
        crate::Function::Lifecycle,
        crate::Backends {
            fleet: Some(crate::aws_fleet),
            events: Some(crate::eventbridge_events),
            orders: None,
        },
    )
    .await?
    .scaler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let scaler = scaler.clone();
        async move {
            let answer = handle_lifecycle_event(scaler.hooks(), event).await;
            crate::metrics::flush_metrics();
            answer
        }
    }))
    .await
}
