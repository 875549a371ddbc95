//! The OpenAPI document is the contract: every answer a scenario test gets
//! from the served stack is held to it. A layer around the router checks
//! that the operation and its status are documented and that a JSON body
//! validates against the documented schema; an answer that breaks the
//! contract is replaced by status 599 with the reason, which fails the
//! test that made the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{json, Value};

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(crate::routes::document)
}

fn validator(key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    let cache = VALIDATORS.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("not poisoned").get(key) {
        return Ok(found.clone());
    }
    // The schema with the document's components beside it, so that its
    // `#/components/schemas/...` references resolve.
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), document()["components"].clone());
    } else {
        root = json!({"allOf": [schema], "components": document()["components"]});
    }
    let compiled = Arc::new(jsonschema::validator_for(&root).map_err(|e| format!("{key}: {e}"))?);
    cache.lock().expect("not poisoned").insert(key.to_owned(), compiled.clone());
    Ok(compiled)
}

/// Why this answer breaks the document, if it does.
pub fn violation(method: &str, template: &str, status: StatusCode, body: &[u8]) -> Option<String> {
    let operation = &document()["paths"][template][method];
    // A known path with a method it does not take: the router's own 405.
    if operation.is_null() && status == StatusCode::METHOD_NOT_ALLOWED {
        return None;
    }
    if operation.is_null() {
        return Some(format!("{method} {template} is not in the document"));
    }
    let code = status.as_u16().to_string();
    let response = match &operation["responses"][&code] {
        Value::Null => &operation["responses"]["default"],
        documented => documented,
    };
    if response.is_null() {
        return Some(format!("{method} {template} does not document status {code}"));
    }
    // No JSON body documented (a 204, say): nothing more to hold it to.
    let schema = response["content"]["application/json"].get("schema")?;
    if body.is_empty() {
        return Some(format!("{method} {template} {code}: a JSON body is documented, none was sent"));
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return Some(format!("{method} {template} {code}: the body is not JSON ({e})")),
    };
    let key = format!("{method} {template} {code}");
    let validator = match validator(&key, schema) {
        Ok(validator) => validator,
        Err(e) => return Some(format!("the documented schema does not compile: {e}")),
    };
    let errors: Vec<String> =
        validator.iter_errors(&value).take(3).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    (!errors.is_empty())
        .then(|| format!("{key}: the body breaks its schema: {}; body {value}", errors.join("; ")))
}

/// The layer: `axum::middleware::from_fn(conforming)`.
pub async fn conforming(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_ascii_lowercase();
    let template = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    // Unknown routes and methods answer from the fallbacks, which the
    // document does not list (and HEAD answers carry no body).
    let Some(template) = template.filter(|_| method != "head") else { return response };
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "the body could not be read").into_response(),
    };
    if let Some(problem) = violation(&method, &template, parts.status, &bytes) {
        tracing::error!(%problem, "an answer breaks the OpenAPI document");
        let status = StatusCode::from_u16(599).expect("a valid status");
        return (status, axum::Json(json!({"code": "openapi_violation", "message": problem})))
            .into_response();
    }
    Response::from_parts(parts, Body::from(bytes))
}
