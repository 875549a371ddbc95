//! The use cases, generic over the ports: what each API call or scheduled
//! event does, independent of how it arrived.

mod backends;
mod cadence;
mod fan_out;
mod fleet_cache;
mod heartbeats;
mod hooks;
mod lookups;
mod node_groups;
mod operator;
mod pool;
mod pressure;
mod scaler;
mod seat_leases;
mod slot_faults;
mod tick_calls;
mod tick_order;

pub use backends::{Fleets, ScalerError, ScalerStores};
pub use cadence::tick_times;
pub use fan_out::{is_stale, tick_orders, DispatchReport, OrderOutcome};
pub use heartbeats::{Admission, HeartbeatAck, HeartbeatError, HeartbeatSettings, Heartbeats};
pub use hooks::{HookOutcome, HookSettings, LifecycleHooks};
pub use lookups::{LookupError, LookupSettings, Lookups, Placement, StreamRequest};
pub use node_groups::{Deletion, EnrollmentKey, GroupError, NodeGroups};
pub use operator::{LaunchAsk, Operator, MAX_LAUNCH_ASK};
pub use pool::{Pool, PoolError};
pub use scaler::{GroupTickOutcome, Scaler, ScalerSettings, TickReport, DEFAULT_TICK_EVERY};
pub use tick_calls::{TickCalls, TICK_CALL_WINDOW};
