//! Decoding untrusted JSON into domain types, with every failure reported as
//! the field it concerns and the rule it broke.

use serde::de::DeserializeOwned;

use crate::validation::{FieldError, InvalidInput};

/// Decodes `bytes` as JSON into `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InvalidInput> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|e| field_error(e, "body"))
}

/// Decodes an already parsed JSON value into `T`.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, InvalidInput> {
    serde_path_to_error::deserialize(value).map_err(|e| field_error(e, "body"))
}

/// Describes a failed decoding of any serde format (query strings too);
/// `root` names the whole input when no field is at fault.
pub fn field_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>, root: &str) -> InvalidInput {
    let path = error.path().to_string();
    let message = strip_position(&error.inner().to_string());
    let (rule, named_field) = classify(&message);
    // serde_path_to_error already ends the path with an unknown field's
    // name, but stops at the enclosing object for a missing one.
    let already_named = |name: &str| path == name || path.ends_with(&format!(".{name}"));
    let field = match (path.as_str(), named_field) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => root.to_owned(),
        (_, Some(name)) if already_named(name) => path.clone(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (parent, None) => parent.to_owned(),
    };
    InvalidInput(vec![FieldError { field, rule: rule.to_owned(), message }])
}

/// serde_json appends " at line L column C", which means nothing to a caller
/// once the field is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The rule a serde message reports, and the field it names when serde
/// reports the error on the enclosing object (unknown and missing fields).
fn classify(message: &str) -> (&'static str, Option<&str>) {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('`'))
            .and_then(|rest| rest.split('`').next())
    };
    if let Some(name) = quoted("unknown field ") {
        ("unknown_field", Some(name))
    } else if let Some(name) = quoted("missing field ") {
        ("required", Some(name))
    } else if message.starts_with("invalid type") {
        ("type", None)
    } else if message.starts_with("unknown variant") {
        ("one_of", None)
    } else if message.starts_with("EOF") || message.starts_with("expected") || message.starts_with("trailing")
    {
        ("json_syntax", None)
    } else {
        ("format", None)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[allow(dead_code)]
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[allow(dead_code)]
        count: u32,
    }

    fn first(json: &str) -> FieldError {
        from_slice::<Outer>(json.as_bytes()).unwrap_err().0.remove(0)
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let e = first(r#"{"inner":{"count":1,"colour":"red"}}"#);
        assert_eq!((e.field.as_str(), e.rule.as_str()), ("inner.colour", "unknown_field"));
    }

    #[test]
    fn missing_fields_are_named_with_their_path() {
        let e = first(r#"{"inner":{}}"#);
        assert_eq!((e.field.as_str(), e.rule.as_str()), ("inner.count", "required"));
        let e = first(r#"{}"#);
        assert_eq!(e.field, "inner");
    }

    #[test]
    fn wrong_types_name_the_field_without_source_positions() {
        let e = first(r#"{"inner":{"count":"three"}}"#);
        assert_eq!((e.field.as_str(), e.rule.as_str()), ("inner.count", "type"));
        assert!(!e.message.contains("line"), "{}", e.message);
    }

    #[test]
    fn broken_json_is_a_syntax_error_of_the_body() {
        let e = first(r#"{"inner": "#);
        assert_eq!(e.rule, "json_syntax");
    }
}
