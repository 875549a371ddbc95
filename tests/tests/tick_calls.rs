//! Lookups' calls for a tick, as Lambda runs them: many lookup instances,
//! each with its own DynamoDB client, calling for one group at the same
//! moment. The conditional write lets one call per window through, whoever
//! makes it (on AWS that write is what invokes the scaler), failing and
//! lost writes included.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use streamfleet_core::names::GroupName;
use streamfleet_core::ports::TickRequests;
use streamfleet_core::service::TICK_CALL_WINDOW;
use streamfleet_dynamo::DynamoStore;
use streamfleet_runtime::aws_config;
use streamfleet_scenarios::chaos::faults::Faults;
use streamfleet_scenarios::fresh_config;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_lookup_instances_calling_at_once_make_one_call_per_window() {
    let config = fresh_config().await;
    let sdk = aws_config(&config).await;
    // Eight instances, each its own client, as eight Lambda copies.
    let instances: Vec<Arc<DynamoStore>> = (0..8)
        .map(|_| Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone())))
        .collect();
    let group = GroupName::parse("crowd").unwrap();
    let t0 = time::OffsetDateTime::now_utc();
    let storm = |at: time::OffsetDateTime| {
        join_all(instances.iter().flat_map(|store| {
            let group = group.clone();
            (0..4).map(move |i| {
                let store = store.clone();
                let group = group.clone();
                async move {
                    let now = at + Duration::from_millis(i * 100);
                    store.request_tick(&group, now, TICK_CALL_WINDOW).await.expect("the write is answered")
                }
            })
        }))
    };
    let counted = |calls: Vec<bool>| calls.into_iter().filter(|c| *c).count();
    assert_eq!(counted(storm(t0).await), 1, "32 calls within one window: one counts");
    assert_eq!(counted(storm(t0 + Duration::from_secs(2)).await), 0, "still within the window");
    assert_eq!(
        counted(storm(t0 + TICK_CALL_WINDOW + Duration::from_secs(1)).await),
        1,
        "the next window: one"
    );
    // Another group's calls are its own.
    let other = GroupName::parse("quiet").unwrap();
    assert!(instances[0].request_tick(&other, t0, TICK_CALL_WINDOW).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_failing_and_lost_writes_no_window_lets_two_calls_through() {
    let config = fresh_config().await;
    let sdk = aws_config(&config).await;
    // A third of the calls fail, throttle, time out or lose the answer of
    // an applied write; each instance has its own faults and client.
    let faults: Vec<Faults> = (0..8).map(|seed| Faults::new(seed, 300)).collect();
    let instances: Vec<Arc<DynamoStore>> = faults
        .iter()
        .map(|faults| {
            faults.set_on(true);
            let faulted = faults.wrap(&sdk);
            Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&faulted), config.table.clone()))
        })
        .collect();
    let group = GroupName::parse("crowd").unwrap();
    let t0 = time::OffsetDateTime::now_utc();
    for window in 0..5u64 {
        let at = t0 + (TICK_CALL_WINDOW + Duration::from_secs(1)) * window as u32;
        let calls = join_all(instances.iter().map(|store| {
            let (store, group) = (store.clone(), group.clone());
            // A failed call is left to the schedule; only counted ones matter.
            async move { store.request_tick(&group, at, TICK_CALL_WINDOW).await.unwrap_or(false) }
        }))
        .await;
        let counted = calls.into_iter().filter(|c| *c).count();
        assert!(counted <= 1, "window {window}: {counted} calls counted");
    }
    assert!(faults.iter().map(Faults::injected).sum::<u64>() > 0, "faults were injected");
}
