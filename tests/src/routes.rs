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
    pub needs_admin: bool,
}

impl Operation {
    /// `METHOD /template`: API Gateway's route key.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// A concrete path with every parameter filled in.
    pub fn sample_path(&self) -> String {
        self.template.replace("{name}", "live-eu")
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
                let needs_admin = operation
                    .get("security")
                    .and_then(Value::as_array)
                    .is_some_and(|requirements| requirements.iter().any(|r| r.get("admin").is_some()));
                operations.push(Operation {
                    method: method.to_uppercase(),
                    template: template.clone(),
                    needs_admin,
                });
            }
        }
    }
    operations.sort();
    operations
}
