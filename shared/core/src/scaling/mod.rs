//! Scaling: the pure decision core (`plan`) and what it decides (`Decision`).

mod decision;
mod memory;
mod plan;

pub use decision::{Action, Decision, DecisionRecord, Numbers};
pub use memory::ScalerMemory;
pub use plan::{plan, PlanInput, PlanSettings, Pressure};

#[cfg(test)]
mod plan_tests;
