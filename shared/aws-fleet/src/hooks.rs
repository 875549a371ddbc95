//! The lifecycle hooks streamfleet puts on its Auto Scaling groups, and
//! the two calls that answer them. The hooks' notification metadata names
//! the node group, role and region, so that the lifecycle function knows a
//! launch before the table lists the instance.

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use streamfleet_core::group::Role;
use streamfleet_core::hooks::{HookAction, HookResult, HookTarget};
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::ports::FleetError;

use crate::{failed, AwsFleet};

pub const LAUNCH_HOOK: &str = "sf-launch";
pub const TERMINATE_HOOK: &str = "sf-terminate";

/// AWS answers `ValidationError` for an action it no longer waits on (answered,
/// timed out, instance gone): for an idempotent caller that is success.
fn no_longer_waiting<E: ProvideErrorMetadata>(
    error: &aws_sdk_autoscaling::error::SdkError<E, impl std::fmt::Debug>,
) -> bool {
    error.as_service_error().is_some_and(|e| e.code() == Some("ValidationError"))
}

/// The hooks' notification metadata: the lifecycle function reads the
/// node group, role and region of a launch from it.
fn metadata(group: &GroupName, role: Role, region: &Region, timeout_secs: u32) -> String {
    let target = HookTarget {
        group: group.clone(),
        role,
        region: region.clone(),
        heartbeat_timeout_secs: Some(timeout_secs),
    };
    serde_json::to_string(&target).expect("a hook target serializes")
}

/// A call about an action: done, or done already (the cloud no longer
/// waits on it: answered, timed out, instance gone), or failed.
fn settled<O, E, R>(
    operation: &'static str,
    action: &HookAction,
    result: Result<O, aws_sdk_autoscaling::error::SdkError<E, R>>,
) -> Result<(), FleetError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if no_longer_waiting(&e) => {
            tracing::warn!(instance = %action.instance, hook = %action.hook, operation, "the cloud no longer waits on this action");
            Ok(())
        }
        Err(e) => Err(failed(operation, e)),
    }
}

impl AwsFleet {
    /// Puts both hooks on a new ASG: a launch waits for the node's first
    /// heartbeat (ABANDON if streamfleet never answers), a termination waits
    /// for its sessions to end (CONTINUE if streamfleet never answers).
    pub(crate) async fn put_hooks(
        &self,
        asg: &str,
        group: &GroupName,
        role: Role,
        region: &Region,
    ) -> Result<(), FleetError> {
        let metadata = metadata(group, role, region, self.hook_timeout_secs);
        for (name, transition, default) in [
            (LAUNCH_HOOK, "autoscaling:EC2_INSTANCE_LAUNCHING", "ABANDON"),
            (TERMINATE_HOOK, "autoscaling:EC2_INSTANCE_TERMINATING", "CONTINUE"),
        ] {
            self.clients
                .autoscaling(region)
                .put_lifecycle_hook()
                .auto_scaling_group_name(asg)
                .lifecycle_hook_name(name)
                .lifecycle_transition(transition)
                .heartbeat_timeout(self.hook_timeout_secs as i32)
                .default_result(default)
                .notification_metadata(&metadata)
                .send()
                .await
                .map_err(|e| failed("PutLifecycleHook", e))?;
        }
        Ok(())
    }

    /// Puts the hooks on an ASG that lacks them, once per process.
    pub(crate) async fn ensure_hooks(
        &self,
        asg: &str,
        group: &GroupName,
        role: Role,
        region: &Region,
    ) -> Result<(), FleetError> {
        if self.hooks_checked.lock().expect("hooks lock").contains(asg) {
            return Ok(());
        }
        let hooks = self
            .clients
            .autoscaling(region)
            .describe_lifecycle_hooks()
            .auto_scaling_group_name(asg)
            .send()
            .await
            .map_err(|e| failed("DescribeLifecycleHooks", e))?;
        let names: Vec<&str> =
            hooks.lifecycle_hooks().iter().filter_map(|h| h.lifecycle_hook_name()).collect();
        if !(names.contains(&LAUNCH_HOOK) && names.contains(&TERMINATE_HOOK)) {
            self.put_hooks(asg, group, role, region).await?;
            tracing::info!(%asg, "lifecycle hooks put on an auto scaling group that lacked them");
        }
        self.hooks_checked.lock().expect("hooks lock").insert(asg.to_owned());
        Ok(())
    }

    pub(crate) async fn record_heartbeat(&self, action: &HookAction) -> Result<(), FleetError> {
        let result = self
            .clients
            .autoscaling(&action.region)
            .record_lifecycle_action_heartbeat()
            .auto_scaling_group_name(&action.asg)
            .lifecycle_hook_name(&action.hook)
            .lifecycle_action_token(&action.token)
            .instance_id(action.instance.as_str())
            .send()
            .await;
        settled("RecordLifecycleActionHeartbeat", action, result)
    }

    pub(crate) async fn complete(&self, action: &HookAction, answer: HookResult) -> Result<(), FleetError> {
        let result = self
            .clients
            .autoscaling(&action.region)
            .complete_lifecycle_action()
            .auto_scaling_group_name(&action.asg)
            .lifecycle_hook_name(&action.hook)
            .lifecycle_action_token(&action.token)
            .instance_id(action.instance.as_str())
            .lifecycle_action_result(answer.as_str())
            .send()
            .await;
        settled("CompleteLifecycleAction", action, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_names_the_target_as_the_lifecycle_function_reads_it() {
        let group = GroupName::parse("live").unwrap();
        let region = Region::parse("us-east-1").unwrap();
        let text = metadata(&group, Role::Edge, &region, 300);
        assert_eq!(
            text, r#"{"group":"live","role":"edge","region":"us-east-1","heartbeatTimeoutSecs":300}"#,
            "the format of events/eventbridge/lifecycle-*.json"
        );
        let target: HookTarget = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (target.group, target.role, target.heartbeat_timeout_secs),
            (group, Role::Edge, Some(300))
        );
    }
}
