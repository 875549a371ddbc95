//! The scaler on EC2 Auto Scaling, against the emulator's ASG and EC2 APIs.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use streamfleet_core::service::HookOutcome;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::{action_types, aws_group, AWS_REGION};
use streamfleet_scenarios::{spawn_app, TestApp};

/// ASG names are account-wide, and tests share one emulator: each test's
/// group gets a name of its own.
fn unique_group() -> String {
    format!("aws-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn edge_asg(group: &str) -> String {
    format!("sf-{group}-edge-{AWS_REGION}")
}

fn report(role: &'static str, subscribers: u32) -> Report {
    Report { subscribers, ..Report::new(role, AWS_REGION, "198.51.100.20") }
}

/// The group at its minimum, its instances enrolled; the edge's (id, token).
async fn at_minimum(app: &TestApp, group: &str) -> (String, String) {
    let image = app.some_image().await;
    assert_eq!(app.create_group(&aws_group(group, &image)).await.status(), StatusCode::CREATED);
    assert_eq!(action_types(&app.tick(group).await), ["launch", "launch"]);
    assert_eq!(app.asg(&edge_asg(group)).await.0, 1, "desired capacity raised");
    let adopted = app.tick(group).await;
    assert_eq!(action_types(&adopted), ["adopt", "adopt"], "the ASG's instances are listed as pending");
    let origin = app.node_ids(group, "origin", "pending").await.remove(0);
    let edge = app.node_ids(group, "edge", "pending").await.remove(0);
    assert!(edge.starts_with("i-"), "nodes are EC2 instances: {edge}");
    app.enroll(group, &origin, &report("origin", 0)).await;
    let token = app.enroll(group, &edge, &report("edge", 0)).await;
    (edge, token)
}

#[tokio::test]
async fn rising_load_raises_desired_capacity_by_step_within_one_tick() {
    let app = spawn_app().await;
    let group = &unique_group();
    let (edge, token) = at_minimum(&app, group).await;
    app.report(group, &edge, &token, &report("edge", 7)).await;
    assert_eq!(action_types(&app.tick(group).await), ["launch"]);
    assert_eq!(app.asg(&edge_asg(group)).await.0, 2);
}

#[tokio::test]
async fn nodes_with_sessions_are_protected_and_a_drained_one_goes_only_once_empty() {
    let app = spawn_app().await;
    let group = &unique_group();
    let (first, first_token) = at_minimum(&app, group).await;
    app.report(group, &first, &first_token, &report("edge", 8)).await;
    app.tick(group).await;
    app.tick(group).await;
    let second = app.node_ids(group, "edge", "pending").await.remove(0);
    let second_token = app.enroll(group, &second, &report("edge", 0)).await;

    // 4 sessions on 20: the first alone stays at 40 %, inside the band.
    app.report(group, &first, &first_token, &report("edge", 3)).await;
    app.report(group, &second, &second_token, &report("edge", 1)).await;
    let decisions = app.tick(group).await;
    assert_eq!(action_types(&decisions), ["drain"]);
    assert_eq!(decisions[0]["action"]["node"], second.as_str());
    let (_, instances) = app.asg(&edge_asg(group)).await;
    assert!(instances.iter().all(|(_, protected)| *protected), "both carry sessions: {instances:?}");

    app.report(group, &second, &second_token, &report("edge", 1)).await;
    assert_eq!(app.tick(group).await.len(), 0, "kept while viewers remain");

    app.report(group, &second, &second_token, &report("edge", 0)).await;
    assert_eq!(action_types(&app.tick(group).await), ["terminate"]);
    let (desired, instances) = app.asg(&edge_asg(group)).await;
    assert_eq!(desired, 1, "terminated with decrement");
    assert_eq!(instances.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), [first.as_str()]);
    assert!(instances[0].1, "the node with viewers stays protected");
}

#[tokio::test]
async fn protection_is_lifted_once_a_node_has_no_session() {
    let app = spawn_app().await;
    let group = &unique_group();
    let (edge, token) = at_minimum(&app, group).await;
    app.report(group, &edge, &token, &report("edge", 2)).await;
    app.tick(group).await;
    assert!(app.asg(&edge_asg(group)).await.1.iter().any(|(id, p)| id == &edge && *p));
    app.report(group, &edge, &token, &report("edge", 0)).await;
    app.tick(group).await;
    assert!(app.asg(&edge_asg(group)).await.1.iter().any(|(id, p)| id == &edge && !*p));
}

