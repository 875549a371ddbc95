//! The node-group API end to end: HTTP → service → DynamoDB on the emulator.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use streamfleet_scenarios::{body, group_spec, spawn_app, TestApp};

fn etag(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

async fn put(app: &TestApp, name: &str, spec: &Value, if_match: Option<&str>) -> reqwest::Response {
    let mut request = app.admin(Method::PUT, &format!("/v1/nodegroups/{name}")).json(spec);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    request.send().await.unwrap()
}

async fn patch(app: &TestApp, name: &str, patch: Value, if_match: Option<&str>) -> reqwest::Response {
    let mut request = app
        .admin(Method::PATCH, &format!("/v1/nodegroups/{name}"))
        .header("Content-Type", "application/merge-patch+json")
        .body(patch.to_string());
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    request.send().await.unwrap()
}

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.admin(Method::DELETE, path).send().await.unwrap()
}

/// Stands in for a node registration (a later heartbeat feature): the group
/// item counts its nodes, and deletion depends on that count.
async fn set_node_count(app: &TestApp, name: &str, count: u32) {
    app.dynamodb()
        .await
        .update_item()
        .table_name(&app.config.table)
        .key("pk", AttributeValue::S(format!("GROUP#{name}")))
        .key("sk", AttributeValue::S("GROUP".into()))
        .update_expression("SET nodeCount = :n")
        .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn create_then_get_returns_the_group_with_defaults_and_an_etag() {
    let app = spawn_app().await;
    let created = app.create_group(&group_spec("live-eu")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["location"], "/v1/nodegroups/live-eu");
    assert_eq!(etag(&created), "\"1\"");

    let fetched = app.get_group("live-eu").await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(etag(&fetched), "\"1\"");
    let group = body(fetched).await;
    assert_eq!(group["version"], 1);
    assert_eq!(group["status"], "active");
    assert_eq!(group["nodeCount"], 0);
    assert_eq!(group["regions"][1]["region"], "eu-central-1");
    let origin_scale = &group["roles"]["origin"]["scale"];
    assert_eq!(origin_scale["scaleOutThresholdPct"], 85, "default scale-out threshold");
    assert_eq!(origin_scale["drainDeadlineSecs"], 21600, "default drain deadline");
    assert_eq!(group["roles"]["edge"]["launch"]["launchTemplate"]["name"], "streamfleet-edge");
}

#[tokio::test]
async fn creating_an_existing_name_is_a_conflict_and_keeps_the_first() {
    let app = spawn_app().await;
    assert_eq!(app.create_group(&group_spec("live")).await.status(), StatusCode::CREATED);
    let mut other = group_spec("live");
    other["roles"]["origin"]["scale"]["max"] = json!(9);
    let again = app.create_group(&other).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(body(again).await["code"], "already_exists");
    assert_eq!(body(app.get_group("live").await).await["roles"]["origin"]["scale"]["max"], 4);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_exactly_one_group() {
    let app = spawn_app().await;
    let spec = group_spec("race");
    let statuses = join_all((0..10).map(|_| app.create_group(&spec))).await;
    let created = statuses.iter().filter(|r| r.status() == StatusCode::CREATED).count();
    let conflicts = statuses.iter().filter(|r| r.status() == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 9));
}

#[tokio::test]
async fn get_of_an_unknown_group_is_404_with_a_json_body() {
    let app = spawn_app().await;
    let response = app.get_group("nobody").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(response).await["code"], "not_found");
}

#[tokio::test]
async fn list_walks_every_group_once_in_name_order_through_cursors() {
    let app = spawn_app().await;
    let names = ["g-a", "g-b", "g-c", "g-d", "g-e"];
    for name in names.iter().rev() {
        assert_eq!(app.create_group(&group_spec(name)).await.status(), StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/nodegroups?limit=2&cursor={c}"),
            None => "/v1/nodegroups?limit=2".to_owned(),
        };
        let page = body(app.admin(Method::GET, &path).send().await.unwrap()).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|g| g["name"].as_str().unwrap().to_owned()));
        pages += 1;
        match page.get("nextCursor") {
            Some(next) => cursor = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(seen, names);
    assert!(pages >= 3);
}

#[tokio::test]
async fn put_replaces_the_spec_and_bumps_the_version() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let mut spec = group_spec("live");
    spec["roles"]["edge"]["scale"]["max"] = json!(50);
    let replaced = put(&app, "live", &spec, Some("\"1\"")).await;
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(etag(&replaced), "\"2\"");
    let group = body(app.get_group("live").await).await;
    assert_eq!(
        (group["version"].clone(), group["roles"]["edge"]["scale"]["max"].clone()),
        (json!(2), json!(50))
    );
}

