//! `make chaos`: the chaos harness's long runs. Each seed runs beside its
//! fault-free twin (same seed, no faults, kills or outage), with the faults
//! lasting the whole curve, on the simulated cloud and on EC2 Auto Scaling
//! (the emulator's) in turn; prints the figures of every run and, last, the
//! worst of each (`name: value`). `--seeds N` (default 3: seeds alternate
//! between the clouds, starting with the simulated one), `--seed S` (replay
//! one) and `--cloud simulated|aws` size it.

use streamfleet_local::load::Curve;
use streamfleet_scenarios::chaos::{items_lost, run, ChaosCloud, ChaosOutcome, ChaosSettings};

/// Three minutes of the curve: ramp, a flash crowd, a hold under a
/// heartbeat outage, ramp down, a quiet end to settle on.
fn long(seed: u64) -> ChaosSettings {
    ChaosSettings {
        // One call in five fails: a thousand faults over a few seeds.
        faults_per_mille: 200,
        faults_until: 180.0,
        outage: (70.0, 30.0),
        curve: Curve {
            name: "chaos-long",
            points: vec![
                (0.0, 0, "start"),
                (15.0, 40, "ramp up"),
                (40.0, 40, "steady"),
                (50.0, 140, "flash crowd"),
                (120.0, 140, "peak"),
                (140.0, 30, "ramp down"),
                (180.0, 30, "quiet"),
            ],
        },
        ..ChaosSettings::short(seed)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let seeds: Vec<u64> = match value("--seed") {
        Some(seed) => vec![seed.parse()?],
        None => {
            let count: u64 = value("--seeds").map_or(Ok(3), |n| n.parse())?;
            let base = u64::from(uuid::Uuid::new_v4().as_fields().0);
            (0..count).map(|i| base + i).collect()
        }
    };
    let cloud = match value("--cloud").as_deref() {
        None => None,
        Some("simulated") => Some(ChaosCloud::Simulated),
        Some("aws") => Some(ChaosCloud::Aws),
        Some(other) => anyhow::bail!("--cloud is simulated or aws, not {other}"),
    };
    let mut worst: Option<(ChaosOutcome, u64)> = None;
    let mut totals = (0u64, 0u64);
    for (i, seed) in seeds.into_iter().enumerate() {
        let alternate = if i % 2 == 0 { ChaosCloud::Simulated } else { ChaosCloud::Aws };
        let settings = ChaosSettings { cloud: cloud.unwrap_or(alternate), ..long(seed) };
        let fault_free = settings.fault_free();
        let (twin, outcome) = tokio::join!(run(&fault_free), run(&settings));
        let (twin, outcome) = (twin?, outcome?);
        let lost = items_lost(&outcome, &twin);
        println!("# seed {seed} on {:?}\n{}", settings.cloud, outcome.figures(lost));
        eprintln!("seed {seed}: {outcome:?}\n  twin: {twin:?}");
        totals.0 += outcome.aws_calls;
        totals.1 += outcome.faults_injected;
        // Harm first, then how long it took to settle (never is worst).
        let rank = |o: &ChaosOutcome, lost: u64| {
            (o.sessions_cut, o.nodes_with_sessions_terminated, lost, o.convergence_ticks.unwrap_or(u32::MAX))
        };
        let worse = |w: &(ChaosOutcome, u64)| rank(&outcome, lost) > rank(&w.0, w.1);
        if worst.as_ref().is_none_or(worse) {
            worst = Some((outcome, lost));
        }
    }
    let (worst, lost) = worst.expect("at least one seed");
    println!("# the worst seed, with the calls and faults of all");
    let figures = worst.figures(lost);
    for line in figures.lines() {
        match line.split(':').next() {
            Some("chaos_aws_calls") => println!("chaos_aws_calls: {}", totals.0),
            Some("chaos_faults_injected") => println!("chaos_faults_injected: {}", totals.1),
            _ => println!("{line}"),
        }
    }
    Ok(())
}
