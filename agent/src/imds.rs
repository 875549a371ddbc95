//! EC2's instance metadata service, version 2: a session token first, then
//! the values, each request bounded in time (off EC2 nothing answers).

use std::time::Duration;

pub struct Imds {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// What the agent learns about its instance.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Identity {
    pub instance_id: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    /// Public DNS name, else public IPv4, else private IPv4.
    pub host: Option<String>,
}

impl Imds {
    pub async fn connect(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let token = http
            .put(format!("{base}/latest/api/token"))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(Self { http, base: base.to_owned(), token })
    }

    /// One metadata value; `None` when the instance has none (404).
    pub async fn get(&self, path: &str) -> anyhow::Result<Option<String>> {
        let response = self
            .http
            .get(format!("{}/latest/meta-data/{path}", self.base))
            .header("X-aws-ec2-metadata-token", &self.token)
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(response.error_for_status()?.text().await?.trim().to_owned()).filter(|v| !v.is_empty()))
    }

    /// Where EC2 Auto Scaling is taking the instance
    /// (`autoscaling/target-lifecycle-state`): `InService`, `Terminated`,
    /// or `Warmed:Stopped|Hibernated|Running` for its warm pool.
    pub async fn target_lifecycle_state(&self) -> anyhow::Result<Option<String>> {
        self.get("autoscaling/target-lifecycle-state").await
    }

    pub async fn identity(&self) -> anyhow::Result<Identity> {
        let mut host = None;
        for path in ["public-hostname", "public-ipv4", "local-ipv4"] {
            if let Some(value) = self.get(path).await? {
                host = Some(value);
                break;
            }
        }
        Ok(Identity {
            instance_id: self.get("instance-id").await?,
            region: self.get("placement/region").await?,
            zone: self.get("placement/availability-zone").await?,
            host,
        })
    }
}

/// Whether the instance is bound for (or kept in) its group's warm pool: a
/// node there serves nobody and must not report, or streamfleet would
/// count it (a pooled instance is brought into service later, as a launch).
pub fn in_warm_pool(target_lifecycle_state: Option<&str>) -> bool {
    target_lifecycle_state.is_some_and(|s| s.starts_with("Warmed:"))
}
