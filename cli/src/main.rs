//! `streamfleet`: the operator CLI. Talks to any deployment (the local
//! stack or AWS) by URL and admin token; also runs the scaling simulator.

mod api;
mod commands;
mod render;
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use api::{Api, CliError, ConnectionArgs};
use commands::{events, groups, lookup, nodes, provision};
use render::Format;

#[derive(Parser)]
#[command(
    name = "streamfleet",
    version,
    about = "Operate streamfleet: node groups, nodes, lookups, the simulated cloud, and the scaling simulator"
)]
struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// `table` for people, `json` for scripts (the API's own JSON).
    #[arg(long, short, value_enum, default_value = "table", global = true)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Node groups: create, list, show, update, delete.
    #[command(subcommand)]
    Groups(groups::Groups),
    /// A group's nodes.
    #[command(subcommand)]
    Nodes(nodes::Nodes),
    /// Where to publish or play a stream.
    #[command(subcommand)]
    Lookup(lookup::Lookup),
    /// A group's scaling decisions, newest first.
    Events(events::Events),
    /// The simulated cloud's provision pool.
    #[command(subcommand)]
    Provision(provision::Provision),
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

async fn call(cli: &Cli) -> Result<String, CliError> {
    let api = Api::new(cli.connection.resolve()?);
    match &cli.command {
        Command::Groups(command) => groups::run(&api, cli.output, command).await,
        Command::Nodes(command) => nodes::run(&api, cli.output, command).await,
        Command::Lookup(command) => lookup::run(&api, cli.output, command).await,
        Command::Events(args) => events::run(&api, cli.output, args).await,
        Command::Provision(command) => provision::run(&api, cli.output, command).await,
        Command::Simulate(_) | Command::Trace(_) => unreachable!("offline commands run without the API"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let offline = match &cli.command {
        Command::Simulate(args) => Some(simulate::run(args)),
        Command::Trace(command) => Some(simulate::trace(command)),
        _ => None,
    };
    let result = match offline {
        Some(result) => result.map_err(CliError::Usage),
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Usage(format!("cannot start: {e}")))
            .and_then(|runtime| runtime.block_on(call(&cli)))
            .and_then(|text| print(&text).map_err(CliError::Usage)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("streamfleet: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
