//! Credentials that can be taken back: forgetting a node revokes its token
//! for good, and a group created again under an old name refuses the old
//! group's enrollment keys.

use reqwest::{Method, StatusCode};
use streamfleet_core::heartbeat::HeartbeatReport;
use streamfleet_core::ports::{NodeLifecycleStore, NodeStore, StoreError};
use streamfleet_scenarios::nodes::{stored_edge, Report};
use streamfleet_scenarios::{body, group_spec, spawn_app};

fn edge() -> Report {
    Report::new("edge", "eu-west-1", "203.0.113.10")
}

#[tokio::test]
async fn a_forgotten_nodes_token_never_reports_again_even_once_the_same_id_enrolls_anew() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live-eu")).await;
    let leaked = app.enroll("live-eu", "i-0aaa", &edge()).await;

    let path = "/v1/nodegroups/live-eu/nodes/i-0aaa";
    assert_eq!(app.anonymous(Method::DELETE, path).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.admin(Method::DELETE, path).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(body(app.get_group("live-eu").await).await["nodeCount"], 0);
    let gone = app.admin(Method::DELETE, path).send().await.unwrap();
    assert_eq!(
        (gone.status(), body(gone).await["code"].clone()),
        (StatusCode::NOT_FOUND, "node_not_found".into())
    );

    let forgotten = app.heartbeat("live-eu", "i-0aaa", &leaked, &edge().json()).await;
    assert_eq!(forgotten.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(forgotten).await["code"], "node_unknown");

    let fresh = app.enroll("live-eu", "i-0aaa", &edge()).await;
    assert_ne!(fresh, leaked);
    let revoked = app.heartbeat("live-eu", "i-0aaa", &leaked, &edge().json()).await;
    assert_eq!(revoked.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(revoked).await["code"], "token_revoked");
    app.report("live-eu", "i-0aaa", &fresh, &edge()).await;
}

#[tokio::test]
async fn a_group_created_again_under_its_old_name_refuses_the_old_groups_key() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live-eu")).await;
    let old_key = app.enrollment_key("live-eu").await;
    let deleted = app.admin(Method::DELETE, "/v1/nodegroups/live-eu").send().await.unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    app.create_group(&group_spec("live-eu")).await;

    let refused = app.heartbeat("live-eu", "i-0aaa", &old_key, &edge().json()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(refused).await["code"], "stale_enrollment_key");
    let new_key = app.enrollment_key("live-eu").await;
    assert_ne!(new_key, old_key, "same name, same generation, another incarnation");
    assert_eq!(
        app.heartbeat("live-eu", "i-0aaa", &new_key, &edge().json()).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_token_from_before_nonces_never_reports_for_a_row_waiting_for_its_first_report() {
    // Such a token is for a row enrolled before nonces; a forgotten node's
    // instance listed again by the scaler waits, pending, for the real
    // agent's first report, and a leaked old token must not take it.
    let app = spawn_app().await;
    app.create_group(&group_spec("live-eu")).await;
    let store = streamfleet_dynamo::DynamoStore::new(app.dynamodb().await, app.config.table.clone());
    let now = time::OffsetDateTime::now_utc();
    let pending = stored_edge("live-eu", "i-0aaa", None);
    store.add_launched(&pending, now + time::Duration::hours(1)).await.unwrap();
    let report: HeartbeatReport = serde_json::from_value(edge().json()).unwrap();
    let legacy = store
        .record_heartbeat(&pending.group, &pending.node_id, "", &report, now, now + time::Duration::hours(1))
        .await;
    assert!(matches!(legacy, Err(StoreError::Conflict)), "{legacy:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_in_flight_while_a_node_is_forgotten_never_bring_its_row_back() {
    // Two API processes, as two Lambda copies: one forgets the node while
    // the other takes its heartbeats, a burst of them in flight at once.
    let admin = spawn_app().await;
    admin.create_group(&group_spec("live-eu")).await;
    let token = admin.enroll("live-eu", "i-0aaa", &edge()).await;
    let node_side = streamfleet_scenarios::serve_router(
        admin.config.clone(),
        streamfleet_http::heartbeat_app(streamfleet_scenarios::state(&admin.config).await),
    )
    .await;
    let beats = (0..24).map(|i| {
        let (node_side, token) = (&node_side, token.clone());
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(i * 5)).await;
            node_side.heartbeat("live-eu", "i-0aaa", &token, &edge().json()).await.status()
        }
    });
    let forget = async {
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        admin.admin(Method::DELETE, "/v1/nodegroups/live-eu/nodes/i-0aaa").send().await.unwrap().status()
    };
    let (statuses, forgotten) = tokio::join!(futures::future::join_all(beats), forget);
    assert_eq!(forgotten, StatusCode::NO_CONTENT);
    // Each beat was taken before the forget, or refused after it; none
    // wrote the row again, nor counted it twice.
    assert!(
        statuses.iter().all(|s| [StatusCode::OK, StatusCode::CONFLICT, StatusCode::NOT_FOUND].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(body(admin.get_group("live-eu").await).await["nodeCount"], 0);
    let row = admin.admin(Method::GET, "/v1/nodegroups/live-eu/nodes/i-0aaa").send().await.unwrap();
    assert_eq!(row.status(), StatusCode::NOT_FOUND);
    let after = admin.heartbeat("live-eu", "i-0aaa", &token, &edge().json()).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND, "the forgotten token reports no more");
}
