//! `streamfleet-agent`: runs beside a media server and reports its load to
//! streamfleet. See agent/README.md.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use streamfleet_agent::{agent, config, imds};

#[derive(Parser)]
#[command(name = "streamfleet-agent", version, about = "Reports a media server's load to streamfleet")]
struct Args {
    /// The configuration file (TOML).
    #[arg(long, env = "STREAMFLEET_AGENT_CONFIG", default_value = "/etc/streamfleet/agent.toml")]
    config: PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
    let args = Args::parse();
    let config = config::Config::load(&args.config)?;
    let identity = identity(&config).await?;
    tracing::info!(node = %identity.node_id, role = %identity.role, region = %identity.region, host = %identity.host, "streamfleet agent starting");
    let agent = agent::Agent::new(identity, config)?;
    if let Some(listen) = agent.config.admission_listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("admission_listen {listen}"))?;
        let callbacks = streamfleet_agent::admission::router(agent.gate.clone());
        tracing::info!(%listen, "answering the media server's auth callbacks");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, callbacks).await {
                tracing::error!(error = %e, "the admission callbacks stopped");
            }
        });
    }
    agent.run().await;
    Ok(())
}

/// The node's identity: the configuration first, the metadata for the rest.
async fn identity(config: &config::Config) -> anyhow::Result<agent::Identity> {
    let from_imds =
        if config.imds && (config.node_id.is_none() || config.region.is_none() || config.host.is_none()) {
            let imds = imds::Imds::connect(&config.imds_url)
                .await
                .context("the instance metadata service (set imds = false off EC2)")?;
            imds.identity().await?
        } else {
            imds::Identity::default()
        };
    Ok(agent::Identity {
        node_id: config
            .node_id
            .clone()
            .or(from_imds.instance_id)
            .context("no node_id, and no instance id")?,
        role: config.role.clone(),
        region: config
            .region
            .clone()
            .or(from_imds.region)
            .context("no region, and none from the metadata")?,
        zone: config.zone.clone().or(from_imds.zone),
        host: config.host.clone().or(from_imds.host).context("no host, and no address from the metadata")?,
    })
}
