//! The live view: redrawn every second on a terminal, the groups' nodes with
//! load bars, the load, and the scaler's latest decisions with their reasons.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::Table;
use serde_json::Value;

use crate::farm::SimNode;
use crate::load::{Curve, LoadStats};

/// `sessions / capacity` as a bar (comfy-table draws tables, not bars).
fn bar(sessions: u32, capacity: u32) -> String {
    const WIDTH: u32 = 20;
    let filled = (sessions.min(capacity) * WIDTH).div_ceil(capacity.max(1));
    format!(
        "{}{} {sessions:>3}/{capacity}",
        "█".repeat(filled as usize),
        "░".repeat((WIDTH - filled) as usize)
    )
}

pub fn draw(
    url: &str,
    curve: &Curve,
    elapsed: f64,
    stats: &LoadStats,
    nodes: &BTreeMap<String, SimNode>,
    decisions: &[Value],
    cut: u64,
) {
    let terminal = std::io::stdout().is_terminal();
    if !terminal && !(elapsed as u64).is_multiple_of(10) {
        // Logs, not a screen: a line every ten seconds is enough.
        return;
    }
    let mut out = String::new();
    out.push_str(&format!(
        "streamfleet local stack · {url} · scenario {} · {:.0}/{:.0} s · {}\n\
         viewers wanted {} · watching {} · waiting {} · refused lookups {} · turned away {} · sessions cut {cut}\n\n",
        curve.name,
        elapsed.min(curve.length()),
        curve.length(),
        stats.phase,
        stats.wanted,
        stats.seated,
        stats.waiting,
        stats.refused,
        stats.rejected,
    ));
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header(["NODE", "ROLE", "STATE", "LOAD"]);
    for (id, node) in nodes {
        let state = match (node.state.as_str(), node.cordoned) {
            ("draining", true) => "draining (held)".to_owned(),
            (state, true) => format!("{state}, cordoned"),
            (state, false) => state.to_owned(),
        };
        table.add_row([id.clone(), node.role.clone(), state, bar(node.sessions(), node.capacity)]);
    }
    out.push_str(&format!("group demo ({} nodes)\n{table}\n\nlatest decisions\n", nodes.len()));
    for decision in decisions {
        let at = decision["at"].as_str().unwrap_or("").get(11..19).unwrap_or("");
        let action = decision["action"]["type"].as_str().unwrap_or("?");
        let target = decision["action"]["node"].as_str().or(decision["role"].as_str()).unwrap_or("");
        let reason = decision["reason"].as_str().unwrap_or("");
        out.push_str(&format!(
            "  {at} {action:<8} {target:<10} {}\n",
            reason.chars().take(110).collect::<String>()
        ));
    }
    let mut stdout = std::io::stdout().lock();
    if terminal {
        // Clear and home: a refreshing screen.
        let _ = write!(stdout, "\x1b[2J\x1b[H{out}\nCtrl-C stops everything.\n");
    } else {
        let _ = writeln!(stdout, "{}", out.lines().take(2).collect::<Vec<_>>().join(" | "));
    }
    let _ = stdout.flush();
}
