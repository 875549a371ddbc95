//! The short fuzz run of `make test` (`make fuzz` runs the long one).

use streamfleet_fuzz::mutate::Rng;
use streamfleet_fuzz::{count_panics, fuzz_parsers, panics, router};

#[tokio::test]
async fn mutated_inputs_and_requests_never_panic_nor_get_a_server_error() {
    let root = streamfleet_scenarios::repo_root();
    count_panics();
    // A new seed every run: a finding names it, and `make fuzz --seed` replays it.
    let seed = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    let mut rng = Rng::new(seed);
    let parsed = fuzz_parsers(&mut rng, &root, 40_000);
    assert_eq!(parsed.panics, 0, "seed {seed}: {:?}", parsed.samples);
    let routed = router::fuzz_router(&mut rng, &root, 400).await;
    assert_eq!(routed.server_errors + routed.errors_without_code, 0, "seed {seed}: {:?}", routed.samples);
    assert_eq!(panics(), 0, "seed {seed}");
}
