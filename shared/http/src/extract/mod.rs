//! Request extractors that turn raw HTTP input into domain values, or into
//! an `ApiError` naming the field at fault.

mod json;
mod path;
mod precondition;
mod query;

pub use json::{JsonBody, RawJson, MAX_BODY_BYTES};
pub use path::{GroupPath, GroupStreamPath, NodePath, PlaylistPath, StreamPath, PLAYLIST_SUFFIX};
pub use precondition::{etag, IfMatch};
pub use query::{Cursor, QueryParams};
