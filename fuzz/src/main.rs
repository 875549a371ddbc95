//! `make fuzz`: a long run; prints `name: value` lines and fails on any
//! panic or server error.
//!
//! `streamfleet-fuzz [--inputs N] [--requests M] [--seed S]`

use std::time::Instant;

use streamfleet_fuzz::mutate::Rng;
use streamfleet_fuzz::{count_panics, fuzz_parsers, panics, router};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .rposition(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let inputs = arg("--inputs", 1_000_000);
    let requests = arg("--requests", 5_000);
    let seed = arg("--seed", 0x5eed);
    let root = streamfleet_scenarios::repo_root();
    count_panics();
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let parsed = fuzz_parsers(&mut rng, &root, inputs);
    let routed = router::fuzz_router(&mut rng, &root, requests).await;
    for sample in parsed.samples.iter().chain(&routed.samples) {
        eprintln!("finding: {sample}");
    }
    println!("fuzz_inputs: {}", parsed.inputs + routed.requests);
    println!("fuzz_parser_inputs: {}", parsed.inputs);
    println!("fuzz_requests: {}", routed.requests);
    println!("fuzz_panics: {}", panics());
    println!("fuzz_5xx: {}", routed.server_errors);
    println!("fuzz_errors_without_code: {}", routed.errors_without_code);
    println!("fuzz_no_room: {}", routed.no_room);
    println!("fuzz_seed: {seed}");
    println!("fuzz_seconds: {:.1}", started.elapsed().as_secs_f64());
    if panics() > 0 || routed.server_errors > 0 || routed.errors_without_code > 0 {
        std::process::exit(1);
    }
}
