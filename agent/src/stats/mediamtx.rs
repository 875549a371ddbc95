//! MediaMTX's `/v3/paths/list`: per path, whether it is `ready` (a source
//! publishes it), its `source`, and its `readers`. Matches MediaMTX 1.x.

use serde::Deserialize;

use super::{malformed, Stats, StatsError};

#[derive(Deserialize)]
struct Page {
    items: Vec<Path>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Path {
    name: String,
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    source: Option<serde_json::Value>,
    #[serde(default)]
    readers: Vec<serde_json::Value>,
    #[serde(default)]
    bytes_received: u64,
    #[serde(default)]
    bytes_sent: u64,
}

pub fn parse(json: &str) -> Result<Stats, StatsError> {
    let page: Page = serde_json::from_str(json).map_err(malformed)?;
    let mut stats = Stats::default();
    for path in page.items {
        let published = path.ready && path.source.as_ref().is_some_and(|s| !s.is_null());
        // Saturating: a page is outside input, and its figures may be anything.
        stats.publishers = stats.publishers.saturating_add(u32::from(published));
        // An `hlsMuxer` reader is MediaMTX's own muxer, there while any HLS
        // client reads the path: not a viewer. HLS viewers are not listed
        // one by one anywhere in its API, so they are not counted.
        let viewers = path.readers.iter().filter(|r| r["type"] != "hlsMuxer").count();
        stats.subscribers = stats.subscribers.saturating_add(viewers.try_into().unwrap_or(u32::MAX));
        // Totals since start: the agent makes a rate of their change.
        let bytes = path.bytes_received.saturating_add(path.bytes_sent);
        stats.byte_counter = Some(stats.byte_counter.unwrap_or(0).saturating_add(bytes));
        if published {
            // `app/stream` paths map as they are; a one-segment path is `live/<name>`.
            let key = if path.name.contains('/') { path.name } else { format!("live/{}", path.name) };
            stats.streams.push(key);
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_paths_are_published_and_readers_play_but_the_hls_muxer_is_no_viewer() {
        let stats = parse(include_str!("../../tests/fixtures/mediamtx_paths.json")).unwrap();
        // Readers: an hlsMuxer (MediaMTX's own) and a WebRTC session.
        assert_eq!((stats.publishers, stats.subscribers), (1, 1));
        assert_eq!(stats.streams, ["live/cam1"]);
        assert_eq!((stats.byte_counter, stats.bandwidth_kbps), (Some(52_428_800 + 104_857_600), 0));
    }

    #[test]
    fn empty_and_malformed_pages() {
        assert_eq!(parse(r#"{"itemCount":0,"pageCount":0,"items":[]}"#).unwrap(), Stats::default());
        assert!(parse("").is_err());
        assert!(parse(r#"{"items":[{"ready":true}]}"#).is_err(), "a path without a name");
    }

    #[test]
    fn figures_past_any_sum_saturate_instead_of_overflowing() {
        // Found by the fuzz harness: two byte counters of u64::MAX panicked.
        let page = format!(
            r#"{{"items":[{{"name":"a","bytesReceived":{max},"bytesSent":{max},"readers":[]}}]}}"#,
            max = u64::MAX
        );
        assert_eq!(parse(&page).unwrap().byte_counter, Some(u64::MAX));
    }
}
