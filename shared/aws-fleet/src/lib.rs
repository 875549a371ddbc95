//! The AWS cloud backend: one EC2 Auto Scaling group per (node group, role,
//! region), `sf-<group>-<role>-<region>`, created from the role's launch
//! settings. streamfleet drives desired capacity itself (min size 0), removes
//! exactly the instances it chose (`TerminateInstanceInAutoScalingGroup`
//! with decrement), and keeps instances with sessions protected from any
//! scale-in the ASG would start on its own.

mod clients;
mod hooks;
mod names;
mod warm_pool;

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
use aws_sdk_ec2::types::{RequestLaunchTemplateData, ResourceType, TagSpecification};
use streamfleet_core::group::{LaunchSettings, NodeGroup, Role};
use streamfleet_core::hooks::{HookAction, HookResult, GROUP_TAG};
use streamfleet_core::names::{NodeId, Region, Zone};
use streamfleet_core::node::Node;
use streamfleet_core::ports::{Fleet, FleetError, Instance, SlotFailure, Synced};

pub use clients::Clients;
pub use hooks::{LAUNCH_HOOK, TERMINATE_HOOK};
pub use names::{asg_name, template_name};

pub struct AwsFleet {
    clients: Clients,
    /// The heartbeat timeout of the lifecycle hooks streamfleet installs.
    hook_timeout_secs: u32,
    /// ASGs whose hooks this process has seen in place: each is checked
    /// once per process (a cold start), which also mends an ASG whose
    /// hooks failed to go on after it was created, or predates them.
    hooks_checked: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl AwsFleet {
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Self::with_clients(Clients::new(sdk))
    }

    pub fn with_clients(clients: Clients) -> Self {
        Self {
            clients,
            hook_timeout_secs: streamfleet_core::hooks::DEFAULT_HEARTBEAT_TIMEOUT_SECS,
            hooks_checked: std::sync::Mutex::default(),
        }
    }

    /// Sets the hooks' heartbeat timeout, within AWS's 30–7200 s.
    pub fn hook_timeout_secs(mut self, secs: u32) -> Self {
        use streamfleet_core::hooks::{MAX_HEARTBEAT_TIMEOUT_SECS, MIN_HEARTBEAT_TIMEOUT_SECS};
        self.hook_timeout_secs = secs.clamp(MIN_HEARTBEAT_TIMEOUT_SECS, MAX_HEARTBEAT_TIMEOUT_SECS);
        self
    }
}

/// A refusal (a bad template, a quota) is the operator's to fix and says so
/// with the AWS error code; anything else (network, throttling) is retried
/// by the next tick. The SDK's full text goes to the debug log only: the
/// scaler says a slot's failure once when it starts and once when it
/// clears, not every tick.
fn failed<E, R>(operation: &'static str, error: aws_sdk_autoscaling::error::SdkError<E, R>) -> FleetError
where
    E: aws_sdk_autoscaling::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    tracing::debug!(operation, error = %aws_sdk_autoscaling::error::DisplayErrorContext(&error), "AWS call failed");
    let code = error.as_service_error().and_then(|e| e.code()).map(str::to_owned);
    match code {
        Some(code)
            if !code.contains("Throttl")
                && !code.contains("Unavailable")
                && !code.contains("InternalFailure") =>
        {
            FleetError::Refused(format!("{operation}: {code}"))
        }
        // The operation and the code are what an operator reads in the
        // group's health; the SDK's own text is in the debug log above.
        code => FleetError::Unavailable(
            format!("{operation}: {}", code.as_deref().unwrap_or("no answer (network or timeout)")).into(),
        ),
    }
}

/// An ASG's `MaxSize` for a role whose `scale.max` is `max`: twice it. The
/// role's max bounds the nodes serving and launching, which the plan keeps;
/// the room above it is for replacements while nodes drain (scale-in, an
/// interruption warning), which still count in the ASG until they go.
fn asg_max_size(max: u32) -> i32 {
    i32::try_from(max.saturating_mul(2)).unwrap_or(i32::MAX)
}