#[tokio::test]
async fn put_with_a_stale_version_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let mut spec = group_spec("live");
    spec["roles"]["edge"]["scale"]["max"] = json!(50);
    assert_eq!(put(&app, "live", &spec, Some("\"1\"")).await.status(), StatusCode::OK);

    spec["roles"]["edge"]["scale"]["max"] = json!(7);
    let stale = put(&app, "live", &spec, Some("\"1\"")).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(body(stale).await["code"], "precondition_failed");
    assert_eq!(body(app.get_group("live").await).await["roles"]["edge"]["scale"]["max"], 50);
}

#[tokio::test]
async fn put_without_if_match_is_428() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let response = put(&app, "live", &group_spec("live"), None).await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_REQUIRED);
}

#[tokio::test]
async fn concurrent_puts_on_one_version_let_exactly_one_win() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let specs: Vec<Value> = (1..=8)
        .map(|max| {
            let mut spec = group_spec("live");
            spec["roles"]["edge"]["scale"]["max"] = json!(10 + max);
            spec
        })
        .collect();
    let responses = join_all(specs.iter().map(|spec| put(&app, "live", spec, Some("\"1\"")))).await;
    let won = responses.iter().filter(|r| r.status() == StatusCode::OK).count();
    let lost = responses.iter().filter(|r| r.status() == StatusCode::PRECONDITION_FAILED).count();
    assert_eq!((won, lost), (1, 7));
    assert_eq!(body(app.get_group("live").await).await["version"], 2);
}

#[tokio::test]
async fn patch_merges_fields_and_honours_if_match() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let patched = patch(&app, "live", json!({"roles": {"edge": {"scale": {"min": 3}}}}), Some("\"1\"")).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let group = body(patched).await;
    assert_eq!(group["roles"]["edge"]["scale"]["min"], 3);
    assert_eq!(group["roles"]["edge"]["scale"]["max"], 20, "untouched fields stay");
    assert_eq!(group["version"], 2);

    let stale = patch(&app, "live", json!({"roles": {"edge": {"scale": {"min": 4}}}}), Some("\"1\"")).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);

    let unconditional = patch(&app, "live", json!({"roles": {"origin": {"scale": {"max": 6}}}}), None).await;
    assert_eq!(unconditional.status(), StatusCode::OK);
    let group = body(unconditional).await;
    assert_eq!(
        (group["version"].clone(), group["roles"]["edge"]["scale"]["min"].clone()),
        (json!(3), json!(3))
    );
}

#[tokio::test]
async fn patch_can_remove_an_optional_role_with_null() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let patched = patch(&app, "live", json!({"roles": {"edge": null}}), None).await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert!(body(patched).await["roles"].get("edge").is_none());
}

#[tokio::test]
async fn delete_removes_an_empty_group() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    assert_eq!(delete(&app, "/v1/nodegroups/live").await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_group("live").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(delete(&app, "/v1/nodegroups/live").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_with_a_stale_if_match_is_412() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    patch(&app, "live", json!({"cloud": "simulated"}), None).await;
    let response =
        app.admin(Method::DELETE, "/v1/nodegroups/live").header("If-Match", "\"1\"").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(app.get_group("live").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_group_with_nodes_is_kept_unless_the_caller_asks_to_drain() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    set_node_count(&app, "live", 2).await;

    let refused = delete(&app, "/v1/nodegroups/live").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(body(refused).await["code"], "has_nodes");

    let draining = delete(&app, "/v1/nodegroups/live?drain=true").await;
    assert_eq!(draining.status(), StatusCode::ACCEPTED);
    assert_eq!(body(draining).await["status"], "deleting");

    let again = delete(&app, "/v1/nodegroups/live?drain=true").await;
    assert_eq!(again.status(), StatusCode::ACCEPTED, "asking twice is harmless");

    let update = patch(&app, "live", json!({"cloud": "simulated"}), None).await;
    assert_eq!(update.status(), StatusCode::CONFLICT, "a group being deleted takes no changes");

    set_node_count(&app, "live", 0).await;
    assert_eq!(delete(&app, "/v1/nodegroups/live").await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn updates_leave_the_node_count_to_node_registrations() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    set_node_count(&app, "live", 3).await;
    let patched = patch(&app, "live", json!({"cloud": "simulated"}), Some("\"1\"")).await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(body(app.get_group("live").await).await["nodeCount"], 3);
}

#[tokio::test]
async fn a_new_group_lists_no_nodes_and_an_unknown_group_has_none_to_list() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let nodes = app.admin(Method::GET, "/v1/nodegroups/live/nodes").send().await.unwrap();
    assert_eq!(nodes.status(), StatusCode::OK);
    assert_eq!(body(nodes).await, json!({"items": []}));
    let missing = app.admin(Method::GET, "/v1/nodegroups/other/nodes").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
