//! Configuration from the environment, read once at start-up.

use secrecy::SecretString;

/// DynamoDB table holding all state.
pub const TABLE_VAR: &str = "STREAMFLEET_TABLE";
/// The admin bearer token (on AWS, injected from Secrets Manager or SSM).
pub const ADMIN_TOKEN_VAR: &str = "STREAMFLEET_ADMIN_TOKEN";
/// An AWS endpoint override (the local emulator); unset on AWS.
pub const AWS_ENDPOINT_VAR: &str = "STREAMFLEET_AWS_ENDPOINT";

#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    /// Never printed: `SecretString`'s Debug redacts it.
    pub admin_token: SecretString,
    pub aws_endpoint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    #[error("environment variable {0} is not valid UTF-8")]
    NotUnicode(&'static str),
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required(TABLE_VAR)?,
            admin_token: SecretString::from(required(ADMIN_TOKEN_VAR)?),
            aws_endpoint: optional(AWS_ENDPOINT_VAR)?,
        })
    }
}

fn optional(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode(name)),
    }
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name)?.ok_or(ConfigError::Missing(name))
}
