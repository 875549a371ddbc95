//! Node heartbeats end to end: enrollment, credentials, replays, state.

use reqwest::{Method, StatusCode};
use serde_json::json;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{body, group_spec, spawn_app, TestApp};

const GROUP: &str = "live-eu";

async fn app_with_group() -> TestApp {
    let app = spawn_app().await;
    assert_eq!(app.create_group(&group_spec(GROUP)).await.status(), StatusCode::CREATED);
    app
}

fn edge() -> Report {
    Report::new("edge", "eu-west-1", "203.0.113.10")
}

#[tokio::test]
async fn a_first_heartbeat_with_the_enrollment_key_registers_the_node() {
    let app = app_with_group().await;
    let key = app.enrollment_key(GROUP).await;
    let response = app.heartbeat(GROUP, "i-0aaa", &key, &edge().json()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let answer = body(response).await;
    assert_eq!(answer["state"], "inService");
    assert_eq!(answer["heartbeatIntervalSecs"], 5);
    assert!(answer["nodeToken"].as_str().unwrap().starts_with("sfn."));

    let nodes =
        body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/nodes")).send().await.unwrap()).await;
    assert_eq!(nodes["items"][0]["nodeId"], "i-0aaa");
    assert_eq!(nodes["items"][0]["state"], "inService");
    assert_eq!(body(app.get_group(GROUP).await).await["nodeCount"], 1);
}

#[tokio::test]
async fn later_heartbeats_update_the_load_and_answer_the_state() {
    let app = app_with_group().await;
    let token = app.enroll(GROUP, "i-0aaa", &edge()).await;
    let mut report = edge();
    report.subscribers = 42;
    report.streams = vec!["live/cam1".into()];
    let answer = app.report(GROUP, "i-0aaa", &token, &report).await;
    assert_eq!((answer["state"].clone(), answer["cordoned"].clone()), (json!("inService"), json!(false)));
    assert!(answer.get("nodeToken").is_none());

    let node =
        body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/nodes/i-0aaa")).send().await.unwrap())
            .await;
    assert_eq!(node["load"]["subscribers"], 42);
    assert_eq!(node["streams"], json!(["live/cam1"]));
    assert_eq!(node["endpoints"]["rtmp"], "rtmp://{host}:1935/{app}/{stream}");
}

#[tokio::test]
async fn a_replayed_or_older_heartbeat_is_refused() {
    let app = app_with_group().await;
    let token = app.enroll(GROUP, "i-0aaa", &edge()).await;
    let first = edge().json();
    assert_eq!(app.heartbeat(GROUP, "i-0aaa", &token, &first).await.status(), StatusCode::OK);
    let replay = app.heartbeat(GROUP, "i-0aaa", &token, &first).await;
    assert_eq!(replay.status(), StatusCode::CONFLICT);
    assert_eq!(body(replay).await["code"], "replayed");

    let mut old = edge().json();
    old["sentAt"] = json!("2020-01-01T00:00:00Z");
    let response = app.heartbeat(GROUP, "i-0aaa", &token, &old).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(response).await["field"], "sentAt");
}

