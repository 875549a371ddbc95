//! A tick has a deadline on Lambda (the function's timeout). It starts no
//! group it could not finish, it walks the groups from a different place
//! each time so that a short tick does not starve the same groups, and a
//! tick killed by its timeout holds no group past its deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use streamfleet_core::clock::{Clock, SystemClock};
use streamfleet_core::fleet::SimulatedFleet;
use streamfleet_core::group::{NodeGroup, Role};
use streamfleet_core::hooks::{HookAction, HookResult};
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::node::Node;
use streamfleet_core::page::PageSize;
use streamfleet_core::ports::{Fleet, FleetError, Instance, Synced};
use streamfleet_core::service::{Fleets, Scaler, ScalerSettings, ScalerStores};
use streamfleet_dynamo::DynamoStore;
use streamfleet_scenarios::scaling::simulated_group;
use streamfleet_scenarios::{spawn_app, TestApp};
use time::OffsetDateTime;

/// A clock that moves on by `step` every time it is read: each tick's work
/// takes time, deterministically.
struct SteppingClock {
    now: Mutex<OffsetDateTime>,
    step: Duration,
}

impl Clock for SteppingClock {
    fn now(&self) -> OffsetDateTime {
        let mut now = self.now.lock().unwrap();
        let read = *now;
        *now += self.step;
        read
    }
}

/// A cloud that never answers: a tick stuck in it is killed by its timeout.
struct SilentCloud;

#[async_trait]
impl Fleet for SilentCloud {
    async fn sync(&self, _: &NodeGroup) -> Result<Synced, FleetError> {
        std::future::pending().await
    }
    async fn launch(&self, _: &NodeGroup, _: Role, _: &Region, _: u32) -> Result<Vec<Instance>, FleetError> {
        std::future::pending().await
    }
    async fn set_protection(&self, _: &NodeGroup, _: &Node, _: bool) -> Result<(), FleetError> {
        std::future::pending().await
    }
    async fn terminate(&self, _: &NodeGroup, _: &Node, _: bool) -> Result<(), FleetError> {
        std::future::pending().await
    }
    async fn keep_action(&self, _: &HookAction) -> Result<(), FleetError> {
        std::future::pending().await
    }
    async fn complete_action(&self, _: &HookAction, _: HookResult) -> Result<(), FleetError> {
        std::future::pending().await
    }
}

async fn store(app: &TestApp) -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(app.dynamodb().await, app.config.table.clone()))
}

fn scaler(
    store: &Arc<DynamoStore>,
    cloud: Arc<dyn Fleet>,
    clock: Arc<dyn Clock>,
    settings: ScalerSettings,
) -> Scaler {
    let fleets = Fleets { aws: None, simulated: cloud };
    Scaler::new(
        ScalerStores::all_in(store.clone()),
        fleets,
        clock,
        settings,
        format!("test-{}", uuid::Uuid::new_v4()),
    )
}

async fn groups(app: &TestApp, count: usize) -> Vec<String> {
    let names: Vec<String> = (0..count).map(|i| format!("live-{i:02}")).collect();
    for name in &names {
        assert_eq!(app.create_group(&simulated_group(name, 4)).await.status(), StatusCode::CREATED);
    }
    names
}

async fn has_decisions(scaler: &Scaler, name: &str) -> bool {
    let page = scaler
        .decisions(&GroupName::parse(name).unwrap(), None, PageSize::parse(Some(1)).unwrap())
        .await
        .unwrap()
        .expect("the group exists");
    !page.items.is_empty()
}

#[tokio::test]
async fn a_tick_too_close_to_its_deadline_starts_no_group_and_leaves_each_free_for_the_next() {
    let app = spawn_app().await;
    let names = groups(&app, 3).await;
    let store = store(&app).await;
    let settings = ScalerSettings::default();
    let simulated = Arc::new(SimulatedFleet::new(store.clone()));
    let scaler = scaler(&store, simulated, Arc::new(SystemClock), settings);

    let deadline = OffsetDateTime::now_utc() + settings.group_reserve / 2;
    let report = scaler.tick_until(Some(deadline)).await.unwrap();
    assert_eq!((report.groups, report.deferred, report.decisions), (3, 3, 0), "{report:?}");

    let next = scaler.tick().await.unwrap();
    assert_eq!((next.groups, next.skipped, next.deferred), (3, 0, 0), "no lease was left behind: {next:?}");
    for name in &names {
        assert!(has_decisions(&scaler, name).await, "{name} was ticked");
    }
}

#[tokio::test]
async fn ticks_cut_short_by_their_deadline_reach_every_group_in_turn() {
    let app = spawn_app().await;
    let names = groups(&app, 8).await;
    let store = store(&app).await;
    let settings = ScalerSettings { concurrency: 1, ..ScalerSettings::default() };
    let simulated: Arc<dyn Fleet> = Arc::new(SimulatedFleet::new(store.clone()));
    let started = OffsetDateTime::now_utc();
    let mut deferred = 0;
    for hour in 0..30 {
        let start = started + Duration::from_secs(3600 * hour);
        let clock = Arc::new(SteppingClock { now: Mutex::new(start), step: Duration::from_secs(1) });
        let scaler = scaler(&store, simulated.clone(), clock, settings);
        // Time for a few groups, not for eight.
        let report =
            scaler.tick_until(Some(start + settings.group_reserve + Duration::from_secs(12))).await.unwrap();
        assert!(report.deferred > 0 && report.deferred < 8, "the budget cut this tick short: {report:?}");
        deferred += report.deferred;
    }
    let observer = scaler(&store, simulated, Arc::new(SystemClock), settings);
    for name in &names {
        assert!(
            has_decisions(&observer, name).await,
            "{name} was reached by some tick ({deferred} deferrals)"
        );
    }
}

#[tokio::test]
async fn a_tick_killed_by_its_timeout_holds_its_groups_no_longer_than_its_deadline() {
    let app = spawn_app().await;
    groups(&app, 1).await;
    let store = store(&app).await;
    let settings = ScalerSettings { group_reserve: Duration::from_millis(500), ..ScalerSettings::default() };
    let stuck = scaler(&store, Arc::new(SilentCloud), Arc::new(SystemClock), settings);
    let deadline = OffsetDateTime::now_utc() + Duration::from_secs(3);
    // Lambda ends the invocation at its deadline, wherever the tick is.
    let killed = tokio::time::timeout(Duration::from_secs(1), stuck.tick_until(Some(deadline))).await;
    assert!(killed.is_err(), "the tick was stuck in the cloud");

    let simulated = Arc::new(SimulatedFleet::new(store.clone()));
    let next = scaler(&store, simulated, Arc::new(SystemClock), settings);
    assert_eq!(next.tick().await.unwrap().skipped, 1, "the killed tick's lease still runs");
    let wait = deadline - OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::try_from(wait).unwrap_or_default() + Duration::from_millis(200)).await;
    let after = next.tick().await.unwrap();
    assert_eq!((after.skipped, after.decisions > 0), (0, true), "free at the deadline: {after:?}");
}
