//! The agent's loop: read the media server, report, learn what to do.
//! Heartbeats go out every interval with ±10 % jitter (a fleet started
//! together does not report in lockstep); failures are retried sooner
//! (`retry_wait`) and keep the last good figures; a page that cannot be
//! read is reported as `degraded`, never a crash. A node the API no longer
//! knows (`node_unknown`), or whose token it revoked (`token_revoked`),
//! enrolls again with the group's key at once. On EC2, an instance in its
//! Auto Scaling group's warm pool stays quiet until it is brought into
//! service (its target lifecycle state is read before each beat).

use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::stats::{Source, Stats};

/// Who the node is, resolved from the configuration and the metadata.
#[derive(Debug, Clone)]
pub struct Identity {
    pub node_id: String,
    pub role: String,
    pub region: String,
    pub zone: Option<String>,
    pub host: String,
}

pub struct Agent {
    pub identity: Identity,
    pub config: crate::config::Config,
    source: Source,
    http: reqwest::Client,
    token: Option<String>,
    last_good: Stats,
    last_sent_ms: i128,
    drained: bool,
    /// The state the last heartbeat answer gave.
    pub state: Option<String>,
    /// The metadata session the warm-pool check reuses from beat to beat.
    imds: Option<crate::imds::Imds>,
    /// The server's byte counter at its last read, for a rate.
    last_counter: Option<(u64, std::time::Instant)>,
    /// What the media server's auth callbacks are answered by: taught by
    /// each heartbeat answer and stats read.
    pub gate: crate::admission::Gate,
}

/// What one heartbeat came to.
#[derive(Debug)]
pub enum Beat {
    Accepted,
    /// Refused with this status and body (the next beat retries), and the
    /// `Retry-After` the API asked for.
    Refused {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// The API no longer knows this node: the node token was dropped, and
    /// the next beat enrolls with the group's key.
    Forgotten,
    Unreachable(String),
}

impl Agent {
    pub fn new(identity: Identity, config: crate::config::Config) -> anyhow::Result<Self> {
        let node = streamfleet_core::names::NodeId::parse(identity.node_id.as_str())
            .map_err(|e| anyhow::anyhow!("node_id: {e}"))?;
        let token = std::fs::read_to_string(&config.token_file)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        // A hung request must not outlast a beat: silence past the stale
        // cutoff takes the node out of service.
        let timeout = Duration::from_secs(config.interval_secs.clamp(2, 10));
        let http = reqwest::Client::builder().timeout(timeout).build().expect("the HTTP client builds");
        Ok(Self {
            gate: crate::admission::Gate::new(node),
            source: Source::new(config.stats.clone()),
            identity,
            config,
            http,
            token,
            last_good: Stats::default(),
            last_sent_ms: 0,
            drained: false,
            state: None,
            imds: None,
            last_counter: None,
        })
    }

