//! Scaling: the pure decision core (`plan`) and what it decides (`Decision`).

mod decision;
mod memory;
mod plan;
mod silence;

pub use decision::{Action, Decision, DecisionRecord, Numbers};
pub use memory::{LoadSeen, ScalerMemory, SlotFault};
pub use plan::{observed_load, plan, PlanInput, PlanSettings, Pressure, Shortfall};

#[cfg(test)]
mod plan_tests;
