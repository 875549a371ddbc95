//! Any JSON stats page: JSON pointers (RFC 6901) to the figures.

use serde::Deserialize;
use serde_json::Value;

use super::{malformed, Stats, StatsError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPaths {
    /// e.g. `/stats/publishers`
    pub publishers: String,
    /// e.g. `/stats/viewers`
    pub subscribers: String,
    /// An array of `app/stream` strings, if the page has one.
    #[serde(default)]
    pub streams: Option<String>,
    #[serde(default)]
    pub bandwidth_kbps: Option<String>,
}

fn count(page: &Value, pointer: &str) -> Result<u64, StatsError> {
    page.pointer(pointer)
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed(format!("{pointer} is not a whole number in the page")))
}

impl FieldPaths {
    pub fn parse(&self, json: &str) -> Result<Stats, StatsError> {
        let page: Value = serde_json::from_str(json).map_err(malformed)?;
        let streams = match &self.streams {
            None => Vec::new(),
            Some(pointer) => page
                .pointer(pointer)
                .and_then(Value::as_array)
                .ok_or_else(|| malformed(format!("{pointer} is not an array in the page")))?
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
        };
        Ok(Stats {
            publishers: u32::try_from(count(&page, &self.publishers)?).map_err(malformed)?,
            subscribers: u32::try_from(count(&page, &self.subscribers)?).map_err(malformed)?,
            streams,
            bandwidth_kbps: self.bandwidth_kbps.as_deref().map(|p| count(&page, p)).transpose()?.unwrap_or(0),
            byte_counter: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> FieldPaths {
        FieldPaths {
            publishers: "/stats/publishers".into(),
            subscribers: "/stats/viewers".into(),
            streams: Some("/stats/streams".into()),
            bandwidth_kbps: Some("/stats/kbps".into()),
        }
    }

    #[test]
    fn pointers_reach_the_figures() {
        let stats = paths().parse(include_str!("../../tests/fixtures/generic.json")).unwrap();
        assert_eq!(
            stats,
            Stats {
                publishers: 1,
                subscribers: 42,
                streams: vec!["live/cam1".into()],
                bandwidth_kbps: 9000,
                byte_counter: None
            }
        );
    }

    #[test]
    fn missing_or_mistyped_figures_are_errors() {
        assert!(paths().parse(r#"{"stats":{"publishers":1}}"#).is_err());
        assert!(paths().parse(r#"{"stats":{"publishers":"one","viewers":2,"streams":[]}}"#).is_err());
        assert!(paths().parse("not json").is_err());
    }
}
