//! `streamfleet simulate` and `streamfleet trace generate`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use streamfleet_sim::generate::{generate, Shape};
use streamfleet_sim::trace::to_csv;
use streamfleet_sim::{compare, plot, report, SimConfig, Trace, Tuning};

/// The traces shipped with streamfleet, by name.
const SHIPPED: [(&str, &str); 3] = [
    ("evening_peak", include_str!("../../shared/sim/traces/evening_peak.csv")),
    ("flash_crowd", include_str!("../../shared/sim/traces/flash_crowd.csv")),
    ("sawtooth", include_str!("../../shared/sim/traces/sawtooth.csv")),
];

#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
    /// `name: value` lines, as `make bench` prints them.
    Bench,
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Shipped trace names (evening_peak, flash_crowd, sawtooth) or CSV
    /// files (`t_secs,stream,viewers`); default: the three shipped.
    #[arg(long = "trace")]
    traces: Vec<String>,
    /// How often the baselines act (EventBridge's finest schedule).
    #[arg(long, default_value_t = SimConfig::default().tick_secs)]
    tick_secs: u64,
    /// How often streamfleet's scaler ticks (a deployment's `tickSecs`).
    #[arg(long, default_value_t = Tuning::default().tick_secs)]
    scaler_tick_secs: u64,
    /// streamfleet's scaler ticks on its schedule only: lookups refused
    /// for want of room, or seats crossing the threshold, do not call it.
    #[arg(long)]
    no_pressure_ticks: bool,
    #[arg(long, default_value_t = SimConfig::default().warmup_secs)]
    warmup_secs: u64,
    /// Viewers per node.
    #[arg(long, default_value_t = SimConfig::default().capacity)]
    capacity: u32,
    #[arg(long, default_value_t = SimConfig::default().mean_session_secs)]
    session_secs: f64,
    /// How long a viewer who finds no room retries before giving up.
    #[arg(long, default_value_t = SimConfig::default().patience_secs)]
    patience_secs: u64,
    #[arg(long, default_value_t = SimConfig::default().seed)]
    seed: u64,
    /// table, json (for scripts) or bench (`name: value` lines).
    #[arg(long, value_enum, default_value = "table")]
    report: Output,
    /// Write an SVG plot per trace into this directory (`<trace>.svg`).
    #[arg(long)]
    plot_dir: Option<PathBuf>,
    /// streamfleet's scale-out threshold, % (default: a new group's).
    #[arg(long)]
    scale_out_pct: Option<u8>,
    /// streamfleet's scale-in threshold, %.
    #[arg(long)]
    scale_in_pct: Option<u8>,
    #[arg(long)]
    scale_in_cooldown_secs: Option<u32>,
    #[arg(long)]
    scale_out_cooldown_secs: Option<u32>,
    /// The lookups' packing ceiling, %.
    #[arg(long)]
    ceiling_pct: Option<u8>,
}

#[derive(Subcommand)]
pub enum TraceCommand {
    /// Print a synthetic trace as CSV.
    Generate {
        /// evening_peak, flash_crowd, sawtooth or random.
        shape: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn load(name: &str) -> Result<Trace, String> {
    match SHIPPED.iter().find(|(shipped, _)| *shipped == name) {
        Some((_, text)) => Trace::parse_csv(name, text).map_err(|e| format!("trace {name}: {e}")),
        None => Trace::load(std::path::Path::new(name)).map_err(|e| format!("trace {name}: {e}")),
    }
}

pub fn run(args: &SimulateArgs) -> Result<(), String> {
    if args.tick_secs == 0 || args.scaler_tick_secs == 0 || args.capacity == 0 || args.session_secs <= 0.0 {
        return Err("--tick-secs, --scaler-tick-secs, --capacity and --session-secs must be positive".into());
    }
    let config = SimConfig {
        tick_secs: args.tick_secs,
        warmup_secs: args.warmup_secs,
        capacity: args.capacity,
        mean_session_secs: args.session_secs,
        patience_secs: args.patience_secs,
        seed: args.seed,
        ..SimConfig::default()
    };
    let mut tuning = Tuning::default();
    let scale = &mut tuning.scale;
    scale.scale_out_threshold_pct = args.scale_out_pct.unwrap_or(scale.scale_out_threshold_pct);
    scale.scale_in_threshold_pct = args.scale_in_pct.unwrap_or(scale.scale_in_threshold_pct);
    scale.scale_in_cooldown_secs = args.scale_in_cooldown_secs.unwrap_or(scale.scale_in_cooldown_secs);
    scale.scale_out_cooldown_secs = args.scale_out_cooldown_secs.unwrap_or(scale.scale_out_cooldown_secs);
    tuning.ceiling_pct = args.ceiling_pct.unwrap_or(tuning.ceiling_pct);
    tuning.tick_secs = args.scaler_tick_secs;
    tuning.on_pressure = !args.no_pressure_ticks;
    if !(1..=100).contains(&tuning.ceiling_pct)
        || scale.scale_in_threshold_pct >= scale.scale_out_threshold_pct
    {
        return Err("thresholds: scale-in below scale-out, ceiling within 1–100".into());
    }
    let names: Vec<String> = if args.traces.is_empty() {
        SHIPPED.iter().map(|(name, _)| (*name).to_owned()).collect()
    } else {
        args.traces.clone()
    };
    let mut json = Vec::new();
    for name in &names {
        let trace = load(name)?;
        let outcomes = compare(&trace, &config, &tuning);
        match args.report {
            Output::Table => crate::print(&format!("{}\n", report::table(&trace.name, &outcomes)))?,
            Output::Bench => crate::print(&report::bench_lines(&trace.name, &outcomes))?,
            Output::Json => {
                json.push(serde_json::json!({"trace": trace.name, "config": config, "outcomes": outcomes}))
            }
        }
        if let Some(dir) = &args.plot_dir {
            let svg = plot::svg(&trace.name, &outcomes)?;
            let path = dir.join(format!("{}.svg", trace.name));
            std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if matches!(args.report, Output::Json) {
        crate::print(&format!("{}\n", serde_json::to_string_pretty(&json).expect("outcomes serialize")))?;
    }
    Ok(())
}

pub fn trace(command: &TraceCommand) -> Result<(), String> {
    match command {
        TraceCommand::Generate { shape, seed } => {
            let shape = Shape::parse(shape).ok_or_else(|| {
                format!("unknown shape {shape}: evening_peak, flash_crowd, sawtooth or random")
            })?;
            let comment = format!("streamfleet trace: {} (seed {seed}); t_secs,stream,viewers", shape.name());
            crate::print(&to_csv(&comment, &generate(shape, *seed)))
        }
    }
}