/// What the ASG owes: its desired capacity less the instances starting or
/// in service. Above zero past a launch's warm-up, the ASG cannot start
/// them (capacity, a quota, a bad image); it keeps trying on its own, so the
/// plan counts them as to come rather than raise the desired capacity again
/// (which would launch a burst once the cause is gone). Instances on their
/// way out are not counted: a scale-in took them off the desired capacity.
fn owed(asg: &aws_sdk_autoscaling::types::AutoScalingGroup) -> u32 {
    let coming_or_serving = asg
        .instances()
        .iter()
        .filter(|i| {
            i.lifecycle_state()
                .is_some_and(|s| s.as_str().starts_with("Pending") || s.as_str() == "InService")
        })
        .count();
    let desired = usize::try_from(asg.desired_capacity().unwrap_or(0)).unwrap_or(0);
    u32::try_from(desired.saturating_sub(coming_or_serving)).unwrap_or(u32::MAX)
}

/// The instance's address for clients: public DNS, public IP, else private IP.
fn address(instance: &aws_sdk_ec2::types::Instance) -> Option<String> {
    [instance.public_dns_name(), instance.public_ip_address(), instance.private_ip_address()]
        .into_iter()
        .flatten()
        .find(|a| !a.is_empty())
        .map(str::to_owned)
}

impl AwsFleet {
    /// The launch template a role launches from: the operator's, or one
    /// streamfleet keeps from `imageId` + `instanceType`.
    async fn template(
        &self,
        group: &NodeGroup,
        role: Role,
        region: &Region,
        launch: &LaunchSettings,
    ) -> Result<LaunchTemplateSpecification, FleetError> {
        if let Some(reference) = &launch.launch_template {
            return Ok(LaunchTemplateSpecification::builder()
                .set_launch_template_id(reference.id.clone())
                .set_launch_template_name(reference.name.clone())
                .version(reference.version.clone().unwrap_or_else(|| "$Default".into()))
                .build());
        }
        let name = template_name(group.name(), role);
        let ec2 = self.clients.ec2(region);
        let existing = ec2.describe_launch_templates().launch_template_names(&name).send().await;
        let exists = existing.as_ref().is_ok_and(|o| !o.launch_templates().is_empty());
        if !exists {
            let image = launch.image_id.as_ref().ok_or_else(|| {
                FleetError::Refused(format!("role {role} has neither imageId nor launchTemplate"))
            })?;
            let data = RequestLaunchTemplateData::builder()
                .image_id(image.as_str())
                .instance_type(launch.instance_type.as_str().into())
                .build();
            ec2.create_launch_template()
                .launch_template_name(&name)
                .launch_template_data(data)
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::LaunchTemplate)
                        .tags(
                            aws_sdk_ec2::types::Tag::builder()
                                .key(GROUP_TAG)
                                .value(group.name().as_str())
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await
                .map_err(|e| failed("CreateLaunchTemplate", e))?;
        }
        Ok(LaunchTemplateSpecification::builder().launch_template_name(name).version("$Latest").build())
    }

    async fn zones(&self, region: &Region, wanted: &[Zone]) -> Result<Vec<String>, FleetError> {
        if !wanted.is_empty() {
            return Ok(wanted.iter().map(|z| z.to_string()).collect());
        }
        let zones = self
            .clients
            .ec2(region)
            .describe_availability_zones()
            .send()
            .await
            .map_err(|e| failed("DescribeAvailabilityZones", e))?;
        Ok(zones
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_owned))
            .take(3)
            .collect())
    }

    async fn describe(
        &self,
        group: &NodeGroup,
        role: Role,
        region: &Region,
    ) -> Result<Option<aws_sdk_autoscaling::types::AutoScalingGroup>, FleetError> {
        let output = self
            .clients
            .autoscaling(region)
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(asg_name(group.name(), role, region))
            .send()
            .await
            .map_err(|e| failed("DescribeAutoScalingGroups", e))?;
        Ok(output.auto_scaling_groups().first().cloned())
    }

    /// The node groups' roles and regions, with their ASG names.
    fn slots(group: &NodeGroup) -> Vec<(Role, &Region, &[Zone])> {
        group
            .spec
            .roles
            .keys()
            .flat_map(|role| group.spec.regions.iter().map(move |r| (*role, &r.region, r.zones.as_slice())))
            .collect()
    }
}

