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

/// HLS players ask for a playlist file: a path ending in `.m3u8`.
pub const PLAYLIST_SUFFIX: &str = ".m3u8";

/// `{app}` and `{playlist}`: the stream whose playlist is `<stream>.m3u8`.
/// (API Gateway's path variables are whole segments, so the suffix is
/// checked here rather than in the route.)
#[derive(Debug, Clone)]
pub struct PlaylistPath(pub AppName, pub StreamName);

impl<S: Send + Sync> FromRequestParts<S> for PlaylistPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = segments(parts, state).await?;
        let app = segment(&segments, "app", AppName::parse)?;
        let playlist = segments.get("playlist").map(String::as_str).unwrap_or_default();
        let stream = playlist.strip_suffix(PLAYLIST_SUFFIX).ok_or_else(|| {
            ApiError::invalid(InvalidInput::one(
                "playlist",
                "playlist_name",
                format!("the playlist is the stream's name followed by {PLAYLIST_SUFFIX}"),
            ))
        })?;
        let stream = StreamName::parse(stream)
            .map_err(|e| ApiError::invalid(InvalidInput::one("playlist", "format", e.to_string())))?;
        Ok(Self(app, stream))
    }
}

/// `{nodeGroup}`, `{app}` and `{stream}`: Red5 Pro Stream Manager 2.0's
/// stream paths (its `streamGuid` is `<app>/<stream>`).
#[derive(Debug, Clone)]
pub struct GroupStreamPath(pub GroupName, pub AppName, pub StreamName);

impl<S: Send + Sync> FromRequestParts<S> for GroupStreamPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = segments(parts, state).await?;
        Ok(Self(
            segment(&segments, "nodeGroup", GroupName::parse)?,
            segment(&segments, "app", AppName::parse)?,
            segment(&segments, "stream", StreamName::parse)?,
        ))
    }
}
