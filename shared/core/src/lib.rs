//! The core of streamfleet: domain types validated at construction, the ports
//! the outside world must implement, and the use cases (services) built on
//! them. Nothing here knows about AWS SDKs, Lambda or HTTP.

pub mod admission;
pub mod cache;
pub mod clock;
pub mod credentials;
pub mod decode;
pub mod fleet;
pub mod group;
pub mod heartbeat;
pub mod hooks;
pub mod names;
pub mod node;
pub mod page;
pub mod placement;
pub mod pool;
pub mod ports;
pub mod route;
pub mod scaling;
pub mod seats;
pub mod service;
pub mod telemetry;
pub mod validation;

pub use clock::{Clock, SystemClock};
pub use validation::{FieldError, InvalidInput};
