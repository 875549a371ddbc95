//! Query strings decoded into typed parameters, and opaque paging cursors.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use streamfleet_core::{decode, InvalidInput};

use crate::error::ApiError;

/// Query parameters decoded into `T`; unknown or ill-typed ones are named.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|e| ApiError::invalid(decode::field_error(e, "query")))
    }
}

/// An opaque resume point: the key of the last item of the previous page.
/// Callers cannot forge a cursor into another item: it decodes to a name,
/// which is validated like any other.
pub struct Cursor;

impl Cursor {
    pub fn encode(key: &str) -> String {
        URL_SAFE_NO_PAD.encode(key)
    }

    pub fn decode<K>(cursor: &str, parse: impl FnOnce(String) -> Option<K>) -> Result<K, ApiError> {
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(parse)
            .ok_or_else(|| {
                ApiError::invalid(InvalidInput::one(
                    "cursor",
                    "cursor",
                    "cursor is not one this API returned",
                ))
            })
    }
}
