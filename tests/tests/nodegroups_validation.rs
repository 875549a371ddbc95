//! Bad input: every rule answers 4xx with a JSON body naming the field, and
//! nothing is written.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use streamfleet_scenarios::{body, group_spec, spawn_app, TestApp};

/// Posts `spec` and returns (status, field, rule) of the answer.
async fn create(app: &TestApp, spec: &Value) -> (StatusCode, String, String) {
    let response = app.create_group(spec).await;
    let status = response.status();
    let error = body(response).await;
    let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
    (status, text("field"), text("rule"))
}

async fn rejected(app: &TestApp, spec: Value, field: &str, rule: &str) {
    let (status, got_field, got_rule) = create(app, &spec).await;
    assert_eq!(
        (status, got_field.as_str(), got_rule.as_str()),
        (StatusCode::BAD_REQUEST, field, rule),
        "for {spec}"
    );
}

/// `spec` with the member at `pointer` set (added if absent) to `value`.
fn with(mut spec: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let parent = spec.pointer_mut(parent).unwrap_or_else(|| panic!("{parent} exists"));
    match parent {
        Value::Array(items) => items[key.parse::<usize>().expect("an index")] = value,
        Value::Object(members) => {
            members.insert(key.to_owned(), value);
        }
        _ => panic!("{pointer} is inside a scalar"),
    }
    spec
}

