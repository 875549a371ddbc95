//! `streamfleet provision add|list|reset`: the simulated cloud's pool.

use clap::Subcommand;
use serde_json::{json, Value};

use super::segment;
use crate::api::{Api, CliError};
use crate::render::{self, Format};

#[derive(Subcommand)]
pub enum Provision {
    /// Register a host the scaler may use.
    Add {
        host_id: String,
        #[arg(long)]
        region: String,
        /// Where clients reach it (DNS name or IP).
        #[arg(long)]
        address: String,
    },
    List,
    /// Make a terminated host available again.
    Reset {
        host_id: String,
    },
}

const COLUMNS: [(&str, &str); 6] = [
    ("HOST", "hostId"),
    ("REGION", "region"),
    ("ADDRESS", "address"),
    ("STATE", "state"),
    ("GROUP", "group"),
    ("ROLE", "role"),
];

pub async fn run(api: &Api, format: Format, command: &Provision) -> Result<String, CliError> {
    let answer = match command {
        Provision::Add { host_id, region, address } => {
            api.post(
                "/v1/pool/hosts",
                Some(&json!({"hostId": host_id, "region": region, "address": address})),
            )
            .await?
        }
        Provision::List => {
            let hosts = api.get("/v1/pool/hosts").await?;
            let items: Vec<Value> = hosts.as_array().cloned().unwrap_or_default();
            return Ok(render::list(format, &hosts, &items, &COLUMNS));
        }
        Provision::Reset { host_id } => {
            api.post(&format!("/v1/pool/hosts/{}/reset", segment(host_id)), None).await?
        }
    };
    Ok(render::list(format, &answer, std::slice::from_ref(&answer), &COLUMNS))
}
