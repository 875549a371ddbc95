//! `streamfleet nodes list|cordon|uncordon|drain|launch`.

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
    /// Drain a node: no new sessions, replaced as the policy needs,
    /// terminated once empty or at the role's drain deadline.
    Drain {
        group: String,
        node: String,
    },
    /// Launch nodes of a role in a region now (within the role's max).
    Launch {
        group: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        region: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
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
        Nodes::Cordon { group, node } | Nodes::Uncordon { group, node } | Nodes::Drain { group, node } => {
            let verb = match command {
                Nodes::Cordon { .. } => "cordon",
                Nodes::Uncordon { .. } => "uncordon",
                _ => "drain",
            };
            let path = format!("/v1/nodegroups/{}/nodes/{}/{verb}", segment(group), segment(node));
            let answer = api.post(&path, None).await?;
            Ok(render::list(format, &answer, std::slice::from_ref(&answer), &COLUMNS))
        }
        Nodes::Launch { group, role, region, count } => {
            let ask = serde_json::json!({ "role": role, "region": region, "count": count });
            let answer = api.post(&format!("/v1/nodegroups/{}/launches", segment(group)), Some(&ask)).await?;
            Ok(match format {
                Format::Json => render::pretty(&answer),
                Format::Table => format!(
                    "asked for {count} {role} node(s) in {region}; the scaler's next tick launches them \
                     (see `streamfleet events {group}`)\n"
                ),
            })
        }
    }
}