    /// Runs until the process is stopped.
    pub async fn run(mut self) {
        let interval = Duration::from_secs(self.config.interval_secs);
        let mut failures = 0u32;
        let mut pooled = false;
        loop {
            if self.config.imds {
                let target = self.target_state().await;
                let quiet = self.quiet_in_pool(target.as_deref());
                if quiet != pooled {
                    tracing::info!(node = %self.identity.node_id, target = ?target, quiet, "warm pool: {}", if quiet { "quiet until brought into service" } else { "reporting" });
                    pooled = quiet;
                }
                if quiet {
                    tokio::time::sleep(interval).await;
                    continue;
                }
            }
            let wait = match self.beat().await {
                Beat::Accepted => {
                    failures = 0;
                    jittered(interval)
                }
                Beat::Forgotten => {
                    tracing::warn!(node = %self.identity.node_id, "streamfleet no longer knows this node: enrolling again");
                    Duration::ZERO
                }
                Beat::Refused { status, body, retry_after } => {
                    failures += 1;
                    let wait = retry_wait(failures, interval, retry_after, unit_jitter());
                    tracing::warn!(status, %body, retry_in_ms = wait.as_millis() as u64, "heartbeat refused");
                    wait
                }
                Beat::Unreachable(error) => {
                    failures += 1;
                    let wait = retry_wait(failures, interval, None, unit_jitter());
                    tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "streamfleet unreachable");
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The instance's target lifecycle state; `None` when it has none (not
    /// in an Auto Scaling group) or the metadata cannot be read. One session
    /// serves every beat; a failed read (an expired token: a pooled
    /// instance may wait for days) starts a fresh one at the next.
    async fn target_state(&mut self) -> Option<String> {
        if self.imds.is_none() {
            self.imds = crate::imds::Imds::connect(&self.config.imds_url).await.ok();
        }
        match self.imds.as_ref()?.target_lifecycle_state().await {
            Ok(state) => state,
            Err(_) => {
                self.imds = None;
                None
            }
        }
    }

    /// Whether to stay quiet, the instance's Auto Scaling target lifecycle
    /// state being `target`: while bound for (or kept in) the warm pool,
    /// unless the node serves in this life. A scale-in that returns it to
    /// the pool is held until its viewers leave, and only its reports say
    /// when they have; once it is let go, its next life starts afresh.
    pub fn quiet_in_pool(&mut self, target: Option<&str>) -> bool {
        if !crate::imds::in_warm_pool(target) {
            return false;
        }
        if matches!(self.state.as_deref(), Some("inService" | "draining")) {
            return false;
        }
        self.state = None;
        self.drained = false;
        true
    }

    /// One heartbeat: read, report, act on the answer.
    pub async fn beat(&mut self) -> Beat {
        let degraded = match self.source.read().await {
            Ok(mut stats) => {
                if let Some(counter) = stats.byte_counter {
                    let now = std::time::Instant::now();
                    let earlier = self.last_counter.map(|(bytes, _)| bytes);
                    let elapsed = self.last_counter.map_or(Duration::ZERO, |(_, at)| now - at);
                    stats.bandwidth_kbps = crate::stats::rate_kbps(earlier, counter, elapsed).unwrap_or(0);
                    self.last_counter = Some((counter, now));
                }
                self.gate.load(stats.publishers.saturating_add(stats.subscribers));
                self.last_good = stats;
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "the media server's stats could not be read; reporting the last good figures as degraded");
                true
            }
        };
        let report = self.report(degraded);
        let credential = self.token.clone().unwrap_or_else(|| self.config.credential.clone());
        let url = format!(
            "{}/v1/nodegroups/{}/nodes/{}/heartbeat",
            self.config.api_url.trim_end_matches('/'),
            self.config.group,
            self.identity.node_id
        );
        let response = match self.http.post(url).bearer_auth(credential).json(&report).send().await {
            Ok(response) => response,
            Err(e) => return Beat::Unreachable(e.to_string()),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let forgotten = (status == reqwest::StatusCode::NOT_FOUND && body["code"] == "node_unknown")
            || (status == reqwest::StatusCode::FORBIDDEN && body["code"] == "token_revoked");
        if forgotten && self.token.is_some() {
            // Forgotten (the scaler or an operator removed the row, which
            // revokes its token): the token names an enrollment that is no
            // more; the key enrolls the node anew.
            self.token = None;
            self.gate.forget();
            let _ = tokio::fs::remove_file(&self.config.token_file).await;
            return Beat::Forgotten;
        }
        if !status.is_success() {
            return Beat::Refused { status: status.as_u16(), body: body.to_string(), retry_after };
        }
        if let Some(token) = body["nodeToken"].as_str() {
            self.keep_token(token).await;
        }
        self.gate.learn(&body);
        self.state = body["state"].as_str().map(str::to_owned);
        if self.state.as_deref() == Some("draining") && !self.drained {
            self.drained = true;
            self.run_drain_command().await;
        }
        Beat::Accepted
    }

    fn report(&mut self, degraded: bool) -> Value {
        // Strictly increasing: the server refuses a report not newer than the last.
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        self.last_sent_ms = now_ms.max(self.last_sent_ms + 1);
        let sent = OffsetDateTime::from_unix_timestamp_nanos(self.last_sent_ms * 1_000_000)
            .expect("a valid instant");
        let stats = &self.last_good;
        let mut report = json!({
            "sentAt": sent.format(&Rfc3339).expect("formats"),
            "role": self.identity.role,
            "region": self.identity.region,
            "host": self.identity.host,
            "endpoints": self.config.endpoints,
            "publishers": stats.publishers,
            "subscribers": stats.subscribers,
            "streams": stats.streams,
            "bandwidthKbps": stats.bandwidth_kbps,
            "degraded": degraded,
        });
        if let Some(zone) = &self.identity.zone {
            report["zone"] = json!(zone);
        }
        if let Some(capacity) = self.config.capacity {
            report["capacity"] = json!(capacity);
        }
        report
    }

    async fn keep_token(&mut self, token: &str) {
        self.token = Some(token.to_owned());
        let path = &self.config.token_file;
        if let Some(dir) = path.parent() {
            let _ = tokio::fs::create_dir_all(dir).await;
        }
        match tokio::fs::write(path, token).await {
            Ok(()) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).await;
                }
                tracing::info!(node = %self.identity.node_id, "enrolled; node token kept");
            }
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "the node token could not be kept: a restart cannot report")
            }
        }
    }

    async fn run_drain_command(&self) {
        let Some(command) = self.config.drain_command.as_ref().filter(|c| !c.is_empty()) else { return };
        tracing::info!(?command, "draining: running the drain command");
        match tokio::process::Command::new(&command[0]).args(&command[1..]).status().await {
            Ok(status) if status.success() => {}
            Ok(status) => tracing::warn!(%status, "the drain command failed"),
            Err(e) => tracing::warn!(error = %e, "the drain command could not run"),
        }
    }
}

