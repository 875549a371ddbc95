//! The scaler's lease, as Lambda's scaler copies race for it: a tick takes
//! a group only if the lease is still the one it read with the nodes, so no
//! tick acts on nodes another tick changed after the read.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use streamfleet_core::names::GroupName;
use streamfleet_core::ports::{Inbox, ScalerStore};
use streamfleet_dynamo::DynamoStore;
use streamfleet_scenarios::scaling::simulated_group;
use streamfleet_scenarios::{spawn_app, TestApp};
use time::OffsetDateTime;

const GROUP: &str = "leased";

async fn group_and_stores(app: &TestApp, copies: usize) -> (GroupName, Vec<Arc<DynamoStore>>) {
    assert_eq!(app.create_group(&simulated_group(GROUP, 4)).await.status(), StatusCode::CREATED);
    let mut stores = Vec::new();
    // Each its own client, as each scaler copy has.
    for _ in 0..copies {
        stores.push(Arc::new(DynamoStore::new(app.dynamodb().await, app.config.table.clone())));
    }
    (GroupName::parse(GROUP).unwrap(), stores)
}

#[tokio::test]
async fn a_tick_whose_read_came_before_another_ticks_lease_does_not_take_the_group() {
    let app = spawn_app().await;
    let (group, stores) = group_and_stores(&app, 2).await;
    let (late, other) = (&stores[0], &stores[1]);
    let now = OffsetDateTime::now_utc();
    let until = now + Duration::from_secs(30);

    let stale = late.read_for_tick(&group).await.unwrap().expect("the group");
    assert_eq!(stale.lease.holder, None, "never ticked");

    // Another tick reads, takes, acts and releases in the meantime.
    let fresh = other.read_for_tick(&group).await.unwrap().unwrap();
    let (memory, _) =
        other.acquire_lease(&group, "other#0", &fresh.lease, now, until).await.unwrap().unwrap();
    other.release_lease(&group, "other#0", &memory, &Inbox::default()).await.unwrap();

    let taken = late.acquire_lease(&group, "late#0", &stale.lease, now, until).await.unwrap();
    assert!(taken.is_none(), "the read is from before the other tick's writes");

    // Read again, it takes the group: the lease it saw was released.
    let again = late.read_for_tick(&group).await.unwrap().unwrap();
    assert_eq!(again.lease.holder.as_deref(), Some("other#0"));
    assert!(!again.lease.is_live(now), "released");
    assert!(late.acquire_lease(&group, "late#1", &again.lease, now, until).await.unwrap().is_some());

    // Now held: a read sees it live, and a lease on that read fails too.
    let held = other.read_for_tick(&group).await.unwrap().unwrap();
    assert!(held.lease.is_live(now));
    assert!(other.acquire_lease(&group, "other#1", &held.lease, now, until).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_eight_scaler_copies_reading_and_leasing_at_once_one_takes_the_group() {
    let app = spawn_app().await;
    let (group, stores) = group_and_stores(&app, 8).await;
    let now = OffsetDateTime::now_utc();
    let until = now + Duration::from_secs(30);
    for round in 0..3 {
        let taken = join_all(stores.iter().enumerate().map(|(i, store)| {
            let (store, group) = (store.clone(), group.clone());
            async move {
                let view = store.read_for_tick(&group).await.unwrap().unwrap();
                let holder = format!("copy{i}#{round}");
                let taken = store.acquire_lease(&group, &holder, &view.lease, now, until).await.unwrap();
                taken.map(|(memory, _)| (store, holder, memory))
            }
        }))
        .await;
        let winners: Vec<_> = taken.into_iter().flatten().collect();
        assert_eq!(winners.len(), 1, "round {round}: one copy takes the group");
        let (store, holder, memory) = &winners[0];
        store.release_lease(&group, holder, memory, &Inbox::default()).await.unwrap();
    }
}
