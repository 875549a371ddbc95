//! The local stack's scenario, headless and short: simulated nodes and
//! players drive the real API while the scaler ticks; load rises ×8 in 5 s,
//! then leaves, while a busy edge is terminated out of band.

use std::time::Duration;

use reqwest::Method;
use streamfleet_local::api::Client;
use streamfleet_local::load::Curve;
use streamfleet_local::scenario::{self, Options};
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::{spawn_app_with, ADMIN_TOKEN};

const TICK: Duration = Duration::from_secs(2);
const HEARTBEAT: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_short_scenario_scales_out_on_time_cuts_nobody_and_returns_to_the_minimum() {
    let tuning = Tuning { heartbeat_interval: HEARTBEAT, stale_after: HEARTBEAT * 4, ..Tuning::default() };
    let app = spawn_app_with(tuning).await;
    let client = Client::new(&app.url, ADMIN_TOKEN);
    let ticker = {
        let client = client.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(TICK).await;
                let _ = client.admin(Method::POST, "/v1/scaler/tick", None).await;
            }
        })
    };
    let options = Options {
        curve: Curve::short(),
        tick: TICK,
        heartbeat: HEARTBEAT,
        view: false,
        lifecycle_demo: true,
    };
    let outcome = scenario::run(&client, &options).await.expect("the scenario runs");
    ticker.abort();
    // Printed whole: a failed assertion's message may be cut from a long log.
    println!("outcome: {outcome}");

    assert_eq!(outcome.cut, 0, "{outcome}");
    assert!(outcome.peak_edges >= 4, "scaled out for 160 viewers of 50 per edge: {outcome}");
    let delay = outcome.scale_out_delay_secs.expect("scaled out");
    // A heartbeat to report the load, then the next tick.
    assert!(delay <= (TICK + HEARTBEAT).as_secs_f64() + 1.0, "{outcome}");
    assert!(outcome.held >= 1, "the out-of-band termination was held: {outcome}");
    assert_eq!(outcome.final_edges, outcome.min_edges, "back to the minimum once the load ended: {outcome}");
    assert!(outcome.rejected * 100 <= outcome.joins.max(1) * 5, "{outcome}");
}
