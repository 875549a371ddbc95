//! `streamfleet nodes list|cordon|uncordon`.

use clap::Subcommand;
use serde_json::Value;

use super::{all_pages, segment};
use crate::api::{Api, CliError};
use crate::render::{self, Format};

#[derive(Subcommand)]
pub enum Nodes {
    /// A group's nodes with their state and load.
    List {
        group: String,
    },
    /// Route no new session to a node (it keeps its sessions).
    Cordon {
        group: String,
        node: String,
    },
    Uncordon {
        group: String,
        node: String,
    },
}

const COLUMNS: [(&str, &str); 9] = [
    ("NODE", "nodeId"),
    ("ROLE", "role"),
    ("REGION", "region"),
    ("STATE", "state"),
    ("CORDONED", "cordoned"),
    ("PUB", "load.publishers"),
    ("SUB", "load.subscribers"),
    ("HOST", "host"),
    ("HELD", "hold.kind"),
];

pub async fn run(api: &Api, format: Format, command: &Nodes) -> Result<String, CliError> {
    match command {
        Nodes::List { group } => {
            let items = all_pages(api, &format!("/v1/nodegroups/{}/nodes?limit=100", segment(group))).await?;
            Ok(render::list(format, &Value::Array(items.clone()), &items, &COLUMNS))
        }
        Nodes::Cordon { group, node } | Nodes::Uncordon { group, node } => {
            let verb = if matches!(command, Nodes::Cordon { .. }) { "cordon" } else { "uncordon" };
            let path = format!("/v1/nodegroups/{}/nodes/{}/{verb}", segment(group), segment(node));
            let answer = api.post(&path, None).await?;
            Ok(render::list(format, &answer, std::slice::from_ref(&answer), &COLUMNS))
        }
    }
}
