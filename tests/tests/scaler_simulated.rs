//! The scaler on the simulated cloud: a provision pool of hosts that the
//! scaler takes and gives back, and nodes that report by heartbeat.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use streamfleet_core::service::GroupTickOutcome;
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::{action_types, host_report, simulated_group};
use streamfleet_scenarios::sdk_seam::{self, CallsByOperation};
use streamfleet_scenarios::{body, spawn_app, spawn_app_with, TestApp};

const GROUP: &str = "sim";

/// A group at its minimum: one origin and one edge, both enrolled.
/// Returns the edge's (id, token).
async fn at_minimum(app: &TestApp, edge_max: u32) -> (String, String) {
    app.add_pool_hosts(6, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group(GROUP, edge_max)).await.status(), StatusCode::CREATED);
    let first = app.tick(GROUP).await;
    assert_eq!(action_types(&first), ["launch", "launch"], "{first:?}");
    let origin = app.node_ids(GROUP, "origin", "pending").await.remove(0);
    let edge = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    app.enroll(GROUP, &origin, &host_report("origin", &origin)).await;
    let token = app.enroll(GROUP, &edge, &host_report("edge", &edge)).await;
    (edge, token)
}

fn load(role: &'static str, host: &str, subscribers: u32) -> Report {
    Report { subscribers, ..host_report(role, host) }
}

#[tokio::test]
async fn a_new_group_is_brought_to_its_minimum_from_the_pool() {
    let app = spawn_app().await;
    at_minimum(&app, 4).await;
    let in_use = app.pool().await.into_iter().filter(|h| h["state"] == "inUse").count();
    assert_eq!(in_use, 2);
    assert_eq!(
        app.node_ids(GROUP, "edge", "inService").await.len(),
        1,
        "a launched node enrolls on its first heartbeat"
    );
    assert_eq!(body(app.get_group(GROUP).await).await["nodeCount"], 2);
}

#[tokio::test]
async fn rising_load_scales_out_by_step_within_one_tick() {
    let app = spawn_app().await;
    let (edge, token) = at_minimum(&app, 4).await;
    app.report(GROUP, &edge, &token, &load("edge", &edge, 7)).await;
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["launch"]);
    assert_eq!(decisions[0]["role"], "edge");
    assert_eq!(decisions[0]["numbers"]["loadPct"], 70);
    assert!(decisions[0]["reason"].as_str().unwrap().contains("70%"));
    assert_eq!(app.node_ids(GROUP, "edge", "pending").await.len(), 1);
    assert_eq!(
        app.tick(GROUP).await,
        Vec::<serde_json::Value>::new(),
        "the warming node counts as capacity to come"
    );
}

#[tokio::test]
async fn falling_load_drains_the_emptiest_and_removes_it_only_once_empty() {
    let app = spawn_app().await;
    let (first, first_token) = at_minimum(&app, 4).await;
    app.report(GROUP, &first, &first_token, &load("edge", &first, 8)).await;
    app.tick(GROUP).await;
    let second = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    let second_token = app.enroll(GROUP, &second, &host_report("edge", &second)).await;

    // 3 + 1 sessions on 20: 20 %, below the scale-in threshold of 30 %,
    // and the first alone stays at 40 %, inside the 30–60 % band.
    app.report(GROUP, &first, &first_token, &load("edge", &first, 3)).await;
    app.report(GROUP, &second, &second_token, &load("edge", &second, 1)).await;
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["drain"]);
    assert_eq!(decisions[0]["action"]["node"], second.as_str(), "the emptiest");
    let answer = app.report(GROUP, &second, &second_token, &load("edge", &second, 1)).await;
    assert_eq!(answer["state"], "draining", "the node learns it drains from its heartbeat");

    assert_eq!(app.tick(GROUP).await.len(), 0, "kept while its viewers stay");

    app.report(GROUP, &second, &second_token, &load("edge", &second, 0)).await;
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["terminate"]);
    assert_eq!(decisions[0]["action"]["forced"], false);
    assert!(app.nodes(GROUP).await.iter().all(|n| n["nodeId"] != second.as_str()));
    let host = app.pool().await.into_iter().find(|h| h["hostId"] == second.as_str()).unwrap();
    assert_eq!(host["state"], "available", "the host goes back to the pool");
}

