//! What the core needs from the outside world. Adapters (DynamoDB, EC2 Auto
//! Scaling, …) implement these traits and translate their backends' failures
//! into the variants below.

use async_trait::async_trait;

use crate::group::NodeGroup;
use crate::names::{GroupName, NodeId};
use crate::node::Node;
use crate::page::{Page, PageSize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item not as required (absent, present,
    /// another version, still holding nodes). The caller re-reads to learn which.
    #[error("the stored item does not meet the write's condition")]
    Conflict,
    /// The backend could not be reached or refused for capacity; retryable.
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored item could not be decoded: a bug or a foreign write.
    #[error("a stored item is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Stores a new group. MUST return `Conflict` when a group of that name exists.
    async fn insert_group(&self, group: &NodeGroup) -> StoreResult<()>;

    async fn get_group(&self, name: &GroupName) -> StoreResult<Option<NodeGroup>>;

    /// Groups in name order, starting after `after`.
    async fn list_groups(
        &self,
        after: Option<&GroupName>,
        size: PageSize,
    ) -> StoreResult<Page<NodeGroup, GroupName>>;

    /// Overwrites the group. MUST return `Conflict` unless the stored group
    /// exists with version `expected_version`. Leaves `node_count` as stored.
    async fn update_group(&self, group: &NodeGroup, expected_version: u64) -> StoreResult<()>;

    /// Removes the group. MUST return `Conflict` unless it exists, holds no
    /// nodes, and (when given) has version `expected_version`.
    async fn delete_group(&self, name: &GroupName, expected_version: Option<u64>) -> StoreResult<()>;
}

#[async_trait]
pub trait NodeStore: Send + Sync {
    /// The group's nodes in id order, starting after `after`.
    async fn list_nodes(
        &self,
        group: &GroupName,
        after: Option<&NodeId>,
        size: PageSize,
    ) -> StoreResult<Page<Node, NodeId>>;
}
