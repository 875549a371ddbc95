//! Where the CLI finds its deployment: flags, then environment variables,
//! then a config file (`--config`, `STREAMFLEET_CONFIG`, or
//! `~/.config/streamfleet/config.json` when it exists):
//! `{"url": "https://…", "token": "…"}`.

use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use super::CliError;

#[derive(Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// The API's base URL, e.g. http://127.0.0.1:8080 (make dev) or the
    /// API Gateway URL of a deployment.
    #[arg(long, env = "STREAMFLEET_URL", global = true)]
    pub url: Option<String>,
    /// The admin token (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "STREAMFLEET_ADMIN_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// A JSON file with `url` and `token`.
    #[arg(long, env = "STREAMFLEET_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    url: Option<String>,
    token: Option<String>,
}

pub struct Connection {
    pub url: String,
    pub token: Option<String>,
}

impl ConnectionArgs {
    pub fn resolve(&self) -> Result<Connection, CliError> {
        let file = self.file()?;
        let url = self.url.clone().or(file.url).ok_or_else(|| {
            CliError::Usage(
                "no API URL: pass --url, set STREAMFLEET_URL, or write it in the config file".into(),
            )
        })?;
        Ok(Connection { url: url.trim_end_matches('/').to_owned(), token: self.token.clone().or(file.token) })
    }

    fn file(&self) -> Result<ConfigFile, CliError> {
        let (path, required) = match &self.config {
            Some(path) => (path.clone(), true),
            None => match std::env::var_os("HOME") {
                Some(home) => (PathBuf::from(home).join(".config/streamfleet/config.json"), false),
                None => return Ok(ConfigFile::default()),
            },
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| CliError::Usage(format!("{}: not a config file: {e}", path.display()))),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(CliError::Usage(format!("{}: {e}", path.display()))),
        }
    }
}