#[tokio::test]
async fn the_maximum_and_the_cooldowns_hold() {
    let app = spawn_app().await;
    let (edge, token) = at_minimum(&app, 1).await;
    app.report(GROUP, &edge, &token, &load("edge", &edge, 10)).await;
    assert_eq!(app.tick(GROUP).await.len(), 0, "at max");

    let cooled = spawn_app().await;
    cooled.add_pool_hosts(6, "eu-west-1").await;
    let mut spec = simulated_group(GROUP, 4);
    spec["roles"]["edge"]["scale"]["scaleOutCooldownSecs"] = json!(600);
    cooled.create_group(&spec).await;
    cooled.tick(GROUP).await;
    let edge = cooled.node_ids(GROUP, "edge", "pending").await.remove(0);
    let token = cooled.enroll(GROUP, &edge, &load("edge", &edge, 9)).await;
    cooled.report(GROUP, &edge, &token, &load("edge", &edge, 9)).await;
    // Inside the scale-out cooldown: what the seats in use need beyond the
    // capacity to come (one node at 60 %), not a step more, and once.
    let decisions = cooled.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["launch"], "{decisions:?}");
    assert_eq!(decisions[0]["action"]["count"], 1);
    assert!(decisions[0]["reason"].as_str().unwrap().contains("cooldown"), "{decisions:?}");
    assert_eq!(cooled.tick(GROUP).await.len(), 0, "the launch is capacity to come");
}

