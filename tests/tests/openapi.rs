//! The OpenAPI document is complete: every route has a fixture and an
//! answer, every fixture a documented route, every reference a schema.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use streamfleet_scenarios::routes::{document, operations};
use streamfleet_scenarios::{body, repo_root, spawn_app};

fn fixture_route_keys() -> BTreeSet<String> {
    let dir = repo_root().join("events/apigw");
    std::fs::read_dir(&dir)
        .expect("events/apigw exists")
        .map(|entry| {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let event: Value = serde_json::from_str(&text).unwrap();
            event["routeKey"].as_str().expect("fixtures carry their route key").to_owned()
        })
        .collect()
}

#[test]
fn every_documented_route_has_a_fixture_and_every_fixture_a_documented_route() {
    let documented: BTreeSet<String> = operations().iter().map(|op| op.route_key()).collect();
    let fixtures = fixture_route_keys();
    let undocumented: Vec<_> = fixtures.difference(&documented).collect();
    let without_fixture: Vec<_> = documented.difference(&fixtures).collect();
    assert!(
        undocumented.is_empty(),
        "fixtures for routes missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(without_fixture.is_empty(), "documented routes without an events/ fixture: {without_fixture:?}");
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = spawn_app().await;
    for op in operations() {
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let response = app.admin(method, &op.sample_path()).send().await.unwrap();
        let status = response.status();
        if !status.is_success() {
            let code = body(response).await["code"].clone();
            assert!(
                code != "route_not_found" && code != "method_not_allowed",
                "{} is documented but not routed ({status})",
                op.route_key()
            );
        }
    }
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = spawn_app().await;
    let response = app.anonymous(Method::GET, "/v1/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, document());
}

#[test]
fn every_operation_documents_its_errors_and_every_reference_resolves() {
    let doc = document();
    for op in operations() {
        let operation = &doc["paths"][&op.template][op.method.to_lowercase()];
        let responses = operation["responses"].as_object().unwrap();
        if op.security.is_some() {
            for status in ["401", "403"] {
                assert!(responses.contains_key(status), "{} does not document {status}", op.route_key());
            }
        }
        assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{} has no tag", op.route_key());
    }
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling reference to {name}");
    }
}
