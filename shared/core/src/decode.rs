//! Decoding untrusted JSON into domain types, with every failure reported as
//! the field it concerns and the rule it broke.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::validation::{FieldError, InvalidInput};

/// Decodes `bytes` as JSON into `T`, strictly: one JSON value and nothing
/// after it, and no key twice in any object at any depth (serde would keep
/// the last one of a map's: what was meant is not known).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InvalidInput> {
    unique_keys(bytes)?;
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *deserializer).map_err(|e| field_error(e, "body"))?;
    deserializer.end().map_err(|e| syntax_error(&e))?;
    Ok(value)
}

fn syntax_error(error: &serde_json::Error) -> InvalidInput {
    InvalidInput(vec![FieldError {
        field: "body".into(),
        rule: "json_syntax".into(),
        message: strip_position(&error.to_string()),
    }])
}

/// Walks the JSON once, refusing a key repeated within one object; a
/// syntax error is left to the decoding proper, which names it.
fn unique_keys(bytes: &[u8]) -> Result<(), InvalidInput> {
    let found = RefCell::new(None);
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let _ = Walk { path: String::new(), found: &found }.deserialize(deserializer);
    match found.into_inner() {
        Some((field, key)) => Err(InvalidInput(vec![FieldError {
            field,
            rule: "duplicate_key".into(),
            message: format!("the key `{key}` appears twice in the same object"),
        }])),
        None => Ok(()),
    }
}

/// One JSON value at `path`; the first repeated key goes to `found`.
struct Walk<'a> {
    path: String,
    found: &'a RefCell<Option<(String, String)>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Walk { path: format!("{}[{i}]", self.path), found: self.found })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            if !seen.insert(key.clone()) {
                *self.found.borrow_mut() = Some((path, key));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            map.next_value_seed(Walk { path, found: self.found })?;
        }
        Ok(())
    }
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

    #[test]
    fn anything_after_the_body_is_refused() {
        for json in
            [r#"{"inner":{"count":1}} {"x":1}"#, r#"{"inner":{"count":1}}x"#, r#"{"inner":{"count":1}}]"#]
        {
            let e = first(json);
            assert_eq!((e.field.as_str(), e.rule.as_str()), ("body", "json_syntax"), "{json}");
        }
        assert!(from_slice::<Outer>(b"{\"inner\":{\"count\":1}} \n").is_ok(), "white space is no data");
    }

    #[test]
    fn a_key_twice_in_one_object_is_refused_at_any_depth_and_named() {
        let e = first(r#"{"inner":{"count":1,"count":2}}"#);
        assert_eq!((e.field.as_str(), e.rule.as_str()), ("inner.count", "duplicate_key"));
        let map = from_slice::<std::collections::BTreeMap<String, Vec<std::collections::BTreeMap<String, u8>>>>(
            br#"{"roles":[{"a":1},{"b":1,"b":2}]}"#,
        );
        assert_eq!(map.unwrap_err().0[0].field, "roles[1].b");
        // The same key in two objects is no duplicate.
        assert!(from_slice::<Vec<Inner>>(br#"[{"count":1},{"count":2}]"#).is_ok());
    }
}
