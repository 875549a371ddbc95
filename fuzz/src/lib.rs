//! streamfleet's fuzz harness, on stable Rust: mutated inputs for every
//! parser of outside input (`parsers`), and mutated requests through the
//! real router on the emulator (`router`). `make fuzz` runs a long one;
//! `make test` a short one (`tests/`).

pub mod mutate;
pub mod parsers;
pub mod router;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use mutate::{mutate, Rng};

static PANICS: AtomicU64 = AtomicU64::new(0);

/// Counts every panic of the process (a router's too, which its panic
/// layer turns into a 500), printing only the first few.
pub fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if PANICS.fetch_add(1, Ordering::SeqCst) < 3 {
            default(info);
        }
    }));
}

pub fn panics() -> u64 {
    PANICS.load(Ordering::SeqCst)
}

#[derive(Debug, Default)]
pub struct ParserOutcome {
    pub inputs: u64,
    pub panics: u64,
    /// The first inputs that panicked, by target, escaped.
    pub samples: Vec<String>,
}

/// `inputs` mutated inputs, spread over every target in turn.
pub fn fuzz_parsers(rng: &mut Rng, root: &Path, inputs: u64) -> ParserOutcome {
    let targets = parsers::targets(root);
    let mut outcome = ParserOutcome::default();
    for i in 0..inputs {
        let target = &targets[(i % targets.len() as u64) as usize];
        let seed = &target.seeds[rng.below(target.seeds.len())];
        let input = mutate(rng, seed);
        outcome.inputs += 1;
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&input))).is_err() {
            outcome.panics += 1;
            if outcome.samples.len() < 10 {
                outcome.samples.push(format!("{}: {:?}", target.name, String::from_utf8_lossy(&input)));
            }
        }
    }
    outcome
}
