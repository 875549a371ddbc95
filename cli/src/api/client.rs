//! A thin JSON client: every non-2xx answer becomes the API's own error
//! (code, message, field), never a stack trace.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use super::Connection;

#[derive(Debug)]
pub enum CliError {
    /// The API answered with an error.
    Api { status: StatusCode, code: String, message: String, field: Option<String> },
    /// The API could not be reached.
    Connection(String),
    /// The command line or the configuration is wrong.
    Usage(String),
}

impl CliError {
    /// 1: the API refused; 2: usage or configuration; 3: unreachable.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Api { .. } => 1,
            CliError::Usage(_) => 2,
            CliError::Connection(_) => 3,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Api { status, code, message, field } => {
                write!(f, "{message} ({code}, HTTP {}", status.as_u16())?;
                if let Some(field) = field {
                    write!(f, ", field {field}")?;
                }
                write!(f, ")")
            }
            CliError::Connection(message) | CliError::Usage(message) => f.write_str(message),
        }
    }
}

pub struct Api {
    connection: Connection,
    http: reqwest::Client,
}

/// A response: its JSON body and, when the API sent one, its ETag.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub etag: Option<String>,
}

impl Api {
    pub fn new(connection: Connection) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("streamfleet-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Self { connection, http }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.connection.url));
        match &self.connection.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn send(&self, request: RequestBuilder) -> Result<Answer, CliError> {
        let response = request.send().await.map_err(|e| {
            CliError::Connection(format!("cannot reach {}: {}", self.connection.url, root_cause(&e)))
        })?;
        let status = response.status();
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().await.map_err(|e| CliError::Connection(root_cause(&e)))?;
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(Answer { status, body, etag });
        }
        let text_of = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        Err(CliError::Api {
            status,
            code: text_of("code").unwrap_or_else(|| "error".into()),
            message: text_of("message").unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
            field: text_of("field"),
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        Ok(self.send(self.request(Method::GET, path)).await?.body)
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, CliError> {
        let request = self.request(Method::POST, path);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        Ok(self.send(request).await?.body)
    }
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