#[tokio::test]
async fn unknown_fields_are_refused_at_any_depth() {
    let app = spawn_app().await;
    let mut spec = group_spec("live");
    spec["colour"] = json!("red");
    rejected(&app, spec, "colour", "unknown_field").await;
    let mut spec = group_spec("live");
    spec["roles"]["edge"]["scale"]["maximum"] = json!(3);
    rejected(&app, spec, "roles.edge.scale.maximum", "unknown_field").await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_named() {
    let app = spawn_app().await;
    let spec = group_spec("live");
    rejected(
        &app,
        with(spec.clone(), "/roles/origin/scale/min", json!("one")),
        "roles.origin.scale.min",
        "type",
    )
    .await;
    rejected(
        &app,
        with(spec.clone(), "/roles/origin/scale/max", json!(-1)),
        "roles.origin.scale.max",
        "format",
    )
    .await;
    rejected(&app, with(spec.clone(), "/regions", json!({})), "regions", "type").await;
    let mut missing = spec;
    missing["roles"]["edge"]["launch"].as_object_mut().unwrap().remove("connectionCapacity");
    rejected(&app, missing, "roles.edge.launch.connectionCapacity", "required").await;
}

#[tokio::test]
async fn min_above_max_is_refused() {
    let app = spawn_app().await;
    let spec = with(group_spec("live"), "/roles/edge/scale/min", json!(21));
    rejected(&app, spec, "roles.edge.scale.min", "min_le_max").await;
}

#[tokio::test]
async fn thresholds_must_be_percentages_with_scale_in_below_scale_out() {
    let app = spawn_app().await;
    let base = group_spec("live");
    let at = "/roles/edge/scale/scaleOutThresholdPct";
    rejected(&app, with(base.clone(), at, json!(0)), "roles.edge.scale.scaleOutThresholdPct", "percent")
        .await;
    rejected(&app, with(base.clone(), at, json!(101)), "roles.edge.scale.scaleOutThresholdPct", "percent")
        .await;
    let at = "/roles/edge/scale/scaleInThresholdPct";
    rejected(&app, with(base, at, json!(70)), "roles.edge.scale.scaleInThresholdPct", "below_scale_out")
        .await;
}

#[tokio::test]
async fn names_outside_the_charset_or_length_are_refused() {
    let app = spawn_app().await;
    for name in ["Live", "live_eu", "", "live eu", &"a".repeat(64)] {
        rejected(&app, with(group_spec("x"), "/name", json!(name)), "name", "format").await;
    }
}

#[tokio::test]
async fn regions_and_zones_must_be_aws_codes_that_agree() {
    let app = spawn_app().await;
    let base = group_spec("live");
    rejected(&app, with(base.clone(), "/regions/0/region", json!("europe")), "regions[0].region", "format")
        .await;
    rejected(
        &app,
        with(base.clone(), "/regions/0/zones/1", json!("us-east-1a")),
        "regions[0].zones[1]",
        "zone_in_region",
    )
    .await;
    rejected(&app, with(base.clone(), "/regions", json!([])), "regions", "count").await;
    let duplicate = json!([{"region": "eu-west-1"}, {"region": "eu-west-1"}]);
    rejected(&app, with(base, "/regions", duplicate), "regions[1].region", "unique").await;
}

#[tokio::test]
async fn roles_need_an_origin_and_known_names() {
    let app = spawn_app().await;
    let mut spec = group_spec("live");
    spec["roles"].as_object_mut().unwrap().remove("origin");
    rejected(&app, spec, "roles.origin", "required").await;
    let mut spec = group_spec("live");
    let edge = spec["roles"]["edge"].clone();
    spec["roles"]["streamer"] = edge;
    rejected(&app, spec, "roles.streamer", "one_of").await;
}

#[tokio::test]
async fn relay_and_transcoder_roles_are_accepted() {
    let app = spawn_app().await;
    let mut spec = group_spec("live");
    spec["roles"]["relay"] = spec["roles"]["origin"].clone();
    spec["roles"]["transcoder"] = spec["roles"]["origin"].clone();
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn launch_settings_need_exactly_one_image_source_for_aws() {
    let app = spawn_app().await;
    let both = with(group_spec("live"), "/roles/origin/launch/launchTemplate", json!({"name": "tpl"}));
    rejected(&app, both, "roles.origin.launch.launchTemplate", "exclusive").await;
    let mut neither = group_spec("live");
    neither["roles"]["origin"]["launch"].as_object_mut().unwrap().remove("imageId");
    rejected(&app, neither.clone(), "roles.origin.launch.imageId", "required").await;
    neither["cloud"] = json!("simulated");
    assert_eq!(app.create_group(&neither).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn every_violation_is_listed_in_one_answer() {
    let app = spawn_app().await;
    let spec = with(group_spec("live"), "/roles/edge/scale/min", json!(50));
    let spec = with(spec, "/roles/origin/scale/step", json!(0));
    let error = body(app.create_group(&spec).await).await;
    let fields: Vec<&str> =
        error["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["roles.origin.scale.step", "roles.edge.scale.min"]);
}

#[tokio::test]
async fn oversized_malformed_and_non_json_bodies_are_refused() {
    let app = spawn_app().await;
    let mut huge = group_spec("live");
    huge["padding"] = json!("x".repeat(100 * 1024));
    let response = app.create_group(&huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body(response).await["code"], "payload_too_large");

    let broken = app
        .admin(Method::POST, "/v1/nodegroups")
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(broken).await["rule"], "json_syntax");

    let form = app.admin(Method::POST, "/v1/nodegroups").body("name=live").send().await.unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn bad_path_names_query_parameters_and_cursors_are_named() {
    let app = spawn_app().await;
    let cases = [
        ("/v1/nodegroups/Bad_Name", "name"),
        ("/v1/nodegroups?limit=0", "limit"),
        ("/v1/nodegroups?limit=101", "limit"),
        ("/v1/nodegroups?limit=ten", "limit"),
        ("/v1/nodegroups?cursor=%%%", "cursor"),
        ("/v1/nodegroups?cursor=R1JPVVAjeA", "cursor"),
        ("/v1/nodegroups?page=2", "page"),
        ("/v1/nodegroups/live/nodes?cursor=!!", "cursor"),
    ];
    for (path, field) in cases {
        let response = app.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body(response).await["field"], field, "{path}");
    }
}

#[tokio::test]
async fn a_bad_update_changes_nothing() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live")).await;
    let rename = app
        .admin(Method::PATCH, "/v1/nodegroups/live")
        .header("Content-Type", "application/merge-patch+json")
        .body(json!({"name": "other"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(rename.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(rename).await["rule"], "immutable");

    let invalid = app
        .admin(Method::PATCH, "/v1/nodegroups/live")
        .header("Content-Type", "application/merge-patch+json")
        .body(json!({"roles": {"origin": {"scale": {"min": 99}}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(invalid).await["field"], "roles.origin.scale.min");

    let put_other_name = app
        .admin(Method::PUT, "/v1/nodegroups/live")
        .header("If-Match", "\"1\"")
        .json(&group_spec("other"))
        .send()
        .await
        .unwrap();
    assert_eq!(put_other_name.status(), StatusCode::BAD_REQUEST);

    let group = body(app.get_group("live").await).await;
    assert_eq!(
        (group["version"].clone(), group["roles"]["origin"]["scale"]["min"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let missing = app.admin(Method::GET, "/v1/nothing").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(missing).await["code"], "route_not_found");
    let wrong = app.admin(Method::POST, "/v1/nodegroups/live/nodes").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body(wrong).await["code"], "method_not_allowed");
}

/// Posts raw text as a group; returns (status, field, rule).
async fn create_raw(app: &TestApp, text: String) -> (StatusCode, String, String) {
    let response = app
        .admin(Method::POST, "/v1/nodegroups")
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let error = body(response).await;
    let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
    (status, text("field"), text("rule"))
}

#[tokio::test]
async fn a_body_with_data_after_it_or_a_key_twice_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let spec = group_spec("live").to_string();
    let trailing = create_raw(&app, format!(r#"{spec} {{"x":1}}"#)).await;
    assert_eq!(trailing, (StatusCode::BAD_REQUEST, "body".into(), "json_syntax".into()));

    // `roles.origin` twice: which one was meant is not known.
    let origin = group_spec("live")["roles"]["origin"].to_string();
    let twice = spec.replacen(r#""roles":{"#, &format!(r#""roles":{{"origin":{origin},"#), 1);
    assert_ne!(twice, spec, "the test wrote the key twice");
    let duplicate = create_raw(&app, twice).await;
    assert_eq!(duplicate, (StatusCode::BAD_REQUEST, "roles.origin".into(), "duplicate_key".into()));
    assert_eq!(app.get_group("live").await.status(), StatusCode::NOT_FOUND, "nothing written");
}
