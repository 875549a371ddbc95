//! Route sets, one module per resource, each documented for OpenAPI.

pub mod console;
pub mod enrollment;
pub mod health;
pub mod heartbeats;
pub mod launches;
pub mod lookups;
pub mod nodegroups;
pub mod nodes;
pub mod openapi;
pub mod pool;
pub mod red5;
pub mod redirects;
pub mod scaler;
pub mod series;

/// Paging parameters shared by listings.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}
