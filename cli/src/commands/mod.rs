//! One module per subcommand family; each turns arguments into API calls
//! and the answers into output text.

pub mod events;
pub mod groups;
pub mod lookup;
pub mod nodes;
pub mod provision;

use crate::api::CliError;

/// Reads a JSON document from a file, or stdin for `-`.
pub fn read_json(path: &str) -> Result<serde_json::Value, CliError> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| CliError::Usage(format!("stdin: {e}")))?
    } else {
        std::fs::read_to_string(path).map_err(|e| CliError::Usage(format!("{path}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{path}: not JSON: {e}")))
}

/// Every item of a paged listing (`{"items": […], "next": cursor}`), page
/// after page; `path` already carries its query (`?limit=…`).
pub async fn all_pages(api: &crate::api::Api, path: &str) -> Result<Vec<serde_json::Value>, CliError> {
    let mut items = Vec::new();
    let mut page = api.get(path).await?;
    loop {
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(next) => page = api.get(&format!("{path}&cursor={}", segment(next))).await?,
            None => return Ok(items),
        }
    }
}

/// A path segment from user input, percent-encoded.
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