impl AwsFleet {
    /// One role in one region: its ASG created or updated, its instances.
    async fn sync_slot(
        &self,
        group: &NodeGroup,
        role: Role,
        region: &Region,
        zones: &[Zone],
    ) -> Result<(Vec<Instance>, u32), FleetError> {
        let spec = &group.spec.roles[&role];
        let name = asg_name(group.name(), role, region);
        let autoscaling = self.clients.autoscaling(region);
        // One describe per ASG serves both the update and the listing.
        match self.describe(group, role, region).await? {
            Some(existing) if existing.max_size() == Some(asg_max_size(spec.scale.max)) => {
                self.ensure_hooks(&name, group.name(), role, region).await?;
                self.keep_pool(&name, region, Some(&existing), group, role).await;
                Ok((self.running(&existing, role, region).await?, owed(&existing)))
            }
            Some(existing) => {
                self.ensure_hooks(&name, group.name(), role, region).await?;
                self.keep_pool(&name, region, Some(&existing), group, role).await;
                autoscaling
                    .update_auto_scaling_group()
                    .auto_scaling_group_name(&name)
                    .max_size(asg_max_size(spec.scale.max))
                    .send()
                    .await
                    .map_err(|e| failed("UpdateAutoScalingGroup", e))?;
                Ok((self.running(&existing, role, region).await?, owed(&existing)))
            }
            None => {
                let template = self.template(group, role, region, &spec.launch).await?;
                let tag = |key: &str, value: &str| {
                    Tag::builder()
                        .key(key)
                        .value(value)
                        .propagate_at_launch(true)
                        .resource_id(&name)
                        .resource_type("auto-scaling-group")
                        .build()
                };
                autoscaling
                    .create_auto_scaling_group()
                    .auto_scaling_group_name(&name)
                    .launch_template(template)
                    .min_size(0)
                    .max_size(asg_max_size(spec.scale.max))
                    .desired_capacity(0)
                    .set_availability_zones(Some(self.zones(region, zones).await?))
                    .tags(tag(GROUP_TAG, group.name().as_str()))
                    .tags(tag("streamfleet:role", role.as_str()))
                    .send()
                    .await
                    .map_err(|e| failed("CreateAutoScalingGroup", e))?;
                self.put_hooks(&name, group.name(), role, region).await?;
                self.hooks_checked.lock().expect("hooks lock").insert(name.clone());
                // After the hooks: an instance entering the pool is paused to
                // initialise before it is stopped.
                self.keep_pool(&name, region, None, group, role).await;
                tracing::info!(group = %group.name(), asg = %name, "auto scaling group created");
                Ok((Vec::new(), 0))
            }
        }
    }

    /// The ASG's instances, with addresses; those the ASG terminates but a
    /// hook holds are `leaving` (still serving their sessions).
    async fn running(
        &self,
        asg: &aws_sdk_autoscaling::types::AutoScalingGroup,
        role: Role,
        region: &Region,
    ) -> Result<Vec<Instance>, FleetError> {
        let running: Vec<_> = asg
            .instances()
            .iter()
            .filter(|i| {
                // An instance in the warm pool (`Warmed:*`) serves nobody
                // and is not the group's until a scale-out takes it.
                !i.lifecycle_state().is_some_and(|s| {
                    matches!(s.as_str(), "Terminating:Proceed" | "Terminated" | "Detaching" | "Detached")
                        || s.as_str().starts_with("Warmed:")
                })
            })
            .collect();
        if running.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = running.iter().filter_map(|i| i.instance_id().map(str::to_owned)).collect();
        let described = self
            .clients
            .ec2(region)
            .describe_instances()
            .set_instance_ids(Some(ids))
            .send()
            .await
            .map_err(|e| failed("DescribeInstances", e))?;
        let addresses: std::collections::HashMap<String, Option<String>> = described
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| i.instance_id().map(|id| (id.to_owned(), address(i))))
            .collect();
        Ok(running
            .into_iter()
            .filter_map(|instance| {
                let id = instance.instance_id().and_then(|id| NodeId::parse(id).ok())?;
                let leaving = instance.lifecycle_state().is_some_and(|s| s.as_str().starts_with("Terminat"));
                Some(Instance {
                    leaving,
                    host: addresses.get(id.as_str()).cloned().flatten(),
                    zone: instance.availability_zone().and_then(|z| Zone::parse(z).ok()),
                    protected: instance.protected_from_scale_in().unwrap_or(false),
                    unhealthy: instance.health_status().is_some_and(|h| h.eq_ignore_ascii_case("unhealthy")),
                    node_id: id,
                    role,
                    region: region.clone(),
                })
            })
            .collect())
    }
}

