//! The agent's configuration: a TOML file, each setting overridable by an
//! environment variable (`STREAMFLEET_AGENT_<NAME>`), the rest from the
//! instance metadata service on EC2.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::stats::SourceConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The streamfleet API, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`.
    pub api_url: String,
    pub group: String,
    /// `origin` or `edge`.
    pub role: String,
    /// The group's enrollment key (first start), or this node's token.
    pub credential: String,
    /// Where the node token is kept once enrolled (the enrollment key works
    /// once per node): reused on restart.
    #[serde(default = "default_token_file")]
    pub token_file: PathBuf,
    /// Default: the EC2 instance id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Default: the instance's region.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    /// Where clients connect. Default: the instance's public DNS name, else
    /// its public IP, else its private IP.
    #[serde(default)]
    pub host: Option<String>,
    /// URL templates per protocol (`{host}`, `{app}`, `{stream}`).
    pub endpoints: BTreeMap<String, String>,
    /// Sessions this node can carry (default: the role's setting).
    #[serde(default)]
    pub capacity: Option<u32>,
    pub stats: SourceConfig,
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// A command run once when the node is told to drain (e.g. a script
    /// that makes the media server refuse new sessions).
    #[serde(default)]
    pub drain_command: Option<Vec<String>>,
    /// Read identity from the EC2 instance metadata service (IMDSv2).
    #[serde(default = "default_true")]
    pub imds: bool,
    #[serde(default = "default_imds_url")]
    pub imds_url: String,
    /// Where the agent answers the media server's auth callbacks
    /// (nginx-rtmp `on_publish`/`on_play`, SRS `http_hooks`, MediaMTX
    /// `authHTTPAddress`), e.g. `127.0.0.1:8086`. Unset: no callbacks.
    #[serde(default)]
    pub admission_listen: Option<std::net::SocketAddr>,
}

fn default_token_file() -> PathBuf {
    PathBuf::from("/var/lib/streamfleet-agent/node-token")
}

fn default_interval() -> u64 {
    5
}

fn default_true() -> bool {
    true
}

fn default_imds_url() -> String {
    "http://169.254.169.254".into()
}

impl Config {
    /// Reads the file, then lets `STREAMFLEET_AGENT_*` variables override
    /// its scalar settings.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        for key in [
            "api_url",
            "group",
            "role",
            "credential",
            "node_id",
            "region",
            "zone",
            "host",
            "token_file",
            "imds_url",
        ] {
            if let Ok(value) = std::env::var(format!("STREAMFLEET_AGENT_{}", key.to_uppercase())) {
                table.insert(key.into(), toml::Value::String(value));
            }
        }
        if let Ok(value) = std::env::var("STREAMFLEET_AGENT_INTERVAL_SECS") {
            table.insert("interval_secs".into(), toml::Value::Integer(value.parse()?));
        }
        let config: Config = table.try_into().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        anyhow::ensure!(matches!(config.role.as_str(), "origin" | "edge"), "role must be origin or edge");
        anyhow::ensure!((1..=300).contains(&config.interval_secs), "interval_secs must be 1–300");
        Ok(config)
    }
}
