//! `streamfleet lookup publish|subscribe APP STREAM`: what a publisher or a
//! player would be told (no admin token needed).

use clap::{Args, Subcommand};

use super::segment;
use crate::api::{Api, CliError};
use crate::render::{self, Format};

#[derive(Args)]
pub struct Target {
    app: String,
    stream: String,
    /// The region the client is in.
    #[arg(long)]
    region: Option<String>,
    /// Ask one group (otherwise the group serving the app).
    #[arg(long)]
    group: Option<String>,
}

#[derive(Subcommand)]
pub enum Lookup {
    /// Where to publish a stream (its origin).
    Publish(Target),
    /// Where to play a stream (an edge with room).
    Subscribe(Target),
}

pub async fn run(api: &Api, format: Format, command: &Lookup) -> Result<String, CliError> {
    let (action, target) = match command {
        Lookup::Publish(t) => ("publish", t),
        Lookup::Subscribe(t) => ("subscribe", t),
    };
    let mut path =
        format!("/v1/streams/{}/{}?action={action}", segment(&target.app), segment(&target.stream));
    for (key, value) in [("region", &target.region), ("group", &target.group)] {
        if let Some(value) = value {
            path.push_str(&format!("&{key}={}", segment(value)));
        }
    }
    let answer = api.get(&path).await?;
    let mut text = render::object(
        format,
        &answer,
        &[
            ("group", "group"),
            ("node", "nodeId"),
            ("role", "role"),
            ("region", "region"),
            ("server", "serverAddress"),
        ],
    );
    if format == Format::Table {
        for (protocol, url) in answer["urls"].as_object().into_iter().flatten() {
            text.push_str(&format!("{:<14} {}\n", protocol, url.as_str().unwrap_or_default()));
        }
    }
    Ok(text)
}