#[tokio::test]
async fn two_concurrent_ticks_act_once() {
    let app = spawn_app().await;
    app.add_pool_hosts(6, "eu-west-1").await;
    app.create_group(&simulated_group(GROUP, 4)).await;
    let ticks = (0..4).map(|_| app.admin(Method::POST, "/v1/scaler/tick").send());
    for response in join_all(ticks).await {
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    let events =
        body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/events")).send().await.unwrap()).await;
    let launches =
        events["items"].as_array().unwrap().iter().filter(|e| e["action"]["type"] == "launch").count();
    assert_eq!(launches, 2, "one origin and one edge, once: {events}");
    assert_eq!(app.nodes(GROUP).await.len(), 2);
}

#[tokio::test]
async fn the_decision_log_shows_when_what_why_and_the_numbers() {
    let app = spawn_app().await;
    at_minimum(&app, 4).await;
    let events =
        body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/events?limit=1")).send().await.unwrap())
            .await;
    let event = &events["items"][0];
    assert!(event["at"].is_string());
    assert_eq!(event["outcome"], "done: launched 1");
    assert!(event["reason"].as_str().unwrap().contains("below the minimum"));
    assert_eq!(event["numbers"]["min"], 1);
    let next = events["nextCursor"].as_str().expect("more events");
    let older = body(
        app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/events?cursor={next}")).send().await.unwrap(),
    )
    .await;
    assert_eq!(older["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dead_node_is_replaced_and_its_host_recycled_or_kept_for_the_operator() {
    let tuning = Tuning { dead_after: std::time::Duration::from_secs(1), ..Tuning::default() };
    let app = spawn_app_with(tuning).await;
    let (edge, _) = at_minimum(&app, 4).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let origin = app.node_ids(GROUP, "origin", "inService").await.remove(0);
    let decisions = app.tick(GROUP).await;
    let types = action_types(&decisions);
    assert!(
        types.starts_with(&["markDead".into(), "terminate".into(), "markDead".into(), "terminate".into()]),
        "{types:?}"
    );
    assert_eq!(types.iter().filter(|t| *t == "launch").count(), 2, "replaced up to the minimum: {types:?}");
    let pool = app.pool().await;
    for host in [&edge, &origin] {
        let state = &pool.iter().find(|h| h["hostId"] == host.as_str()).unwrap()["state"];
        assert!(state == "available" || state == "inUse", "recycled: {state}");
    }

    let keep = spawn_app_with(tuning).await;
    keep.add_pool_hosts(2, "eu-west-1").await;
    let mut spec = simulated_group(GROUP, 4);
    spec["recycleDeadNodes"] = json!(false);
    keep.create_group(&spec).await;
    keep.tick(GROUP).await;
    let edge = keep.node_ids(GROUP, "edge", "pending").await.remove(0);
    keep.enroll(GROUP, &edge, &host_report("edge", &edge)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    keep.tick(GROUP).await;
    let host = keep.pool().await.into_iter().find(|h| h["hostId"] == edge.as_str()).unwrap();
    assert_eq!(host["state"], "terminated");
    let reset = keep.admin(Method::POST, &format!("/v1/pool/hosts/{edge}/reset")).send().await.unwrap();
    assert_eq!(body(reset).await["state"], "available");
}

#[tokio::test]
async fn deleting_a_group_with_drain_empties_it_and_then_removes_it() {
    let app = spawn_app().await;
    at_minimum(&app, 4).await;
    let response =
        app.admin(Method::DELETE, &format!("/v1/nodegroups/{GROUP}?drain=true")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(action_types(&app.tick(GROUP).await), ["drain", "drain"]);
    assert_eq!(action_types(&app.tick(GROUP).await), ["terminate", "terminate"], "no session left");
    assert_eq!(action_types(&app.tick(GROUP).await), ["deleteGroup"]);
    assert_eq!(app.get_group(GROUP).await.status(), StatusCode::NOT_FOUND);
    assert!(app.pool().await.iter().all(|h| h["state"] == "available"));
}

/// A pool host is an operator's machine: its media server and agent keep
/// running while the scaler gives the host back and takes it again. The
/// token of its last enrollment then names an enrollment that is no more:
/// it is refused as revoked (what tells an agent to enroll again), and the
/// group's key enrolls the host as the new node.
#[tokio::test]
async fn a_host_given_back_and_taken_again_refuses_its_old_token_and_enrolls_anew_with_the_key() {
    let tuning = Tuning { dead_after: std::time::Duration::from_secs(1), ..Tuning::default() };
    let app = spawn_app_with(tuning).await;
    app.add_pool_hosts(2, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group(GROUP, 4)).await.status(), StatusCode::CREATED);
    app.tick(GROUP).await;
    let edge = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    let origin = app.node_ids(GROUP, "origin", "pending").await.remove(0);
    let old_token = app.enroll(GROUP, &edge, &host_report("edge", &edge)).await;
    app.enroll(GROUP, &origin, &host_report("origin", &origin)).await;
    // Silent past the dead window with no session: dead, its host given
    // back, and (two hosts in all) taken again for the replacements.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    app.tick(GROUP).await;
    let pending = app.nodes(GROUP).await;
    let again = pending.iter().find(|n| n["nodeId"] == edge.as_str() && n["state"] == "pending");
    let Some(again) = again else { panic!("the edge's host is taken again: {pending:?}") };
    // Taken again for whichever role needed it first.
    let role = if again["role"] == "origin" { "origin" } else { "edge" };

    let answer = app.heartbeat(GROUP, &edge, &old_token, &host_report(role, &edge).json()).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(answer).await["code"], "token_revoked");
    app.enroll(GROUP, &edge, &host_report(role, &edge)).await;
    assert_eq!(app.node_ids(GROUP, role, "inService").await, std::slice::from_ref(&edge));
}

#[tokio::test]
async fn a_seat_that_crosses_the_threshold_calls_the_scaler_without_waiting_for_a_tick() {
    // The local stack's wiring: lookups' calls go to the process's scaler.
    let app = spawn_app_with(Tuning { tick_calls_in_process: true, ..Tuning::default() }).await;
    let waited = streamfleet_scenarios::scaling::scale_out_reaction(&app, "react").await;
    eprintln!("scale-out reaction: {:.3} s", waited.as_secs_f64());
    // No scheduled tick runs here: only the lookup's call can have launched.
    assert!(waited < std::time::Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn a_tick_reads_the_group_with_its_nodes_in_one_query_and_makes_four_requests_on_the_table() {
    let app = spawn_app().await;
    at_minimum(&app, 4).await;
    // Another scaler process, whose every request is counted: the group's
    // partition holds the group, its pool-host markers and its nodes.
    let calls = CallsByOperation::tagging(sdk_seam::simulated_cloud_reads);
    let sdk = sdk_seam::through(&streamfleet_runtime::aws_config(&app.config).await, calls.clone());
    let state = streamfleet_runtime::app_state_with(&app.config, &sdk, aws_sdk_dynamodb::Client::new(&sdk))
        .expect("a scaler state");
    let group = streamfleet_core::names::GroupName::parse(GROUP.to_owned()).unwrap();
    let outcome = state.scaler.tick_one(&group).await.expect("the tick runs");
    let GroupTickOutcome::Ticked(decisions) = outcome else { panic!("not ticked: {outcome:?}") };
    assert!(decisions.is_empty(), "a group at its minimum is steady: {decisions:?}");
    let counts = calls.counts();
    assert_eq!(counts.get("GetItem"), None, "{counts:?}");
    assert_eq!(counts.get("Query"), Some(&1), "the group with its nodes: {counts:?}");
    assert_eq!(
        counts.get("Query (simulated cloud)"),
        Some(&1),
        "the simulated cloud's instances: {counts:?}"
    );
    assert_eq!(counts.get("UpdateItem"), Some(&2), "the lease and its release: {counts:?}");
    assert!(counts.get("PutItem").copied().unwrap_or(0) <= 1, "a series point at most: {counts:?}");
    assert_eq!(counts.values().sum::<u64>(), 4 + counts.get("PutItem").copied().unwrap_or(0), "{counts:?}");
}