/// ±10 % of `interval`.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + 0.2 * unit_jitter())
}

/// In [0, 1), from the clock's nanoseconds (no need for better).
fn unit_jitter() -> f64 {
    f64::from(OffsetDateTime::now_utc().nanosecond()) / 1e9
}

/// How long to wait after the `failures`-th failed beat in a row: from a
/// second, doubling, never past one `interval`, with jitter (half to all of
/// it: a fleet that lost the API together does not come back in lockstep);
/// a `Retry-After` is honoured up to the same cap. Never past one interval,
/// because the API takes a node silent for a few intervals out of service:
/// an agent's own backoff must not be what silences it (it was 10, 20, 40,
/// then 60 s: three failed calls made more than a minute of silence).
pub fn retry_wait(failures: u32, interval: Duration, retry_after: Option<Duration>, unit: f64) -> Duration {
    let doubling = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    let backoff = Duration::from_secs(u64::from(doubling)).min(interval);
    let jittered = backoff.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0));
    retry_after.map_or(jittered, |after| after.min(interval).max(jittered))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(5);

    #[test]
    fn retries_double_from_a_second_and_never_wait_past_one_interval() {
        let waits: Vec<u64> = (1..=8).map(|f| retry_wait(f, INTERVAL, None, 1.0).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5, 5, 5, 5]);
        assert_eq!(retry_wait(1, INTERVAL, None, 0.0), Duration::from_millis(500), "jitter keeps half");
        assert_eq!(retry_wait(u32::MAX, INTERVAL, None, 1.0), INTERVAL);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_interval() {
        assert_eq!(retry_wait(1, INTERVAL, Some(Duration::from_secs(3)), 0.0), Duration::from_secs(3));
        assert_eq!(retry_wait(1, INTERVAL, Some(Duration::from_secs(120)), 0.0), INTERVAL);
        assert_eq!(retry_wait(4, INTERVAL, Some(Duration::ZERO), 1.0), INTERVAL);
    }
}
