//! The streamfleet HTTP API as the CLI calls it: one client, errors that
//! carry the API's own message, and where to find the URL and token.

mod client;
mod settings;

pub use client::{Answer, Api, CliError};
pub use settings::{Connection, ConnectionArgs};
