//! Driving the scaler in tests: a simulated-cloud group, its pool, ticks.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use crate::nodes::Report;
use crate::{body, group_spec, TestApp};

/// A simulated-cloud group in eu-west-1: origins 1–2 (capacity 100), edges
/// 1–`edge_max` (capacity 10, step 1, thresholds 60/30 %), no cooldowns unless
/// set, no warm-up (so no growth is projected: these scenarios take one step
/// at a time; the plan's own tests cover sizing).
pub fn simulated_group(name: &str, edge_max: u32) -> Value {
    let mut spec = group_spec(name);
    spec["selfManagedNodes"] = json!(false);
    spec["cloud"] = json!("simulated");
    spec["regions"] = json!([{"region": "eu-west-1"}]);
    spec["roles"] = json!({
        "origin": {
            "launch": {"instanceType": "c6i.large", "connectionCapacity": 100},
            "scale": {"min": 1, "max": 2, "scaleOutCooldownSecs": 0, "scaleInCooldownSecs": 0}
        },
        "edge": {
            "launch": {"instanceType": "c6i.large", "connectionCapacity": 10},
            "scale": {"min": 1, "max": edge_max, "step": 1, "scaleOutCooldownSecs": 0, "scaleInCooldownSecs": 0,
                      "scaleOutThresholdPct": 60, "scaleInThresholdPct": 30, "warmupSecs": 0}
        }
    });
    spec
}

impl TestApp {
    pub async fn add_pool_hosts(&self, count: usize, region: &str) {
        for i in 0..count {
            let host =
                json!({"hostId": format!("h-{i}"), "region": region, "address": format!("10.0.0.{i}")});
            let response = self.admin(Method::POST, "/v1/pool/hosts").json(&host).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
        }
    }

