//! The use cases, generic over the ports: what each API call or scheduled
//! event does, independent of how it arrived.

mod node_groups;

pub use node_groups::{Deletion, GroupError, NodeGroups};
