//! `streamfleet events GROUP`: the scaler's decisions, newest first.

use clap::Args;
use serde_json::Value;

use super::segment;
use crate::api::{Api, CliError};
use crate::render::{self, Format};

#[derive(Args)]
pub struct Events {
    group: String,
    /// How many decisions (newest first).
    #[arg(long, default_value_t = 20)]
    limit: u16,
}

pub async fn run(api: &Api, format: Format, args: &Events) -> Result<String, CliError> {
    let page =
        api.get(&format!("/v1/nodegroups/{}/events?limit={}", segment(&args.group), args.limit)).await?;
    let items: Vec<Value> = page["items"].as_array().cloned().unwrap_or_default();
    Ok(render::list(
        format,
        &page,
        &items,
        &[
            ("AT", "at"),
            ("ACTION", "action.type"),
            ("BY", "by"),
            ("ROLE", "role"),
            ("NODE", "action.node"),
            ("REASON", "reason"),
            ("OUTCOME", "outcome"),
        ],
    ))
}
