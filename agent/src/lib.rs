//! The streamfleet agent: reads a media server's load and reports it to
//! streamfleet; learns from the answer whether to drain.

pub mod admission;
pub mod agent;
pub mod config;
pub mod imds;
pub mod stats;
