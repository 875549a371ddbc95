//! SRS's `/api/v1/streams`: per stream its `clients` (the publisher
//! included) and whether `publish.active`. Matches SRS 5.x and 6.x.

use serde::Deserialize;

use super::{malformed, Stats, StatsError};

#[derive(Deserialize)]
struct Page {
    code: i64,
    #[serde(default)]
    streams: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    name: String,
    app: String,
    #[serde(default)]
    clients: u32,
    #[serde(default)]
    publish: Option<Publish>,
    #[serde(default)]
    kbps: Option<Kbps>,
}

#[derive(Deserialize)]
struct Publish {
    active: bool,
}

#[derive(Deserialize)]
struct Kbps {
    #[serde(default)]
    recv_30s: u64,
    #[serde(default)]
    send_30s: u64,
}

pub fn parse(json: &str) -> Result<Stats, StatsError> {
    let page: Page = serde_json::from_str(json).map_err(malformed)?;
    if page.code != 0 {
        return Err(malformed(format!("SRS answered code {}", page.code)));
    }
    let mut stats = Stats::default();
    for stream in page.streams {
        let publishing = stream.publish.is_some_and(|p| p.active);
        // Saturating: a page is outside input, and its figures may be anything.
        stats.publishers = stats.publishers.saturating_add(u32::from(publishing));
        stats.subscribers =
            stats.subscribers.saturating_add(stream.clients.saturating_sub(u32::from(publishing)));
        let kbps = stream.kbps.map_or(0, |k| k.recv_30s.saturating_add(k.send_30s));
        stats.bandwidth_kbps = stats.bandwidth_kbps.saturating_add(kbps);
        if publishing {
            stats.streams.push(format!("{}/{}", stream.app.trim_start_matches('/'), stream.name));
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_minus_the_publisher_are_players() {
        let stats = parse(include_str!("../../tests/fixtures/srs_streams.json")).unwrap();
        assert_eq!((stats.publishers, stats.subscribers), (1, 2));
        assert_eq!(stats.streams, ["live/livestream"]);
        assert_eq!(stats.bandwidth_kbps, 7488);
    }

    #[test]
    fn errors_empty_and_malformed_pages() {
        assert_eq!(parse(r#"{"code":0,"streams":[]}"#).unwrap(), Stats::default());
        assert!(parse(r#"{"code":1000}"#).is_err());
        assert!(parse("<html>").is_err());
        assert!(parse(r#"{"code":0,"streams":[{"app":"live"}]}"#).is_err(), "a stream without a name");
    }
}
