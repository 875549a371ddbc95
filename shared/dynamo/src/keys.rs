//! Key values of every item kind. Keys are built only from validated names
//! (none can contain `#` or `/` where it would matter), so no caller input
//! can address another item of the table.

use streamfleet_core::group::Claim;
use streamfleet_core::names::{GroupName, NodeId, StreamKey};

pub const GROUP_SK: &str = "GROUP";
pub const GROUPS_INDEX_PK: &str = "GROUPS";
pub const NODE_SK_PREFIX: &str = "NODE#";
pub const CLAIM_SK: &str = "CLAIM";
pub const ROUTE_SK: &str = "ROUTE";

pub fn group_pk(name: &GroupName) -> String {
    format!("GROUP#{name}")
}

pub fn node_sk(node: &NodeId) -> String {
    format!("{NODE_SK_PREFIX}{node}")
}

pub fn instance_index_pk(node: &NodeId) -> String {
    format!("INSTANCE#{node}")
}

pub fn claim_pk(claim: &Claim) -> String {
    match claim {
        Claim::App(app) => format!("CLAIM#APP#{app}"),
        Claim::Default => "CLAIM#DEFAULT".to_owned(),
    }
}

/// Routes get a partition each: lookups of different streams spread.
pub fn route_pk(group: &GroupName, stream: &StreamKey) -> String {
    format!("STREAM#{group}#{stream}")
}
