//! Output: human tables by default, the API's JSON with `--output json`.

use clap::ValueEnum;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::Table;
use serde_json::Value;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// A field of a JSON object as table text (`a.b` reaches into objects).
pub fn field(item: &Value, path: &str) -> String {
    let value = path.split('.').try_fold(item, |v, key| v.get(key));
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `items` as a table of `columns` (header, JSON path), or the JSON itself.
pub fn list(format: Format, json: &Value, items: &[Value], columns: &[(&str, &str)]) -> String {
    match format {
        Format::Json => pretty(json),
        Format::Table => {
            let mut table = Table::new();
            table.load_preset(UTF8_BORDERS_ONLY).set_header(columns.iter().map(|c| c.0));
            for item in items {
                table.add_row(columns.iter().map(|c| field(item, c.1)));
            }
            format!("{table}\n")
        }
    }
}

/// One object as `key: value` lines, or the JSON itself.
pub fn object(format: Format, json: &Value, rows: &[(&str, &str)]) -> String {
    match format {
        Format::Json => pretty(json),
        Format::Table => {
            rows.iter().map(|(label, path)| format!("{label:<14} {}\n", field(json, path))).collect()
        }
    }
}

pub fn pretty(json: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(json).expect("JSON serializes"))
}
