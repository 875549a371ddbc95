//! The local stack's scenario: simulated media nodes, a load that plays a
//! curve through the public API, and a live view. `main` wires it to the
//! emulator and the routers; the tests run it headless.

pub mod api;
pub mod farm;
pub mod load;
pub mod scenario;
pub mod tick_queue;
pub mod view;
