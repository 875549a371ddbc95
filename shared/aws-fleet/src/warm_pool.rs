//! A role's warm pool on each of its Auto Scaling groups: put when the
//! spec has one that differs from the group's, deleted when the spec has
//! none or the node group is being deleted (a pool beside an emptied group
//! would grow to its prepared capacity and stay). The group's description
//! carries its pool's configuration, so keeping it in line costs no call
//! while nothing changes. A pool the cloud refuses (a launch template
//! warm pools do not take: Spot, mixed instances) is logged and left to the
//! next tick; the role scales without it.

use aws_sdk_autoscaling::types::{
    AutoScalingGroup, InstanceReusePolicy, WarmPoolConfiguration, WarmPoolState as AwsPoolState,
    WarmPoolStatus,
};
use streamfleet_core::group::{GroupStatus, NodeGroup, Role, WarmPool};
use streamfleet_core::ports::FleetError;

use crate::{failed, AwsFleet};

/// What a group's warm pool needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolChange {
    Put { min_size: i32, max_prepared: i32, state: &'static str, reuse: bool },
    Delete,
}

/// The pool `role` wants, as AWS would describe it. Without
/// `maxPreparedCapacity` AWS sizes the pool to the group's max size, which
/// streamfleet sets to twice the role's max (room for replacements while
/// nodes drain): the role's own max is sent instead.
fn wanted(pool: &WarmPool, role_max: u32) -> PoolChange {
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    PoolChange::Put {
        min_size: int(pool.min_size),
        max_prepared: int(pool.max_prepared_capacity.unwrap_or(role_max)),
        state: pool.state.as_aws(),
        reuse: pool.reuse_on_scale_in,
    }
}

fn described(config: &WarmPoolConfiguration) -> PoolChange {
    PoolChange::Put {
        min_size: config.min_size().unwrap_or(0),
        max_prepared: config.max_group_prepared_capacity().unwrap_or(-1),
        state: match config.pool_state() {
            Some(AwsPoolState::Hibernated) => "Hibernated",
            Some(AwsPoolState::Running) => "Running",
            _ => "Stopped",
        },
        reuse: config.instance_reuse_policy().and_then(|p| p.reuse_on_scale_in()).unwrap_or(false),
    }
}

/// The pool a role wants: none once its node group is being deleted.
fn pool_of(group: &NodeGroup, role: Role) -> Option<&WarmPool> {
    let pool = group.spec.roles.get(&role).and_then(|r| r.warm_pool.as_ref());
    pool.filter(|_| group.status != GroupStatus::Deleting)
}

/// The call that brings the group's pool in line with the role, if any.
/// A pool being deleted is left to finish: AWS refuses to change it, and
/// the next tick puts the new one.
pub(crate) fn change(
    asg: Option<&AutoScalingGroup>,
    pool: Option<&WarmPool>,
    role_max: u32,
) -> Option<PoolChange> {
    let current = asg.and_then(|a| a.warm_pool_configuration());
    if current.is_some_and(|c| c.status() == Some(&WarmPoolStatus::PendingDelete)) {
        return None;
    }
    match (current, pool) {
        (None, None) => None,
        (Some(_), None) => Some(PoolChange::Delete),
        (current, Some(pool)) => {
            let wanted = wanted(pool, role_max);
            (current.map(described) != Some(wanted)).then_some(wanted)
        }
    }
}

impl AwsFleet {
    /// Brings the pool of `asg` (as described, `None` when just created) in
    /// line with the role; a failure is logged (by `failed`), not returned.
    pub(crate) async fn keep_pool(
        &self,
        asg: &str,
        region: &streamfleet_core::names::Region,
        described: Option<&AutoScalingGroup>,
        group: &NodeGroup,
        role: Role,
    ) {
        let Some(change) = change(described, pool_of(group, role), group.spec.roles[&role].scale.max) else {
            return;
        };
        if let Err(error) = self.apply_pool(asg, region, change).await {
            tracing::warn!(%asg, %error, "the warm pool could not be brought in line; the role scales without it, the next tick tries again");
        }
    }

