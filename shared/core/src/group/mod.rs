//! Node groups: the unit an operator manages (origins + edges per region).

mod claim;
mod example;
mod rules;
pub mod schedule;
mod spec;

pub use claim::Claim;
pub use example::example_spec;
pub use rules::*;
pub use spec::*;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::names::GroupName;

/// A stored node group: the operator's spec and what the system keeps beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroup {
    pub spec: NodeGroupSpec,
    /// Incremented on every change; the basis of optimistic concurrency.
    pub version: u64,
    pub status: GroupStatus,
    /// Nodes registered in the group (kept by the node registration writes).
    pub node_count: u32,
    /// Generation of the group's enrollment key; rotating the key bumps it,
    /// which invalidates the previous key for new enrollments.
    #[serde(default = "first_generation")]
    pub enroll_generation: u32,
    /// Drawn when the group is created and part of its enrollment keys: a
    /// group deleted and created again under the same name refuses the old
    /// group's keys. Empty for a group stored before incarnations.
    #[serde(default)]
    pub incarnation: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn first_generation() -> u32 {
    1
}

impl NodeGroup {
    /// A group as first stored: version 1, active, no node, first key generation.
    pub fn new(spec: NodeGroupSpec, now: OffsetDateTime) -> Self {
        Self {
            spec,
            version: 1,
            status: GroupStatus::Active,
            node_count: 0,
            enroll_generation: first_generation(),
            incarnation: crate::credentials::fresh_nonce(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn name(&self) -> &GroupName {
        &self.spec.name
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum GroupStatus {
    Active,
    /// Delete requested with drain: no new nodes or sessions; the scaler
    /// drains the remaining nodes and the group goes once it is empty.
    Deleting,
}
