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

/// The group a `group_pk` names (a stream record's key, say).
pub fn group_of_pk(pk: &str) -> Option<GroupName> {
    pk.strip_prefix("GROUP#").and_then(|name| GroupName::parse(name).ok())
}

/// The item whose every write is a call for the group's tick: the table's
/// stream, filtered on this sort key, invokes the scaler for the group.
pub const TICK_SK: &str = "TICK";

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

pub const SCALER_SK: &str = "SCALER";
pub const EVENT_SK_PREFIX: &str = "EVENT#";
pub const POOL_PK: &str = "POOL";
pub const HOST_SK_PREFIX: &str = "HOST#";

pub const SERIES_SK_PREFIX: &str = "SERIES#";

/// A capacity series point's key: its time in key order.
pub fn series_sk(at_millis: i128) -> String {
    format!("{SERIES_SK_PREFIX}{at_millis:013}")
}

/// Newest last in key order; the log is read backwards.
pub fn event_sk(at_millis: i128, seq: usize) -> String {
    format!("{EVENT_SK_PREFIX}{at_millis:013}#{seq:04}")
}

/// Whether `sk` is an event key as `event_sk` makes them (a paging cursor
/// must be one, so that it cannot point anywhere else).
pub fn is_event_sk(sk: &str) -> bool {
    sk.strip_prefix(EVENT_SK_PREFIX).and_then(|rest| rest.split_once('#')).is_some_and(|(ms, seq)| {
        ms.len() == 13 && seq.len() == 4 && (ms.to_owned() + seq).bytes().all(|b| b.is_ascii_digit())
    })
}

pub fn host_sk(host: &NodeId) -> String {
    format!("{HOST_SK_PREFIX}{host}")
}

pub const HOST_USE_SK_PREFIX: &str = "HOSTUSE#";

/// The marker of a pool host serving a group, in the group's partition.
pub fn host_use_sk(host: &NodeId) -> String {
    format!("{HOST_USE_SK_PREFIX}{host}")
}
