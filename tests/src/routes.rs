//! The API's operations as the OpenAPI document lists them, so that tests
//! can cover every route without a hand-kept list.

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    /// Upper case, as in an API Gateway route key.
    pub method: String,
    /// The path template, e.g. `/v1/nodegroups/{name}`.
    pub template: String,
    /// The security scheme the route requires: `admin`, `node`, or none.
    pub security: Option<String>,
}

impl Operation {
    /// `METHOD /template`: API Gateway's route key.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    pub fn needs_admin(&self) -> bool {
        self.security.as_deref() == Some("admin")
    }

    /// A concrete path with every parameter filled in.
    pub fn sample_path(&self) -> String {
        self.template
            .replace("{name}", "live-eu")
            .replace("{nodeId}", "i-0123456789abcdef0")
            .replace("{app}", "live")
            .replace("{scope}", "live")
            .replace("{stream}", "cam1")
            .replace("{nodeGroup}", "live-eu")
            .replace("{playlist}", "cam1.m3u8")
    }
}

pub fn document() -> Value {
    serde_json::to_value(streamfleet_http::api_doc()).expect("the document serializes")
}

pub fn operations() -> Vec<Operation> {
    let doc = document();
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                let security = operation
                    .get("security")
                    .and_then(Value::as_array)
                    .and_then(|requirements| requirements.first())
                    .and_then(Value::as_object)
                    .and_then(|requirement| requirement.keys().next().cloned());
                operations.push(Operation {
                    method: method.to_uppercase(),
                    template: template.clone(),
                    security,
                });
            }
        }
    }
    operations.sort();
    operations
}
