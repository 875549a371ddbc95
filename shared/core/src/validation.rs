//! Input rule violations, each naming the field (a dotted JSON path) and the
//! rule it broke, so that an API caller can fix its request without guessing.

use serde::Serialize;
use utoipa::ToSchema;

/// One broken rule on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// Dotted path of the offending field, e.g. `roles.edge.scale.min`.
    pub field: String,
    /// Short machine-readable name of the rule, e.g. `min_le_max`.
    pub rule: String,
    /// Human-readable explanation.
    pub message: String,
}

/// A request that breaks at least one input rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", summary(.0))]
pub struct InvalidInput(pub Vec<FieldError>);

fn summary(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

impl InvalidInput {
    pub fn one(field: impl Into<String>, rule: &str, message: impl Into<String>) -> Self {
        Self(vec![FieldError { field: field.into(), rule: rule.to_owned(), message: message.into() }])
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }
}

/// Collects every violation of a value before deciding, so a caller sees all
/// of its mistakes in one answer rather than one per round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn check(
        &mut self,
        ok: bool,
        field: impl FnOnce() -> String,
        rule: &str,
        message: impl FnOnce() -> String,
    ) {
        if !ok {
            self.0.push(FieldError { field: field(), rule: rule.to_owned(), message: message() });
        }
    }

    pub fn push(&mut self, field: String, rule: &str, message: String) {
        self.0.push(FieldError { field, rule: rule.to_owned(), message });
    }

    pub fn into_result(self) -> Result<(), InvalidInput> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidInput(self.0))
        }
    }
}
