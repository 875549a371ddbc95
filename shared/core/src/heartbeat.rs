//! What a node reports every few seconds, and the rules it must keep.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::group::Role;
use crate::names::{Region, StreamKey, Zone};
use crate::validation::{InvalidInput, Violations};

/// Most streams one report may list. A normal node item stays within one
/// DynamoDB write unit (1 KB) with a few dozen; this caps the worst case.
pub const MAX_REPORTED_STREAMS: usize = 500;
pub const MAX_ENDPOINTS: usize = 8;
pub const MAX_TEMPLATE_LEN: usize = 256;
pub const MAX_HOST_LEN: usize = 253;
const MAX_SESSIONS: u32 = 10_000_000;

/// One heartbeat, as a node sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatReport {
    /// When the node sent this report, by its own (NTP-synced) clock.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub sent_at: OffsetDateTime,
    pub role: Role,
    pub region: Region,
    #[serde(default)]
    pub zone: Option<Zone>,
    /// The host clients connect to (DNS name or IP).
    pub host: String,
    /// URL template per protocol with `{host}`, `{app}`, `{stream}`
    /// placeholders. Needed on enrollment; when omitted later, unchanged.
    #[serde(default)]
    pub endpoints: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub publishers: u32,
    #[serde(default)]
    pub subscribers: u32,
    /// The streams the node holds, as `app/stream`.
    #[serde(default)]
    pub streams: Vec<StreamKey>,
    #[serde(default)]
    pub cpu_pct: f32,
    #[serde(default)]
    pub bandwidth_kbps: u64,
    /// Sessions the node can carry, if it knows better than its role's setting.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// The node could not read its media server's figures: the load is its
    /// last good reading, and it gets no new sessions until it can again.
    #[serde(default)]
    pub degraded: bool,
}

/// How far a node's clock may be from ours.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(30);

impl HeartbeatReport {
    /// The load as the node reported it.
    pub fn load(&self) -> crate::node::NodeLoad {
        crate::node::NodeLoad {
            publishers: self.publishers,
            subscribers: self.subscribers,
            cpu_pct: self.cpu_pct,
            bandwidth_kbps: self.bandwidth_kbps,
            capacity: self.capacity,
            degraded: self.degraded,
        }
    }

    /// Checks every rule; `now` is the server's clock.
    pub fn validate(&self, now: OffsetDateTime) -> Result<(), InvalidInput> {
        let mut v = Violations::default();
        let skew = (now - self.sent_at).abs();
        v.check(skew <= MAX_CLOCK_SKEW, || "sentAt".into(), "fresh", || {
            format!(
                "sentAt is {:.0}s from the server's clock (at most {}s allowed): a replay, or a node clock out of sync",
                skew.as_seconds_f64(),
                MAX_CLOCK_SKEW.as_secs()
            )
        });
        if let Some(zone) = &self.zone {
            v.check(
                zone.is_in(&self.region),
                || "zone".into(),
                "zone_in_region",
                || format!("zone {zone} is not in region {}", self.region),
            );
        }
        v.check(
            is_host(&self.host),
            || "host".into(),
            "format",
            || "host is a DNS name or an IP address".into(),
        );
        if let Some(endpoints) = &self.endpoints {
            check_endpoints(&mut v, endpoints);
        }
        v.check(
            self.streams.len() <= MAX_REPORTED_STREAMS,
            || "streams".into(),
            "count",
            || format!("report at most {MAX_REPORTED_STREAMS} streams"),
        );
        for (name, count) in [("publishers", self.publishers), ("subscribers", self.subscribers)] {
            v.check(count <= MAX_SESSIONS, || name.into(), "range", || format!("at most {MAX_SESSIONS}"));
        }
        v.check(
            self.cpu_pct.is_finite() && (0.0..=100.0).contains(&self.cpu_pct),
            || "cpuPct".into(),
            "percent",
            || "cpuPct is a percentage from 0 to 100".into(),
        );
        if let Some(capacity) = self.capacity {
            v.check(
                (1..=1_000_000).contains(&capacity),
                || "capacity".into(),
                "range",
                || "capacity is 1 to 1000000".into(),
            );
        }
        v.into_result()
    }
}

