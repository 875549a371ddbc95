//! The local stack's own HTTP client: the scenario drives the system only
//! through the public API, as operators, media nodes and players would.

use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

/// An answer: status, JSON body, and the Retry-After of a 503.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub retry_after_secs: Option<u64>,
}

impl Client {
    pub fn new(url: &str, admin_token: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .expect("the HTTP client builds");
        Self { http, url: url.trim_end_matches('/').to_owned(), token: admin_token.to_owned() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let retry_after_secs =
            response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, body, retry_after_secs })
    }

    /// An admin call that must succeed.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let answer = self.call(method, path, Some(&self.token), body).await?;
        anyhow::ensure!(answer.status.is_success(), "{path}: HTTP {}: {}", answer.status, answer.body);
        Ok(answer.body)
    }

    /// Up to `wanted` items of a paged admin list route (`items`, `next`),
    /// following its cursors.
    pub async fn items(&self, path: &str, wanted: usize) -> anyhow::Result<Vec<Value>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        while items.len() < wanted {
            let mut page_path = format!("{path}{separator}limit={}", wanted.min(100));
            if let Some(c) = &cursor {
                page_path.push_str(&format!("&cursor={c}"));
            }
            let page = self.admin(Method::GET, &page_path, None).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        items.truncate(wanted);
        Ok(items)
    }

    /// A node's heartbeat, with its enrollment key or its token.
    pub async fn heartbeat(
        &self,
        group: &str,
        node: &str,
        credential: &str,
        report: &Value,
    ) -> anyhow::Result<Answer> {
        self.call(
            Method::POST,
            &format!("/v1/nodegroups/{group}/nodes/{node}/heartbeat"),
            Some(credential),
            Some(report),
        )
        .await
    }

    /// A player's or publisher's lookup (public).
    pub async fn lookup(&self, path: &str) -> anyhow::Result<Answer> {
        self.call(Method::GET, path, None, None).await
    }
}