#[async_trait]
impl Fleet for AwsFleet {
    async fn sync(&self, group: &NodeGroup) -> Result<Synced, FleetError> {
        let mut synced = Synced::default();
        for (role, region, zones) in Self::slots(group) {
            // A launch template that exists in one region only, a missing
            // permission, throttling: that slot waits for the next tick,
            // the others go on.
            match self.sync_slot(group, role, region, zones).await {
                Ok((instances, owed)) => {
                    synced.instances.extend(instances);
                    if owed > 0 {
                        synced.shortfall.insert((role, region.clone()), owed);
                    }
                }
                Err(error) => {
                    tracing::debug!(group = %group.name(), %role, %region, %error, "the cloud could not be brought in line for this role and region");
                    synced.failed.push(SlotFailure { role, region: region.clone(), error });
                }
            }
        }
        Ok(synced)
    }

    async fn launch(
        &self,
        group: &NodeGroup,
        role: Role,
        region: &Region,
        count: u32,
    ) -> Result<Vec<Instance>, FleetError> {
        let asg = self
            .describe(group, role, region)
            .await?
            .ok_or_else(|| FleetError::Refused(format!("no auto scaling group for {role} in {region}")))?;
        // Never past the ASG's max: the plan counts only serving and warming
        // nodes, the ASG also counts draining ones.
        let desired =
            (asg.desired_capacity().unwrap_or(0) + count as i32).min(asg.max_size().unwrap_or(i32::MAX));
        self.clients
            .autoscaling(region)
            .set_desired_capacity()
            .auto_scaling_group_name(asg_name(group.name(), role, region))
            .desired_capacity(desired)
            .honor_cooldown(false)
            .send()
            .await
            .map_err(|e| failed("SetDesiredCapacity", e))?;
        // The new instances show up in `instances` once the ASG starts them.
        Ok(Vec::new())
    }

    async fn set_protection(
        &self,
        group: &NodeGroup,
        node: &Node,
        protected: bool,
    ) -> Result<(), FleetError> {
        self.clients
            .autoscaling(&node.region)
            .set_instance_protection()
            .auto_scaling_group_name(asg_name(group.name(), node.role, &node.region))
            .instance_ids(node.node_id.as_str())
            .protected_from_scale_in(protected)
            .send()
            .await
            .map_err(|e| failed("SetInstanceProtection", e))?;
        Ok(())
    }

    async fn keep_action(&self, action: &HookAction) -> Result<(), FleetError> {
        self.record_heartbeat(action).await
    }

    async fn complete_action(&self, action: &HookAction, result: HookResult) -> Result<(), FleetError> {
        self.complete(action, result).await
    }

    async fn terminate(&self, _: &NodeGroup, node: &Node, _dead: bool) -> Result<(), FleetError> {
        let result = self
            .clients
            .autoscaling(&node.region)
            .terminate_instance_in_auto_scaling_group()
            .instance_id(node.node_id.as_str())
            .should_decrement_desired_capacity(true)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already gone from the group: what we wanted.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    aws_sdk_autoscaling::error::ProvideErrorMetadata::code(s) == Some("ValidationError")
                }) =>
            {
                tracing::warn!(node = %node.node_id, "instance already out of its auto scaling group");
                Ok(())
            }
            Err(e) => Err(failed("TerminateInstanceInAutoScalingGroup", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_autoscaling::types::{AutoScalingGroup, Instance, LifecycleState};

    use super::owed;

    fn asg(desired: i32, states: &[LifecycleState]) -> AutoScalingGroup {
        let instances = states.iter().enumerate().map(|(i, state)| {
            Instance::builder().instance_id(format!("i-{i:016x}")).lifecycle_state(state.clone()).build()
        });
        AutoScalingGroup::builder().desired_capacity(desired).set_instances(Some(instances.collect())).build()
    }

    #[test]
    fn an_asg_owes_its_desired_capacity_less_what_starts_or_serves() {
        use LifecycleState::*;
        assert_eq!(owed(&asg(3, &[InService])), 2, "two it cannot start");
        assert_eq!(owed(&asg(3, &[InService, Pending, PendingWait])), 0, "starting counts");
        // A held scale-in: the desired capacity was lowered already.
        assert_eq!(owed(&asg(1, &[InService, TerminatingWait])), 0);
        assert_eq!(owed(&asg(2, &[InService, TerminatingWait])), 1, "its replacement has not come");
        assert_eq!(owed(&asg(1, &[InService, InService])), 0, "never below zero");
    }
}
