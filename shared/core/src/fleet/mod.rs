//! Cloud backends that need nothing but the ports: the simulated cloud.

mod simulated;

pub use simulated::SimulatedFleet;
