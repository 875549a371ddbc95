//! Authentication on every route the OpenAPI document lists: admin routes
//! take the admin token, node routes a node credential, and the rest none.

use reqwest::{Method, StatusCode};
use streamfleet_scenarios::routes::operations;
use streamfleet_scenarios::{body, spawn_app};

#[tokio::test]
async fn every_admin_route_refuses_anonymous_malformed_and_wrong_credentials() {
    let app = spawn_app().await;
    let admin_routes: Vec<_> = operations().into_iter().filter(|op| op.needs_admin()).collect();
    assert!(admin_routes.len() >= 7, "the document lists the admin routes");
    for op in admin_routes {
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let path = op.sample_path();
        let key = op.route_key();

        let anonymous = app.anonymous(method.clone(), &path).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{key} without a token");
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer", "{key}");
        assert_eq!(body(anonymous).await["code"], "unauthorized", "{key}");

        let basic =
            app.anonymous(method.clone(), &path).basic_auth("admin", Some("pw")).send().await.unwrap();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED, "{key} with Basic credentials");

        let wrong =
            app.anonymous(method.clone(), &path).bearer_auth("not-the-admin-token").send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN, "{key} with a wrong token");
        assert_eq!(body(wrong).await["code"], "forbidden", "{key}");
    }
}

#[tokio::test]
async fn authentication_comes_before_input_validation() {
    let app = spawn_app().await;
    let response = app
        .anonymous(Method::POST, "/v1/nodegroups")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_node_route_refuses_anonymous_and_admin_credentials() {
    let app = spawn_app().await;
    let node_routes: Vec<_> =
        operations().into_iter().filter(|op| op.security.as_deref() == Some("node")).collect();
    assert!(node_routes.len() >= 2, "the document lists the node routes");
    for op in node_routes {
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let key = op.route_key();
        let anonymous = app.anonymous(method.clone(), &op.sample_path()).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{key} without a credential");
        let admin = app
            .admin(method, &op.sample_path())
            .header("X-Streamfleet-Node", "i-0123456789abcdef0")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(admin.status(), StatusCode::FORBIDDEN, "{key}: the admin token is no node credential");
    }
}

#[tokio::test]
async fn public_routes_need_no_credentials() {
    let app = spawn_app().await;
    let public: Vec<_> = operations().into_iter().filter(|op| op.security.is_none()).collect();
    assert!(public.len() >= 4, "health, document and the lookups are public");
    for op in public {
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let response = app.anonymous(method, &op.sample_path()).send().await.unwrap();
        let status = response.status();
        assert!(
            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
            "{}: {status}",
            op.route_key()
        );
    }
}