fn is_host(host: &str) -> bool {
    (1..=MAX_HOST_LEN).contains(&host.len())
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn check_endpoints(v: &mut Violations, endpoints: &BTreeMap<String, String>) {
    v.check(
        endpoints.len() <= MAX_ENDPOINTS,
        || "endpoints".into(),
        "count",
        || format!("at most {MAX_ENDPOINTS} endpoints"),
    );
    for (protocol, template) in endpoints {
        let at = || format!("endpoints.{protocol}");
        v.check(
            (1..=16).contains(&protocol.len())
                && protocol
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'+' || b == b'-'),
            at,
            "protocol_format",
            || "protocol names are 1 to 16 of [a-z0-9+-]".into(),
        );
        v.check(
            template.len() <= MAX_TEMPLATE_LEN
                && template.contains("://")
                && template.bytes().all(|b| b.is_ascii_graphic()),
            at,
            "url_template",
            || format!("a URL template like rtmp://{{host}}:1935/{{app}}/{{stream}}, at most {MAX_TEMPLATE_LEN} characters"),
        );
        // Clients are redirected to these: nothing but a web URL.
        v.check(
            !crate::node::protocols::REDIRECTED.contains(&protocol.as_str())
                || template.starts_with("http://")
                || template.starts_with("https://"),
            at,
            "http_url_template",
            || format!("{protocol} endpoints are http:// or https:// URL templates"),
        );
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn report(now: OffsetDateTime) -> HeartbeatReport {
        HeartbeatReport {
            sent_at: now,
            role: Role::Edge,
            region: Region::parse("eu-west-1").unwrap(),
            zone: Some(Zone::parse("eu-west-1a").unwrap()),
            host: "203.0.113.7".into(),
            endpoints: Some(BTreeMap::from([("rtmp".into(), "rtmp://{host}:1935/{app}/{stream}".into())])),
            publishers: 0,
            subscribers: 10,
            streams: vec![StreamKey::parse("live/cam1").unwrap()],
            cpu_pct: 12.5,
            bandwidth_kbps: 4000,
            capacity: None,
            degraded: false,
        }
    }

    fn fields(r: &HeartbeatReport, now: OffsetDateTime) -> Vec<String> {
        r.validate(now).err().map(|e| e.0.into_iter().map(|f| f.field).collect()).unwrap_or_default()
    }

    #[test]
    fn a_normal_report_is_valid() {
        let now = datetime!(2026-11-21 06:00 UTC);
        assert_eq!(fields(&report(now), now), Vec::<String>::new());
    }

    #[test]
    fn old_or_future_reports_are_refused() {
        let now = datetime!(2026-11-21 06:00 UTC);
        assert_eq!(fields(&report(now - Duration::from_secs(31)), now), ["sentAt"]);
        assert_eq!(fields(&report(now + Duration::from_secs(31)), now), ["sentAt"]);
        assert_eq!(fields(&report(now - Duration::from_secs(29)), now), Vec::<String>::new());
    }

    #[test]
    fn bad_fields_are_named() {
        let now = datetime!(2026-11-21 06:00 UTC);
        let mut r = report(now);
        r.zone = Some(Zone::parse("us-east-1a").unwrap());
        r.host = "not a host!".into();
        r.cpu_pct = f32::NAN;
        r.capacity = Some(0);
        r.endpoints = Some(BTreeMap::from([("RTMP".into(), "nope".into())]));
        assert_eq!(
            fields(&r, now),
            ["zone", "host", "endpoints.RTMP", "endpoints.RTMP", "cpuPct", "capacity"]
        );
    }

    #[test]
    fn clients_are_redirected_to_web_urls_only() {
        let now = datetime!(2026-11-21 06:00 UTC);
        let mut r = report(now);
        r.endpoints = Some(BTreeMap::from([
            ("whip".into(), "javascript://{host}/%0aalert(1)".into()),
            ("hls".into(), "https://{host}/hls/{app}/{stream}.m3u8".into()),
            ("srt".into(), "srt://{host}:8890?streamid={app}/{stream}".into()),
        ]));
        assert_eq!(fields(&r, now), ["endpoints.whip"]);
    }
}
