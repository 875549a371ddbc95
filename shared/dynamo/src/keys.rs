//! Key values of every item kind. Keys are built only from validated names,
//! so no caller input can address another item of the table.

use streamfleet_core::names::{GroupName, NodeId};

pub const GROUP_SK: &str = "GROUP";
pub const GROUPS_INDEX_PK: &str = "GROUPS";
pub const NODE_SK_PREFIX: &str = "NODE#";

pub fn group_pk(name: &GroupName) -> String {
    format!("GROUP#{name}")
}

pub fn node_sk(node: &NodeId) -> String {
    format!("{NODE_SK_PREFIX}{node}")
}
