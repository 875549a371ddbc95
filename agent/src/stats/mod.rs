//! Where the agent reads its media server's load: one trait, one module
//! per server. Parsers are pure functions of the page's text, so each is
//! tested on recorded responses (`agent/tests/fixtures`).

mod json_fields;
mod mediamtx;
mod nginx_rtmp;
mod srs;

use std::time::Duration;

use serde::Deserialize;

pub use json_fields::FieldPaths;

/// What a media server carries now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub publishers: u32,
    pub subscribers: u32,
    /// `app/stream` of the streams it holds.
    pub streams: Vec<String>,
    /// A rate: kilobits per second in and out.
    pub bandwidth_kbps: u64,
    /// Bytes in and out since the server started, for a server that gives
    /// totals rather than a rate (MediaMTX): the agent turns the change
    /// between two reads into `bandwidth_kbps` ([`rate_kbps`]).
    pub byte_counter: Option<u64>,
}

/// Kilobits per second from a byte counter read `elapsed` apart: `None`
/// without an earlier read, or when the counter went back (the server
/// restarted) or no time passed.
pub fn rate_kbps(earlier: Option<u64>, now: u64, elapsed: Duration) -> Option<u64> {
    let bytes = now.checked_sub(earlier?)?;
    let millis = u64::try_from(elapsed.as_millis()).ok().filter(|&ms| ms > 0)?;
    // bytes × 8 bits ÷ 1000 ÷ (ms ÷ 1000) = bytes × 8 ÷ ms
    Some(bytes.saturating_mul(8) / millis)
}

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("the stats page could not be fetched: {0}")]
    Fetch(String),
    #[error("the stats page is malformed: {0}")]
    Malformed(String),
}

/// Which server, and where its stats are.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// nginx-rtmp's `rtmp_stat all` page, e.g. `http://127.0.0.1:8080/stat`.
    NginxRtmp { url: String },
    /// SRS's HTTP API root, e.g. `http://127.0.0.1:1985` (reads `/api/v1/streams`).
    Srs { url: String },
    /// MediaMTX's control API root, e.g. `http://127.0.0.1:9997` (reads `/v3/paths/list`).
    Mediamtx { url: String },
    /// Any JSON page, with JSON pointers to its figures.
    Json {
        url: String,
        #[serde(flatten)]
        fields: FieldPaths,
    },
}

pub struct Source {
    config: SourceConfig,
    http: reqwest::Client,
}

impl Source {
    pub fn new(config: SourceConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .expect("the HTTP client builds");
        Self { config, http }
    }

    async fn fetch(&self, url: &str) -> Result<String, StatsError> {
        let response = self.http.get(url).send().await.map_err(|e| StatsError::Fetch(e.to_string()))?;
        if !response.status().is_success() {
            return Err(StatsError::Fetch(format!("{url}: HTTP {}", response.status())));
        }
        response.text().await.map_err(|e| StatsError::Fetch(e.to_string()))
    }

    pub async fn read(&self) -> Result<Stats, StatsError> {
        let root = |url: &str, path: &str| format!("{}{path}", url.trim_end_matches('/'));
        let page_url = match &self.config {
            SourceConfig::NginxRtmp { url } | SourceConfig::Json { url, .. } => url.clone(),
            SourceConfig::Srs { url } => root(url, "/api/v1/streams?count=1000"),
            SourceConfig::Mediamtx { url } => root(url, "/v3/paths/list?itemsPerPage=1000"),
        };
        parse_page(&self.config, &self.fetch(&page_url).await?)
    }
}

/// The figures in a page of the configured server: a pure function of the
/// page's text (the fuzz harness feeds it pages no server should send).
pub fn parse_page(config: &SourceConfig, page: &str) -> Result<Stats, StatsError> {
    match config {
        SourceConfig::NginxRtmp { .. } => nginx_rtmp::parse(page),
        SourceConfig::Srs { .. } => srs::parse(page),
        SourceConfig::Mediamtx { .. } => mediamtx::parse(page),
        SourceConfig::Json { fields, .. } => fields.parse(page),
    }
}

fn malformed(e: impl std::fmt::Display) -> StatsError {
    StatsError::Malformed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_counter_read_twice_gives_a_rate_and_a_restart_none() {
        let second = Duration::from_secs(1);
        assert_eq!(rate_kbps(Some(1_000_000), 1_625_000, 5 * second), Some(1000), "625 kB in 5 s");
        assert_eq!(rate_kbps(None, 1_625_000, 5 * second), None, "the first read");
        assert_eq!(rate_kbps(Some(1_625_000), 10, 5 * second), None, "restarted");
        assert_eq!(rate_kbps(Some(0), u64::MAX, Duration::from_millis(1)), Some(u64::MAX), "saturates");
        assert_eq!(rate_kbps(Some(0), 10, Duration::ZERO), None);
    }
}