#[tokio::test]
async fn concurrent_ticks_raise_desired_capacity_once() {
    let app = spawn_app().await;
    let group = &unique_group();
    let image = app.some_image().await;
    app.create_group(&aws_group(group, &image)).await;
    let ticks = (0..4).map(|_| app.admin(Method::POST, "/v1/scaler/tick").send());
    for response in join_all(ticks).await {
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(app.asg(&edge_asg(group)).await.0, 1);
}

#[tokio::test]
async fn the_scale_out_cooldown_holds_on_aws_too() {
    let app = spawn_app().await;
    let group = &unique_group();
    let image = app.some_image().await;
    let mut spec = aws_group(group, &image);
    spec["roles"]["edge"]["scale"]["scaleOutCooldownSecs"] = serde_json::json!(600);
    app.create_group(&spec).await;
    app.tick(group).await;
    app.tick(group).await;
    let edge = app.node_ids(group, "edge", "pending").await.remove(0);
    let token = app.enroll(group, &edge, &report("edge", 9)).await;
    app.report(group, &edge, &token, &report("edge", 9)).await;
    // Inside the scale-out cooldown the minimum's launch started: what the
    // seats in use need beyond it is bought once, never a step more.
    let decisions = app.tick(group).await;
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert!(decisions[0]["reason"].as_str().unwrap().contains("cooldown"), "{decisions:?}");
    let desired = app.asg(&edge_asg(group)).await.0;
    let next = app.tick(group).await;
    assert!(
        !next.iter().any(|d| d["action"]["type"] == "launch"),
        "the launch is capacity to come: {next:?}"
    );
    assert_eq!(app.asg(&edge_asg(group)).await.0, desired);
    assert!(desired >= 2, "{desired}");
}

#[tokio::test]
async fn the_asgs_get_both_lifecycle_hooks_naming_their_group() {
    let app = spawn_app().await;
    let group = &unique_group();
    at_minimum(&app, group).await;
    let hooks = app
        .autoscaling()
        .await
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(edge_asg(group))
        .send()
        .await
        .unwrap();
    let mut found: Vec<_> = hooks
        .lifecycle_hooks()
        .iter()
        // moto keeps no NotificationMetadata: its format is unit-tested in aws-fleet.
        .map(|h| {
            (
                h.lifecycle_hook_name().unwrap().to_owned(),
                h.lifecycle_transition().unwrap().to_owned(),
                h.default_result().unwrap().to_owned(),
                h.heartbeat_timeout(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("sf-launch".into(), "autoscaling:EC2_INSTANCE_LAUNCHING".into(), "ABANDON".into(), Some(300)),
            (
                "sf-terminate".into(),
                "autoscaling:EC2_INSTANCE_TERMINATING".into(),
                "CONTINUE".into(),
                Some(300)
            ),
        ]
    );
}

#[tokio::test]
async fn a_role_s_warm_pool_is_put_on_its_asg_changed_with_the_spec_and_deleted_without_it() {
    use aws_sdk_autoscaling::types::WarmPoolState;
    let app = spawn_app().await;
    let group = &unique_group();
    let mut spec = aws_group(group, &app.some_image().await);
    spec["roles"]["edge"]["warmPool"] = json!({"minSize": 1, "reuseOnScaleIn": true});
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    app.tick(group).await;
    let pool = app.warm_pool(&edge_asg(group)).await.expect("the edge ASG has a warm pool");
    let max = spec["roles"]["edge"]["scale"]["max"].as_i64().unwrap() as i32;
    assert_eq!(
        (pool.min_size(), pool.max_group_prepared_capacity(), pool.pool_state()),
        (Some(1), Some(max), Some(&WarmPoolState::Stopped)),
        "stopped by default, sized to the role's max, not the ASG's (twice it)"
    );
    assert_eq!(pool.instance_reuse_policy().and_then(|p| p.reuse_on_scale_in()), Some(true));
    assert!(app.warm_pool(&format!("sf-{group}-origin-{AWS_REGION}")).await.is_none(), "the origin has none");

    // An instance entering the pool (moto runs none: the event is played)
    // is listed while it initialises, and not forgotten by the tick though
    // the ASG does not list it.
    let mut entering = streamfleet_scenarios::eventbridge_fixture("lifecycle-launch-into-warm-pool");
    entering["detail"]["AutoScalingGroupName"] = json!(edge_asg(group));
    entering["detail"]["NotificationMetadata"] =
        json!(json!({"group": group, "role": "edge", "region": AWS_REGION, "heartbeatTimeoutSecs": 300})
            .to_string());
    let state = streamfleet_scenarios::state(&app.config).await;
    let event = streamfleet_runtime::parse_lifecycle_event(&entering).unwrap();
    assert_eq!(state.scaler.hooks().on_event(event).await.unwrap(), HookOutcome::Held);
    let decisions = app.tick(group).await;
    assert!(!action_types(&decisions).contains(&"forget".to_owned()), "{decisions:?}");
    assert_eq!(app.node_ids(group, "edge", "pooling").await.len(), 1, "still listed, initialising");

    let hibernated = json!({"roles": {"edge": {"warmPool": {"minSize": 2, "state": "hibernated"}}}});
    assert_eq!(app.patch_group(group, &hibernated).await.status(), StatusCode::OK);
    app.tick(group).await;
    let pool = app.warm_pool(&edge_asg(group)).await.unwrap();
    assert_eq!((pool.min_size(), pool.pool_state()), (Some(2), Some(&WarmPoolState::Hibernated)));

    let none = json!({"roles": {"edge": {"warmPool": null}}});
    assert_eq!(app.patch_group(group, &none).await.status(), StatusCode::OK);
    app.tick(group).await;
    assert!(app.warm_pool(&edge_asg(group)).await.is_none(), "deleted with the spec's pool");
}

#[tokio::test]
async fn a_missing_hook_is_put_back_by_the_next_process() {
    let app = spawn_app().await;
    let group = &unique_group();
    at_minimum(&app, group).await;
    let autoscaling = app.autoscaling().await;
    autoscaling
        .delete_lifecycle_hook()
        .auto_scaling_group_name(edge_asg(group))
        .lifecycle_hook_name("sf-terminate")
        .send()
        .await
        .unwrap();
    // A cold start: a new process checks each ASG's hooks once.
    let fresh = streamfleet_scenarios::state(&app.config).await;
    let name = streamfleet_core::names::GroupName::parse(group.as_str()).unwrap();
    fresh.scaler.tick_one(&name).await.expect("the tick runs");
    let hooks =
        autoscaling.describe_lifecycle_hooks().auto_scaling_group_name(edge_asg(group)).send().await.unwrap();
    let mut names: Vec<_> = hooks.lifecycle_hooks().iter().filter_map(|h| h.lifecycle_hook_name()).collect();
    names.sort();
    assert_eq!(names, ["sf-launch", "sf-terminate"]);
}

#[tokio::test]
async fn one_role_the_cloud_fails_on_is_logged_and_the_other_roles_still_scale() {
    let app = spawn_app().await;
    let group = unique_group();
    let image = app.some_image().await;
    let mut spec = aws_group(&group, &image);
    // A launch template that exists nowhere (say, only in another region).
    let edge_launch = spec["roles"]["edge"]["launch"].as_object_mut().unwrap();
    edge_launch.remove("imageId");
    edge_launch.insert("launchTemplate".into(), serde_json::json!({"name": format!("missing-{group}")}));
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);

    let decisions = app.tick(&group).await;
    let mut types = action_types(&decisions);
    types.sort();
    assert_eq!(types, ["launch", "syncFailed"], "{decisions:?}");
    let failed = decisions.iter().find(|d| d["action"]["type"] == "syncFailed").unwrap();
    assert_eq!(failed["role"], "edge");
    assert!(failed["outcome"].as_str().unwrap().starts_with("failed: "), "{failed}");
    let launch = decisions.iter().find(|d| d["action"]["type"] == "launch").unwrap();
    assert_eq!(launch["role"], "origin");
    assert_eq!(app.asg(&format!("sf-{group}-origin-{AWS_REGION}")).await.0, 1);
    // The same failure next tick is not news; its end is.
    assert!(!action_types(&app.tick(&group).await).contains(&"syncFailed".to_owned()), "said once");
    let fixed = json!({"roles": {"edge": {"launch": {"launchTemplate": null, "imageId": image}}}});
    assert_eq!(app.patch_group(&group, &fixed).await.status(), StatusCode::OK);
    let decisions = app.tick(&group).await;
    let recovered =
        decisions.iter().find(|d| d["action"]["type"] == "syncRecovered").expect("said when it clears");
    assert_eq!((recovered["role"].as_str(), recovered["action"]["ticks"].as_u64()), (Some("edge"), Some(2)));
}

#[tokio::test]
async fn an_edge_the_cloud_interrupts_at_the_role_s_max_is_replaced_at_once_and_goes_once_empty() {
    use streamfleet_core::hooks::{InterruptionKind, LifecycleEvent};
    use streamfleet_core::names::NodeId;

    let app = spawn_app().await;
    let group = &unique_group();
    let image = app.some_image().await;
    let mut spec = aws_group(group, &image);
    spec["roles"]["edge"]["scale"]["max"] = serde_json::json!(1);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    app.tick(group).await;
    app.tick(group).await;
    let origin = app.node_ids(group, "origin", "pending").await.remove(0);
    let edge = app.node_ids(group, "edge", "pending").await.remove(0);
    app.enroll(group, &origin, &report("origin", 0)).await;
    let token = app.enroll(group, &edge, &report("edge", 0)).await;
    app.report(group, &edge, &token, &report("edge", 6)).await;

    // EC2's Spot warning for the edge, as the lifecycle function gets it.
    let lifecycle = streamfleet_scenarios::state(&app.config).await;
    let warning = LifecycleEvent::Interruption {
        instance: NodeId::parse(&edge).unwrap(),
        kind: InterruptionKind::SpotInterruption,
    };
    lifecycle.scaler.hooks().on_event(warning).await.unwrap();

    // Its six viewers need room now: a replacement, although the role is at
    // its max of one (the interrupted edge no longer counts).
    assert_eq!(action_types(&app.tick(group).await), ["launch"]);
    assert_eq!(app.asg(&edge_asg(group)).await.0, 2, "the ASG has room above the role's max for it");
    app.report(group, &edge, &token, &report("edge", 0)).await;
    let decisions = app.tick(group).await;
    assert!(action_types(&decisions).contains(&"terminate".to_owned()), "{decisions:?}");
    assert!(!app.nodes(group).await.iter().any(|n| n["nodeId"] == edge.as_str() && n["state"] == "draining"));
}
