//! Load traces: concurrent viewers per stream over time, read from CSV
//! (`t_secs,stream,viewers`, one row per stream and instant, linear in
//! between, the last value held), sampled once per second for the engine.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("line {line}: {message}")]
    Row { line: u64, message: String },
    #[error("the trace has no rows")]
    Empty,
    #[error("the trace lasts {0} s; at most {MAX_SECS} s (48 h) are simulated")]
    TooLong(u64),
}

pub const MAX_SECS: u64 = 48 * 3600;

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Row {
    pub t_secs: u64,
    pub stream: String,
    pub viewers: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub name: String,
    /// Stream names, in the order of `per_second`.
    pub streams: Vec<String>,
    /// `per_second[s][t]`: concurrent viewers of stream `s` wanted at second `t`.
    pub per_second: Vec<Vec<u32>>,
}

impl Trace {
    pub fn from_rows(name: &str, rows: &[Row]) -> Result<Self, TraceError> {
        let mut by_stream: BTreeMap<&str, Vec<(u64, f64)>> = BTreeMap::new();
        for row in rows {
            by_stream.entry(&row.stream).or_default().push((row.t_secs, row.viewers));
        }
        let end = rows.iter().map(|r| r.t_secs).max().ok_or(TraceError::Empty)?;
        if end > MAX_SECS {
            return Err(TraceError::TooLong(end));
        }
        let mut streams = Vec::new();
        let mut per_second = Vec::new();
        for (stream, mut points) in by_stream {
            points.sort_by_key(|p| p.0);
            streams.push(stream.to_owned());
            per_second.push((0..=end).map(|t| interpolate(&points, t)).collect());
        }
        Ok(Self { name: name.to_owned(), streams, per_second })
    }

    pub fn parse_csv(name: &str, text: &str) -> Result<Self, TraceError> {
        let mut reader =
            csv::ReaderBuilder::new().comment(Some(b'#')).trim(csv::Trim::All).from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for record in reader.deserialize::<Row>() {
            let row = record.map_err(|e| TraceError::Row {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })?;
            if !row.viewers.is_finite() || row.viewers < 0.0 {
                return Err(TraceError::Row {
                    line: rows.len() as u64 + 2,
                    message: "viewers must be ≥ 0".into(),
                });
            }
            rows.push(row);
        }
        Self::from_rows(name, &rows)
    }

    pub fn load(path: &Path) -> Result<Self, TraceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TraceError::Read { path: path.display().to_string(), source })?;
        let name = path.file_stem().map_or("trace".into(), |s| s.to_string_lossy().into_owned());
        Self::parse_csv(&name, &text)
    }

    /// Seconds simulated (the last instant included).
    pub fn seconds(&self) -> u64 {
        self.per_second.first().map_or(0, |s| s.len() as u64)
    }

    /// Viewers wanted over every stream at second `t`.
    pub fn total(&self, t: u64) -> u32 {
        self.per_second.iter().map(|s| s.get(t as usize).copied().unwrap_or(0)).sum()
    }
}

fn interpolate(points: &[(u64, f64)], t: u64) -> u32 {
    let after = points.partition_point(|p| p.0 <= t);
    let value = match (after.checked_sub(1).map(|i| points[i]), points.get(after)) {
        (None, Some(first)) => first.1,
        (Some(last), None) => last.1,
        (Some((t0, v0)), Some((t1, v1))) => v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64,
        (None, None) => 0.0,
    };
    value.round() as u32
}

/// The CSV text of rows, with a header comment.
pub fn to_csv(comment: &str, rows: &[Row]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).expect("rows serialize");
    }
    let body = String::from_utf8(writer.into_inner().expect("in memory")).expect("UTF-8");
    format!("# {comment}\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_linear_in_between_and_held_after() {
        let trace = Trace::parse_csv("t", "# c\nt_secs,stream,viewers\n0,a,0\n10,a,100\n5,b,7\n").unwrap();
        assert_eq!(trace.streams, ["a", "b"]);
        assert_eq!(trace.seconds(), 11);
        assert_eq!(trace.per_second[0][5], 50);
        assert_eq!(trace.per_second[1][0], 7, "held before the first point");
        assert_eq!(trace.total(10), 107);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let err = Trace::parse_csv("t", "t_secs,stream,viewers\n0,a,1\nx,a,2\n").unwrap_err();
        assert!(err.to_string().starts_with("line 3"), "{err}");
        assert!(Trace::parse_csv("t", "t_secs,stream,viewers\n0,a,-1\n").is_err());
        assert!(matches!(Trace::parse_csv("t", "t_secs,stream,viewers\n"), Err(TraceError::Empty)));
        assert!(matches!(
            Trace::parse_csv("t", "t_secs,stream,viewers\n999999,a,1\n"),
            Err(TraceError::TooLong(_))
        ));
    }

    #[test]
    fn csv_round_trips() {
        let rows = vec![
            Row { t_secs: 0, stream: "a".into(), viewers: 3.0 },
            Row { t_secs: 9, stream: "a".into(), viewers: 4.0 },
        ];
        let text = to_csv("hello", &rows);
        assert_eq!(Trace::parse_csv("x", &text).unwrap(), Trace::from_rows("x", &rows).unwrap());
    }
}
