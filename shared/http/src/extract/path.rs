//! The `{name}` path segment of node-group routes, as a validated name.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use streamfleet_core::names::GroupName;
use streamfleet_core::InvalidInput;

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct GroupPath(pub GroupName);

impl<S: Send + Sync> FromRequestParts<S> for GroupPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        #[derive(serde::Deserialize)]
        struct Params {
            name: String,
        }
        let Path(params) = Path::<Params>::from_request_parts(parts, state).await.map_err(|_| {
            ApiError::invalid(InvalidInput::one("name", "required", "the path names no node group"))
        })?;
        GroupName::parse(params.name)
            .map(Self)
            .map_err(|e| ApiError::invalid(InvalidInput::one("name", e.rule, e.to_string())))
    }
}