    pub async fn pool(&self) -> Vec<Value> {
        body(self.admin(Method::GET, "/v1/pool/hosts").send().await.unwrap())
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// One scaler tick of the group; returns its decisions.
    pub async fn tick(&self, group: &str) -> Vec<Value> {
        let response =
            self.admin(Method::POST, &format!("/v1/nodegroups/{group}/tick")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        body(response).await.as_array().unwrap().clone()
    }

    pub async fn nodes(&self, group: &str) -> Vec<Value> {
        let page =
            body(self.admin(Method::GET, &format!("/v1/nodegroups/{group}/nodes")).send().await.unwrap())
                .await;
        page["items"].as_array().unwrap().clone()
    }

    /// The ids of the group's nodes of a role in a state.
    pub async fn node_ids(&self, group: &str, role: &str, state: &str) -> Vec<String> {
        self.nodes(group)
            .await
            .into_iter()
            .filter(|n| n["role"] == role && n["state"] == state)
            .map(|n| n["nodeId"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The actions of some decisions, as `type` strings.
pub fn action_types(decisions: &[Value]) -> Vec<String> {
    decisions.iter().map(|d| d["action"]["type"].as_str().unwrap().to_owned()).collect()
}

/// A pool host's report as a node of `role`, by its host id.
pub fn host_report(role: &'static str, host: &str) -> Report {
    let address = format!("10.0.0.{}", host.trim_start_matches("h-"));
    Report::new(role, "eu-west-1", &address)
}

/// The moto region the AWS scenarios run in.
pub const AWS_REGION: &str = "us-east-1";

impl TestApp {
    pub async fn autoscaling(&self) -> aws_sdk_autoscaling::Client {
        let sdk = streamfleet_runtime::aws_config(&self.config).await;
        let config = aws_sdk_autoscaling::config::Builder::from(&sdk).region(aws_config_region()).build();
        aws_sdk_autoscaling::Client::from_conf(config)
    }

    /// An AMI the emulator knows.
    pub async fn some_image(&self) -> String {
        let sdk = streamfleet_runtime::aws_config(&self.config).await;
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&sdk).region(aws_config_region()).build(),
        );
        let images = ec2.describe_images().owners("amazon").send().await.unwrap();
        images.images().iter().filter_map(|i| i.image_id()).find(|id| id.len() <= 21).unwrap().to_owned()
    }

    /// The ASG's desired capacity and its instances as (id, protected).
    /// The ASG's warm pool, as `DescribeWarmPool` gives it.
    pub async fn warm_pool(&self, name: &str) -> Option<aws_sdk_autoscaling::types::WarmPoolConfiguration> {
        let output =
            self.autoscaling().await.describe_warm_pool().auto_scaling_group_name(name).send().await.unwrap();
        output.warm_pool_configuration().cloned()
    }

    pub async fn asg(&self, name: &str) -> (i32, Vec<(String, bool)>) {
        let output = self
            .autoscaling()
            .await
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .unwrap();
        let asg = output.auto_scaling_groups().first().expect("the ASG exists").clone();
        let instances = asg
            .instances()
            .iter()
            .filter(|i| !i.lifecycle_state().is_some_and(|s| s.as_str().starts_with("Terminat")))
            .map(|i| (i.instance_id().unwrap().to_owned(), i.protected_from_scale_in().unwrap_or(false)))
            .collect();
        (asg.desired_capacity().unwrap_or(0), instances)
    }
}

fn aws_config_region() -> aws_sdk_autoscaling::config::Region {
    aws_sdk_autoscaling::config::Region::new(AWS_REGION)
}

/// An AWS group in `AWS_REGION` with the same shape as `simulated_group`.
pub fn aws_group(name: &str, image: &str) -> Value {
    let mut spec = simulated_group(name, 4);
    spec["cloud"] = json!("aws");
    spec["regions"] = json!([{"region": AWS_REGION}]);
    for role in ["origin", "edge"] {
        spec["roles"][role]["launch"]["imageId"] = json!(image);
    }
    spec
}

/// How long a crowd waits for the scaler, without a scheduled tick: a group
/// on the simulated cloud whose edge reports half full takes one more
/// viewer, whose seat takes the edge's seats in use across the role's
/// scale-out threshold (60 %); the lookup calls the scaler for the group.
/// From that subscribe to the launch in the group's decision log.
pub async fn scale_out_reaction(app: &TestApp, group: &str) -> std::time::Duration {
    app.add_pool_hosts(6, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group(group, 4)).await.status(), StatusCode::CREATED);
    app.tick(group).await;
    let origin = app.node_ids(group, "origin", "pending").await.remove(0);
    let edge = app.node_ids(group, "edge", "pending").await.remove(0);
    let origin_token = app.enroll(group, &origin, &host_report("origin", &origin)).await;
    let edge_token = app.enroll(group, &edge, &host_report("edge", &edge)).await;
    let publish = app.lookup(&format!("/v1/streams/live/crowd?action=publish&group={group}")).await;
    assert_eq!(publish.status(), StatusCode::OK);
    let live = Report { publishers: 1, streams: vec!["live/crowd".into()], ..host_report("origin", &origin) };
    app.report(group, &origin, &origin_token, &live).await;
    app.report(group, &edge, &edge_token, &Report { subscribers: 5, ..host_report("edge", &edge) }).await;

    let started = std::time::Instant::now();
    let since = time::OffsetDateTime::now_utc() - std::time::Duration::from_secs(1);
    let seated = app.lookup(&format!("/v1/streams/live/crowd?action=subscribe&group={group}")).await;
    assert_eq!(seated.status(), StatusCode::OK, "the sixth viewer of ten is seated");
    loop {
        let events = body(
            app.admin(Method::GET, &format!("/v1/nodegroups/{group}/events")).send().await.expect("listed"),
        )
        .await;
        let launched = events["items"].as_array().expect("a page").iter().any(|d| {
            d["action"]["type"] == "launch"
                && d["role"] == "edge"
                && d["at"]
                    .as_str()
                    .and_then(|at| time::OffsetDateTime::parse(at, &Rfc3339).ok())
                    .is_some_and(|at| at >= since)
        });
        if launched {
            return started.elapsed();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "no launch: {events}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
