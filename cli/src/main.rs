//! `streamfleet`: the operator CLI.

mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "streamfleet",
    version,
    about = "Operate streamfleet: node groups, nodes, lookups, and the scaling simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare scaling policies on load traces (no deployment needed).
    Simulate(simulate::SimulateArgs),
    /// Load traces for the simulator.
    #[command(subcommand)]
    Trace(simulate::TraceCommand),
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn print(text: &str) -> Result<(), String> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("writing to stdout: {e}")),
        _ => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(&args),
        Command::Trace(command) => simulate::trace(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("streamfleet: {message}");
            ExitCode::from(2)
        }
    }
}
