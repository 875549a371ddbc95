//! The deployment's two secrets (the admin token, the node secret), read once
//! at start-up: from their environment variable (local stack, tests), or on
//! AWS from Secrets Manager, named by `<VAR>_SECRET_ID` (the templates set it
//! to the secret's ARN). A value never reaches a log or an error message.

use secrecy::SecretString;

use crate::config::{ConfigError, Vars};

/// One deployment secret and the two ways to give it.
#[derive(Debug, Clone, Copy)]
pub struct DeploymentSecret {
    /// The variable holding the value itself.
    pub value_var: &'static str,
    /// The variable naming a Secrets Manager secret (ARN or name) holding it.
    pub id_var: &'static str,
}

pub const ADMIN_TOKEN: DeploymentSecret = DeploymentSecret {
    value_var: crate::config::ADMIN_TOKEN_VAR,
    id_var: "STREAMFLEET_ADMIN_TOKEN_SECRET_ID",
};

pub const NODE_SECRET: DeploymentSecret =
    DeploymentSecret { value_var: crate::config::NODE_SECRET_VAR, id_var: "STREAMFLEET_NODE_SECRET_ID" };

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("set {value_var} or {id_var}")]
    Missing { value_var: &'static str, id_var: &'static str },
    /// `cause` is the service's answer (access denied, not found…), which
    /// never holds a secret's value.
    #[error("could not read secret {id} (from {id_var}) from Secrets Manager: {cause}")]
    Fetch { id: String, id_var: &'static str, cause: String },
    #[error("secret {id} (from {id_var}) holds no text value")]
    NotText { id: String, id_var: &'static str },
}

impl DeploymentSecret {
    /// The secret's value. A function that does not use it (`needed` false)
    /// and is given none gets a fresh random one: whatever it might sign or
    /// accept with it is worthless anywhere else, so an unset secret can
    /// never become a shared, guessable one.
    pub async fn resolve(
        &self,
        vars: &Vars,
        sdk: &aws_config::SdkConfig,
        needed: bool,
    ) -> Result<SecretString, SecretError> {
        if let Some(value) = vars.optional(self.value_var)? {
            return Ok(plain_text(value));
        }
        match vars.optional(self.id_var)? {
            Some(id) => self.fetch(sdk, id).await,
            None if needed => Err(SecretError::Missing { value_var: self.value_var, id_var: self.id_var }),
            None => Ok(ephemeral()),
        }
    }

    async fn fetch(&self, sdk: &aws_config::SdkConfig, id: String) -> Result<SecretString, SecretError> {
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        let output =
            client.get_secret_value().secret_id(&id).send().await.map_err(|e| SecretError::Fetch {
                id: id.clone(),
                id_var: self.id_var,
                cause: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        match output.secret_string {
            Some(value) => Ok(plain_text(value)),
            None => Err(SecretError::NotText { id, id_var: self.id_var }),
        }
    }
}

/// The value as given, less the line break an editor or `echo` leaves at its
/// end (a token with one would never match what clients send).
fn plain_text(value: String) -> SecretString {
    SecretString::from(value.trim().to_owned())
}

fn ephemeral() -> SecretString {
    let random = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    SecretString::from(random)
}
