//! A stream's sticky origin: recorded by the first publish lookup so that
//! every later publisher and edge of that stream finds the same node.

use time::OffsetDateTime;

use crate::names::{GroupName, NodeId, StreamKey};

#[derive(Debug, Clone, PartialEq)]
pub struct StreamRoute {
    pub group: GroupName,
    pub stream: StreamKey,
    pub origin: NodeId,
    pub since: OffsetDateTime,
}
