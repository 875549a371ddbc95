//! Scaling: the pure decision core (`plan`) and what it decides (`Decision`).

mod decision;
mod health;
mod memory;
mod operator;
mod plan;
mod series;
mod silence;

pub use decision::{
    Action, Decider, Decision, DecisionEvent, DecisionRecord, Numbers, EVENT_DETAIL_TYPE, EVENT_SOURCE,
};
pub use health::{health_of, GroupHealth, HealthStatus, SlotError, SCALER_SILENT_AFTER};
pub use memory::{LoadSeen, ScalerMemory, SlotFault};
pub use operator::{held_by_pause, pause_news};
pub use plan::{observed_load, plan, PlanInput, PlanSettings, Pressure, Shortfall};
pub use series::{series_due, slot_points, SeriesPoint, SERIES_EVERY, SERIES_KEPT};

#[cfg(test)]
mod plan_tests;
