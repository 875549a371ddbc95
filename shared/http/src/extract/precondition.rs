//! Optimistic concurrency over HTTP: a group's version is its ETag, and
//! writes carry it back in `If-Match`.

use axum::extract::FromRequestParts;
use axum::http::header::IF_MATCH;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};

use crate::error::ApiError;

/// The strong ETag of a version: `"7"`.
pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes are a valid header")
}

/// The version a write is conditional on, when the caller gave one.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<u64>);

impl IfMatch {
    /// Refuses a write that must not be blind (a whole-resource replace).
    pub fn required(self) -> Result<u64, ApiError> {
        self.0.ok_or_else(|| {
            ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition_required",
                "send If-Match with the ETag of the version you read, so that no concurrent change is lost",
            )
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(IF_MATCH) else {
            return Ok(Self(None));
        };
        let invalid = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_if_match",
                "If-Match must be one ETag as returned by the API, e.g. \"3\"",
            )
        };
        let text = value.to_str().map_err(|_| invalid())?.trim();
        let unquoted = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        unquoted.parse::<u64>().map(|v| Self(Some(v))).map_err(|_| invalid())
    }
}
