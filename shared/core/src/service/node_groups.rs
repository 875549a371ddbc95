//! Managing node groups: create, read, list, replace, patch, delete.

use std::sync::Arc;

use crate::clock::Clock;
use crate::credentials::NodeCredentials;
use crate::decode;
use crate::group::{Claim, GroupStatus, NodeGroup, NodeGroupSpec};
use crate::names::{GroupName, NodeId};
use crate::node::Node;
use crate::page::{Page, PageSize};
use crate::ports::{GroupStore, NodeLifecycleStore, NodeStore, StoreError};
use crate::validation::InvalidInput;

/// How often a patch without a precondition re-reads and retries when a
/// concurrent writer got in first.
const UNCONDITIONAL_PATCH_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("node group {0} does not exist")]
    NotFound(GroupName),
    #[error("node group {0} already exists")]
    AlreadyExists(GroupName),
    #[error("node group {name} is at version {current}, not {expected}")]
    VersionMismatch { name: GroupName, expected: u64, current: u64 },
    #[error("node group {name} still has {count} node(s); delete with drain to drain them first")]
    HasNodes { name: GroupName, count: u32 },
    #[error("node group {0} is being deleted")]
    Deleting(GroupName),
    #[error("{claim} is already served by node group {owner}")]
    Claimed { claim: Claim, owner: GroupName },
    #[error("node {node} is not in node group {group}")]
    NodeNotFound { group: GroupName, node: NodeId },
    #[error(
        "node {0} holds a lifecycle action of its cloud; it is forgotten once the action is answered \
         (drain it, or cordon it)"
    )]
    NodeHeld(NodeId),
    #[error("a concurrent change got in first; retry")]
    Raced,
    #[error("node {node} is {state}: only a node in service can be drained")]
    NotDrainable { node: NodeId, state: &'static str },
    #[error(
        "{running} {role} node(s) run or start in {region}: the role's max of {max} leaves no room for more"
    )]
    NoRoom { role: crate::group::Role, region: crate::names::Region, running: u32, max: u32 },
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    /// The group is gone.
    Deleted,
    /// The group still has nodes and now drains them before it goes.
    Draining(NodeGroup),
}

/// Which write failed its condition, for `explain_conflict`.
enum Attempt<'a> {
    Update { claims: &'a [Claim] },
    Delete,
}

/// A group's enrollment key, for the operator to hand to new nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentKey {
    pub key: String,
    pub generation: u32,
}

#[derive(Clone)]
pub struct NodeGroups {
    groups: Arc<dyn GroupStore>,
    nodes: Arc<dyn NodeStore>,
    lifecycle: Arc<dyn NodeLifecycleStore>,
    clock: Arc<dyn Clock>,
    credentials: NodeCredentials,
}

impl NodeGroups {
    pub fn new(
        groups: Arc<dyn GroupStore>,
        nodes: Arc<dyn NodeStore>,
        lifecycle: Arc<dyn NodeLifecycleStore>,
        clock: Arc<dyn Clock>,
        credentials: NodeCredentials,
    ) -> Self {
        Self { groups, nodes, lifecycle, clock, credentials }
    }

    pub async fn create(&self, spec: NodeGroupSpec) -> Result<NodeGroup, GroupError> {
        spec.validate()?;
        let group = NodeGroup::new(spec, self.clock.now());
        match self.groups.insert_group(&group).await {
            Ok(()) => {
                tracing::info!(group = %group.name(), "node group created");
                Ok(group)
            }
            Err(StoreError::Conflict) => Err(self.explain_create_conflict(&group.spec).await),
            Err(e) => Err(e.into()),
        }
    }

    async fn explain_create_conflict(&self, spec: &NodeGroupSpec) -> GroupError {
        match self.groups.get_group(&spec.name).await {
            Ok(Some(_)) => GroupError::AlreadyExists(spec.name.clone()),
            Ok(None) => self.taken_claim(&spec.name, &spec.claims()).await.unwrap_or(GroupError::Raced),
            Err(e) => e.into(),
        }
    }

    /// The first of `claims` held by a group other than `name`.
    async fn taken_claim(&self, name: &GroupName, claims: &[Claim]) -> Option<GroupError> {
        for claim in claims {
            match self.groups.claim_owner(claim).await {
                Ok(Some(owner)) if &owner != name => {
                    return Some(GroupError::Claimed { claim: claim.clone(), owner });
                }
                Ok(_) => {}
                Err(e) => return Some(e.into()),
            }
        }
        None
    }