#[tokio::test]
async fn a_node_cannot_report_as_another_node_or_into_another_group() {
    let app = app_with_group().await;
    let mut other = group_spec("other");
    other["regions"] = json!([{"region": "eu-west-1"}]);
    app.create_group(&other).await;
    let token = app.enroll(GROUP, "i-0aaa", &edge()).await;
    app.enroll(GROUP, "i-0bbb", &edge()).await;

    let as_b = app.heartbeat(GROUP, "i-0bbb", &token, &edge().json()).await;
    assert_eq!(as_b.status(), StatusCode::FORBIDDEN, "another node's token");
    let elsewhere = app.heartbeat("other", "i-0aaa", &token, &edge().json()).await;
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN, "another group");
    let other_key = app.enrollment_key("other").await;
    let cross = app.heartbeat(GROUP, "i-0ccc", &other_key, &edge().json()).await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "another group's enrollment key");
    let admin = app.heartbeat(GROUP, "i-0aaa", streamfleet_scenarios::ADMIN_TOKEN, &edge().json()).await;
    assert_eq!(admin.status(), StatusCode::FORBIDDEN, "the admin token is no node credential");
    let forged = app
        .heartbeat(GROUP, "i-0aaa", "sfn.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &edge().json())
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let none = app
        .anonymous(Method::POST, &format!("/v1/nodegroups/{GROUP}/nodes/i-0aaa/heartbeat"))
        .json(&edge().json())
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_forged_credential_is_refused_before_the_body_is_looked_at() {
    let app = app_with_group().await;
    let token = app.enroll(GROUP, "i-0aaa", &edge()).await;
    let forged = "sfn.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let path = format!("/v1/nodegroups/{GROUP}/nodes/i-0aaa/heartbeat");
    let send = |credential: &str, content_type: &str, body: String| {
        app.anonymous(Method::POST, &path)
            .bearer_auth(credential)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let huge = "x".repeat(70 * 1024);
    for (content_type, body) in [("application/json", huge.clone()), ("text/plain", "{}".to_owned())] {
        let refused = send(forged, content_type, body.clone()).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{content_type}, {} bytes", body.len());
    }
    // The node itself learns what was wrong with its body.
    assert_eq!(send(&token, "application/json", huge).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        send(&token, "text/plain", "{}".into()).await.unwrap().status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn the_enrollment_key_cannot_take_over_an_enrolled_node() {
    let app = app_with_group().await;
    app.enroll(GROUP, "i-0aaa", &edge()).await;
    let key = app.enrollment_key(GROUP).await;
    let again = app.heartbeat(GROUP, "i-0aaa", &key, &edge().json()).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(body(again).await["code"], "already_enrolled");
    assert_eq!(body(app.get_group(GROUP).await).await["nodeCount"], 1, "counted once");
}

#[tokio::test]
async fn a_token_for_a_node_never_enrolled_is_told_to_enroll() {
    let app = app_with_group().await;
    // A genuine token, minted for a node id that never enrolled (or whose
    // row an operator removed).
    let credentials = streamfleet_core_credentials();
    let group = streamfleet_core::names::GroupName::parse(GROUP).unwrap();
    let node = streamfleet_core::names::NodeId::parse("i-0new").unwrap();
    let unknown =
        app.heartbeat(GROUP, "i-0new", &credentials.node_token(&group, &node, "n1"), &edge().json()).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(unknown).await["code"], "node_unknown");
}

fn streamfleet_core_credentials() -> streamfleet_core::credentials::NodeCredentials {
    streamfleet_core::credentials::NodeCredentials::new(secrecy::SecretString::from(
        streamfleet_scenarios::NODE_SECRET,
    ))
    .unwrap()
}

#[tokio::test]
async fn rotating_the_enrollment_key_stops_the_old_one_but_not_enrolled_nodes() {
    let app = app_with_group().await;
    let token = app.enroll(GROUP, "i-0aaa", &edge()).await;
    let old_key = app.enrollment_key(GROUP).await;
    let rotated = body(
        app.admin(Method::POST, &format!("/v1/nodegroups/{GROUP}/enrollment-key")).send().await.unwrap(),
    )
    .await;
    assert_eq!(rotated["generation"], 2);
    let refused = app.heartbeat(GROUP, "i-0bbb", &old_key, &edge().json()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(refused).await["code"], "stale_enrollment_key");
    let new_key = rotated["enrollmentKey"].as_str().unwrap();
    assert_eq!(app.heartbeat(GROUP, "i-0bbb", new_key, &edge().json()).await.status(), StatusCode::CREATED);
    app.report(GROUP, "i-0aaa", &token, &edge()).await;
}

#[tokio::test]
async fn a_node_must_fit_its_group_and_keep_its_registration() {
    let app = app_with_group().await;
    let key = app.enrollment_key(GROUP).await;
    let mut relay = edge().json();
    relay["role"] = json!("relay");
    let response = app.heartbeat(GROUP, "i-0aaa", &key, &relay).await;
    assert_eq!(
        (response.status(), body(response).await["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("role"))
    );
    let mut far = edge().json();
    far["region"] = json!("ap-south-1");
    let response = app.heartbeat(GROUP, "i-0aaa", &key, &far).await;
    assert_eq!(
        (response.status(), body(response).await["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("region"))
    );
    let mut bare = edge().json();
    bare.as_object_mut().unwrap().remove("endpoints");
    let response = app.heartbeat(GROUP, "i-0aaa", &key, &bare).await;
    assert_eq!(body(response).await["field"], "endpoints");

    let token = app.enroll(GROUP, "i-0aaa", &edge()).await;
    let mut as_origin = edge().json();
    as_origin["role"] = json!("origin");
    let response = app.heartbeat(GROUP, "i-0aaa", &token, &as_origin).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(body(response).await["code"], "registration_mismatch");
}

#[tokio::test]
async fn cordoning_is_told_to_the_node_in_its_next_answer() {
    let app = app_with_group().await;
    let token = app.enroll(GROUP, "i-0aaa", &edge()).await;
    let cordon =
        app.admin(Method::POST, &format!("/v1/nodegroups/{GROUP}/nodes/i-0aaa/cordon")).send().await.unwrap();
    assert_eq!(body(cordon).await["cordoned"], true);
    assert_eq!(app.report(GROUP, "i-0aaa", &token, &edge()).await["cordoned"], true);
    app.admin(Method::POST, &format!("/v1/nodegroups/{GROUP}/nodes/i-0aaa/uncordon")).send().await.unwrap();
    assert_eq!(app.report(GROUP, "i-0aaa", &token, &edge()).await["cordoned"], false);
    let missing =
        app.admin(Method::POST, &format!("/v1/nodegroups/{GROUP}/nodes/i-0zzz/cordon")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_group_with_enrolled_nodes_is_not_deleted_and_a_deleting_group_takes_no_new_nodes() {
    let app = app_with_group().await;
    app.enroll(GROUP, "i-0aaa", &edge()).await;
    let refused = app.admin(Method::DELETE, &format!("/v1/nodegroups/{GROUP}")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let draining =
        app.admin(Method::DELETE, &format!("/v1/nodegroups/{GROUP}?drain=true")).send().await.unwrap();
    assert_eq!(draining.status(), StatusCode::ACCEPTED);
    let key = app.enrollment_key(GROUP).await;
    let late = app.heartbeat(GROUP, "i-0bbb", &key, &edge().json()).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(body(late).await["code"], "deleting");
}
