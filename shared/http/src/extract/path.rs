//! Path segments of the routes, as validated names; a bad one is a 400
//! naming the segment.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use streamfleet_core::names::{AppName, GroupName, NameError, NodeId, StreamName};
use streamfleet_core::InvalidInput;

use crate::error::ApiError;

async fn segments<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(segments)| segments)
        .map_err(|_| ApiError::invalid(InvalidInput::one("path", "format", "the path could not be decoded")))
}

fn segment<T>(
    segments: &HashMap<String, String>,
    name: &str,
    parse: fn(String) -> Result<T, NameError>,
) -> Result<T, ApiError> {
    let value = segments.get(name).cloned().unwrap_or_default();
    parse(value).map_err(|e| ApiError::invalid(InvalidInput::one(name, "format", e.to_string())))
}

/// `{name}`: a node group.
#[derive(Debug, Clone)]
pub struct GroupPath(pub GroupName);

impl<S: Send + Sync> FromRequestParts<S> for GroupPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = segments(parts, state).await?;
        Ok(Self(segment(&segments, "name", GroupName::parse)?))
    }
}

/// `{name}` and `{nodeId}`: one node of a group.
#[derive(Debug, Clone)]
pub struct NodePath(pub GroupName, pub NodeId);

impl<S: Send + Sync> FromRequestParts<S> for NodePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = segments(parts, state).await?;
        Ok(Self(segment(&segments, "name", GroupName::parse)?, segment(&segments, "nodeId", NodeId::parse)?))
    }
}

/// `{app}` (or Red5's `{scope}`) and `{stream}`.
#[derive(Debug, Clone)]
pub struct StreamPath(pub AppName, pub StreamName);

impl<S: Send + Sync> FromRequestParts<S> for StreamPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = segments(parts, state).await?;
        let app_segment = if segments.contains_key("scope") { "scope" } else { "app" };
        Ok(Self(
            segment(&segments, app_segment, AppName::parse)?,
            segment(&segments, "stream", StreamName::parse)?,
        ))
    }
}