    pub async fn get(&self, name: &GroupName) -> Result<NodeGroup, GroupError> {
        self.groups.get_group(name).await?.ok_or_else(|| GroupError::NotFound(name.clone()))
    }

    pub async fn list(
        &self,
        after: Option<&GroupName>,
        size: PageSize,
    ) -> Result<Page<NodeGroup, GroupName>, GroupError> {
        Ok(self.groups.list_groups(after, size).await?)
    }

    /// Replaces the whole spec, provided the group is still at `expected_version`.
    pub async fn replace(
        &self,
        name: &GroupName,
        spec: NodeGroupSpec,
        expected_version: u64,
    ) -> Result<NodeGroup, GroupError> {
        let current = self.get(name).await?;
        self.write_new_spec(current, spec, expected_version).await
    }

    /// Applies a JSON merge patch (RFC 7396) to the spec. With a version, the
    /// patch applies only to that version; without one, it applies to
    /// whatever is current, re-reading if a concurrent write got in first.
    pub async fn patch(
        &self,
        name: &GroupName,
        merge_patch: &serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<NodeGroup, GroupError> {
        if !merge_patch.is_object() {
            return Err(InvalidInput::one("body", "type", "a merge patch is a JSON object").into());
        }
        let attempts = if expected_version.is_some() { 1 } else { UNCONDITIONAL_PATCH_ATTEMPTS };
        let mut attempt = 1;
        loop {
            let current = self.get(name).await?;
            let version = expected_version.unwrap_or(current.version);
            let mut document = serde_json::to_value(&current.spec).expect("specs serialize to JSON");
            json_patch::merge(&mut document, merge_patch);
            let spec: NodeGroupSpec = decode::from_value(document)?;
            match self.write_new_spec(current, spec, version).await {
                Err(GroupError::VersionMismatch { .. }) if attempt < attempts => attempt += 1,
                result => return result,
            }
        }
    }

    async fn write_new_spec(
        &self,
        current: NodeGroup,
        spec: NodeGroupSpec,
        expected_version: u64,
    ) -> Result<NodeGroup, GroupError> {
        if spec.name != current.spec.name {
            return Err(InvalidInput::one("name", "immutable", "a node group cannot be renamed").into());
        }
        spec.validate()?;
        if current.status == GroupStatus::Deleting {
            return Err(GroupError::Deleting(current.spec.name));
        }
        if current.version != expected_version {
            return Err(GroupError::VersionMismatch {
                name: current.spec.name,
                expected: expected_version,
                current: current.version,
            });
        }
        let updated =
            NodeGroup { spec, version: current.version + 1, updated_at: self.clock.now(), ..current.clone() };
        match self.groups.update_group(&updated, &current).await {
            Ok(()) => {
                tracing::info!(group = %updated.name(), version = updated.version, "node group updated");
                Ok(updated)
            }
            Err(StoreError::Conflict) => Err(self
                .explain_conflict(
                    updated.name(),
                    expected_version,
                    Attempt::Update { claims: &updated.spec.claims() },
                )
                .await),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes an empty group. A group with nodes is refused, unless `drain`
    /// is asked: then it is marked deleting and goes once drained.
    pub async fn delete(
        &self,
        name: &GroupName,
        expected_version: Option<u64>,
        drain: bool,
    ) -> Result<Deletion, GroupError> {
        let current = self.get(name).await?;
        if let Some(expected) = expected_version.filter(|v| *v != current.version) {
            return Err(GroupError::VersionMismatch {
                name: name.clone(),
                expected,
                current: current.version,
            });
        }
        if current.node_count == 0 {
            return match self.groups.delete_group(&current).await {
                Ok(()) => {
                    tracing::info!(group = %name, "node group deleted");
                    Ok(Deletion::Deleted)
                }
                Err(StoreError::Conflict) => {
                    Err(self.explain_conflict(name, current.version, Attempt::Delete).await)
                }
                Err(e) => Err(e.into()),
            };
        }
        if !drain {
            return Err(GroupError::HasNodes { name: name.clone(), count: current.node_count });
        }
        if current.status == GroupStatus::Deleting {
            return Ok(Deletion::Draining(current));
        }
        let draining = NodeGroup {
            status: GroupStatus::Deleting,
            version: current.version + 1,
            updated_at: self.clock.now(),
            ..current.clone()
        };
        match self.groups.update_group(&draining, &current).await {
            Ok(()) => {
                tracing::info!(group = %name, nodes = draining.node_count, "node group draining for deletion");
                Ok(Deletion::Draining(draining))
            }
            Err(StoreError::Conflict) => {
                Err(self.explain_conflict(name, current.version, Attempt::Update { claims: &[] }).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_nodes(
        &self,
        name: &GroupName,
        after: Option<&NodeId>,
        size: PageSize,
    ) -> Result<Page<Node, NodeId>, GroupError> {
        self.get(name).await?;
        Ok(self.nodes.list_nodes(name, after, size).await?)
    }

    /// The group's enrollment key: new nodes present it on their first heartbeat.
    pub async fn enrollment_key(&self, name: &GroupName) -> Result<EnrollmentKey, GroupError> {
        let group = self.get(name).await?;
        Ok(self.key_of(&group, group.enroll_generation))
    }

    /// Issues a new enrollment key; the previous one stops admitting nodes.
    /// Nodes already enrolled keep their own tokens.
    pub async fn rotate_enrollment_key(&self, name: &GroupName) -> Result<EnrollmentKey, GroupError> {
        match self.groups.rotate_enrollment(name).await {
            Ok(generation) => {
                tracing::info!(group = %name, generation, "enrollment key rotated");
                // The incarnation never changes: the group as read after the
                // rotation has it (and nothing newer than `generation` matters).
                let group = self.get(name).await?;
                Ok(self.key_of(&group, generation))
            }
            Err(StoreError::Conflict) => Err(GroupError::NotFound(name.clone())),
            Err(e) => Err(e.into()),
        }
    }

    fn key_of(&self, group: &NodeGroup, generation: u32) -> EnrollmentKey {
        EnrollmentKey {
            key: self.credentials.enrollment_key(group.name(), &group.incarnation, generation),
            generation,
        }
    }

    pub async fn get_node(&self, group: &GroupName, node: &NodeId) -> Result<Node, GroupError> {
        self.nodes
            .get_node(group, node)
            .await?
            .ok_or_else(|| GroupError::NodeNotFound { group: group.clone(), node: node.clone() })
    }

    /// Forgets a node and so revokes its token: the row goes, and with it
    /// the nonce every heartbeat of that token must match. A node the group's
    /// cloud still runs is listed again by the next scaler tick and may
    /// enroll anew (with the group's key, for a new token); a leaked token
    /// never reports again.
    pub async fn forget_node(&self, group: &GroupName, node: &NodeId) -> Result<(), GroupError> {
        let not_found = || GroupError::NodeNotFound { group: group.clone(), node: node.clone() };
        let stored = self.nodes.get_node(group, node).await?.ok_or_else(not_found)?;
        // Its row is where the hold is renewed from: forgetting it would let
        // the cloud's timeout answer for it, viewers or not.
        if stored.hold.is_some() {
            return Err(GroupError::NodeHeld(node.clone()));
        }
        match self.lifecycle.forget_unheld_node(group, node).await {
            Ok(()) => {
                tracing::info!(group = %group, node = %node, "node forgotten by an operator; its token is revoked");
                Ok(())
            }
            // Gone meanwhile, or a hold came in since the read.
            Err(StoreError::Conflict) => match self.nodes.get_node(group, node).await? {
                Some(_) => Err(GroupError::NodeHeld(node.clone())),
                None => Err(not_found()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// A conditional write failed: re-read to tell the caller which of its
    /// preconditions no longer holds.
    async fn explain_conflict(
        &self,
        name: &GroupName,
        expected_version: u64,
        attempt: Attempt<'_>,
    ) -> GroupError {
        let group = match self.groups.get_group(name).await {
            Ok(Some(group)) => group,
            Ok(None) => return GroupError::NotFound(name.clone()),
            Err(e) => return e.into(),
        };
        if group.version != expected_version {
            return GroupError::VersionMismatch {
                name: name.clone(),
                expected: expected_version,
                current: group.version,
            };
        }
        match attempt {
            Attempt::Update { claims } => self.taken_claim(name, claims).await.unwrap_or(GroupError::Raced),
            Attempt::Delete if group.node_count > 0 => {
                GroupError::HasNodes { name: name.clone(), count: group.node_count }
            }
            Attempt::Delete => GroupError::Raced,
        }
    }
}
