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
    /// After this the route is no more than a hint of the past: DynamoDB
    /// drops it at leisure, readers treat it as absent (`is_live`), and a
    /// new route replaces it conditionally on its origin.
    pub expires_at: OffsetDateTime,
}

impl StreamRoute {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at > now
    }
}
