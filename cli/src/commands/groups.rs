//! `streamfleet groups create|list|show|update|delete`.

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::{all_pages, read_json, segment};
use crate::api::{Api, CliError};
use crate::render::{self, Format};

#[derive(Subcommand)]
pub enum Groups {
    /// Create a group from a spec file (JSON; `-` reads stdin).
    Create {
        file: String,
    },
    /// Every group, page after page.
    List,
    Show {
        name: String,
    },
    /// Replace a group's spec (`--file`) or merge a JSON patch into it (`--patch`).
    Update {
        name: String,
        #[arg(long, conflicts_with = "patch", required_unless_present = "patch")]
        file: Option<String>,
        /// An RFC 7396 merge patch, e.g. '{"roles":{"edge":{"scale":{"max":12}}}}'.
        #[arg(long)]
        patch: Option<String>,
    },
    /// Pause scaling: nothing launched, scaled in or terminated on the
    /// scaler's own account (lifecycle holds and an operator's actions go on).
    Pause {
        name: String,
    },
    /// Resume scaling after a pause.
    Resume {
        name: String,
    },
    /// Delete a group with no node; `--drain` drains its nodes first.
    Delete {
        name: String,
        #[arg(long)]
        drain: bool,
    },
}

const COLUMNS: [(&str, &str); 7] = [
    ("NAME", "name"),
    ("CLOUD", "cloud"),
    ("STATUS", "status"),
    ("HEALTH", "health.status"),
    ("PAUSED", "scalingPaused"),
    ("NODES", "nodeCount"),
    ("VERSION", "version"),
];

fn show(format: Format, group: &Value) -> String {
    render::object(
        format,
        group,
        &[
            ("name", "name"),
            ("cloud", "cloud"),
            ("status", "status"),
            ("health", "health.status"),
            ("why", "health.reason"),
            ("last tick", "health.lastTickAt"),
            ("paused", "scalingPaused"),
            ("nodes", "nodeCount"),
            ("version", "version"),
            ("regions", "regions"),
            ("apps", "apps"),
            ("origins", "roles.origin.scale"),
            ("edges", "roles.edge.scale"),
        ],
    )
}

pub async fn run(api: &Api, format: Format, command: &Groups) -> Result<String, CliError> {
    match command {
        Groups::Create { file } => {
            Ok(show(format, &api.post("/v1/nodegroups", Some(&read_json(file)?)).await?))
        }
        Groups::List => {
            let items = all_pages(api, "/v1/nodegroups?limit=100").await?;
            Ok(render::list(format, &Value::Array(items.clone()), &items, &COLUMNS))
        }
        Groups::Show { name } => {
            Ok(show(format, &api.get(&format!("/v1/nodegroups/{}", segment(name))).await?))
        }
        Groups::Update { name, file, patch } => {
            let path = format!("/v1/nodegroups/{}", segment(name));
            let answer = match (file, patch) {
                (Some(file), _) => {
                    // Replace the version read just now: a change landing in
                    // between is refused (412), not overwritten.
                    let current = api.send(api.request(Method::GET, &path)).await?;
                    let etag = current.etag.ok_or_else(|| CliError::Usage("the API sent no ETag".into()))?;
                    let request =
                        api.request(Method::PUT, &path).header("If-Match", etag).json(&read_json(file)?);
                    api.send(request).await?
                }
                (None, Some(patch)) => {
                    let patch: Value = serde_json::from_str(patch)
                        .map_err(|e| CliError::Usage(format!("--patch is not JSON: {e}")))?;
                    merge_patch(api, &path, &patch).await?
                }
                (None, None) => return Err(CliError::Usage("give --file or --patch".into())),
            };
            Ok(show(format, &answer.body))
        }
        Groups::Pause { name } | Groups::Resume { name } => {
            let paused = matches!(command, Groups::Pause { .. });
            let path = format!("/v1/nodegroups/{}", segment(name));
            let answer = merge_patch(api, &path, &serde_json::json!({ "scalingPaused": paused })).await?;
            Ok(match format {
                Format::Json => render::pretty(&answer.body),
                Format::Table if paused => format!("scaling of group {name} is paused\n"),
                Format::Table => format!("scaling of group {name} resumed\n"),
            })
        }
        Groups::Delete { name, drain } => {
            let path = format!("/v1/nodegroups/{}{}", segment(name), if *drain { "?drain=true" } else { "" });
            // Delete needs the version it deletes.
            let current =
                api.send(api.request(Method::GET, &format!("/v1/nodegroups/{}", segment(name)))).await?;
            let mut request = api.request(Method::DELETE, &path);
            if let Some(etag) = current.etag {
                request = request.header("If-Match", etag);
            }
            let answer = api.send(request).await?;
            Ok(match (format, answer.status.as_u16()) {
                (Format::Json, _) => render::pretty(&answer.body),
                (Format::Table, 202) => format!("group {name} is draining; it is deleted once empty\n"),
                (Format::Table, _) => format!("group {name} deleted\n"),
            })
        }
    }
}

/// Merges an RFC 7396 patch into the group's current version.
async fn merge_patch(api: &Api, path: &str, patch: &Value) -> Result<crate::api::Answer, CliError> {
    let request = api
        .request(Method::PATCH, path)
        .header("Content-Type", "application/merge-patch+json")
        .body(patch.to_string());
    api.send(request).await
}