    async fn apply_pool(
        &self,
        asg: &str,
        region: &streamfleet_core::names::Region,
        change: PoolChange,
    ) -> Result<(), FleetError> {
        let autoscaling = self.clients.autoscaling(region);
        match change {
            PoolChange::Put { min_size, max_prepared, state, reuse } => {
                autoscaling
                    .put_warm_pool()
                    .auto_scaling_group_name(asg)
                    .min_size(min_size)
                    .max_group_prepared_capacity(max_prepared)
                    .pool_state(AwsPoolState::from(state))
                    .instance_reuse_policy(InstanceReusePolicy::builder().reuse_on_scale_in(reuse).build())
                    .send()
                    .await
                    .map_err(|e| failed("PutWarmPool", e))?;
                tracing::info!(%asg, min_size, max_prepared, state, reuse, "warm pool put");
            }
            // Not forced: AWS terminates the pool's instances through the
            // lifecycle hooks first.
            PoolChange::Delete => {
                autoscaling
                    .delete_warm_pool()
                    .auto_scaling_group_name(asg)
                    .send()
                    .await
                    .map_err(|e| failed("DeleteWarmPool", e))?;
                tracing::info!(%asg, "warm pool deleted");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use streamfleet_core::group::{example_spec, Role, WarmPoolState};

    use super::*;

    /// The example's edges have a max of 20.
    fn change_for(asg: &AutoScalingGroup, pool: Option<WarmPool>) -> Option<PoolChange> {
        change(Some(asg), pool.as_ref(), example_spec("live").roles[&Role::Edge].scale.max)
    }

    fn asg_with(config: Option<WarmPoolConfiguration>) -> AutoScalingGroup {
        AutoScalingGroup::builder().set_warm_pool_configuration(config).build()
    }

    const POOL: WarmPool = WarmPool {
        min_size: 2,
        max_prepared_capacity: None,
        state: WarmPoolState::Stopped,
        reuse_on_scale_in: true,
        init_secs: 120,
    };

    #[test]
    fn a_pool_is_put_once_then_left_while_it_matches() {
        let put = change_for(&asg_with(None), Some(POOL));
        assert_eq!(
            put,
            Some(PoolChange::Put { min_size: 2, max_prepared: 20, state: "Stopped", reuse: true }),
            "sized to the role's max (20), not the ASG's"
        );
        let as_described = WarmPoolConfiguration::builder()
            .min_size(2)
            .max_group_prepared_capacity(20)
            .pool_state(AwsPoolState::Stopped)
            .instance_reuse_policy(InstanceReusePolicy::builder().reuse_on_scale_in(true).build())
            .build();
        assert_eq!(change_for(&asg_with(Some(as_described.clone())), Some(POOL)), None);
        let hibernated = WarmPool { state: WarmPoolState::Hibernated, ..POOL };
        assert!(matches!(
            change_for(&asg_with(Some(as_described.clone())), Some(hibernated)),
            Some(PoolChange::Put { state: "Hibernated", .. })
        ));
        assert_eq!(change_for(&asg_with(Some(as_described)), None), Some(PoolChange::Delete));
        assert_eq!(change_for(&asg_with(None), None), None);
    }

    #[test]
    fn a_node_group_being_deleted_wants_no_pool() {
        let now = std::time::SystemTime::UNIX_EPOCH.into();
        let mut group = NodeGroup::new(example_spec("live"), now);
        group.spec.roles.get_mut(&Role::Edge).unwrap().warm_pool = Some(POOL);
        assert_eq!(pool_of(&group, Role::Edge), Some(&POOL));
        assert_eq!(pool_of(&group, Role::Origin), None);
        group.status = GroupStatus::Deleting;
        assert_eq!(pool_of(&group, Role::Edge), None, "an emptied group's pool would fill up and stay");
    }

    #[test]
    fn a_pool_being_deleted_is_left_to_finish() {
        let deleting = WarmPoolConfiguration::builder().status(WarmPoolStatus::PendingDelete).build();
        assert_eq!(change_for(&asg_with(Some(deleting.clone())), Some(POOL)), None);
        assert_eq!(change_for(&asg_with(Some(deleting)), None), None);
    }
}
