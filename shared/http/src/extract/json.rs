//! JSON request bodies: size-limited, content-type checked, decoded with the
//! offending field named.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use streamfleet_core::decode;

use crate::error::ApiError;

/// Largest request body accepted. A node group spec is a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A body decoded as JSON into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let RawJson(bytes) = RawJson::from_request(request, state).await?;
        Ok(Self(decode::from_slice(&bytes)?))
    }
}

/// A JSON body not decoded yet: for handlers that must check a credential
/// before they look at what the caller sent.
#[derive(Debug)]
pub struct RawJson(pub axum::body::Bytes);

impl RawJson {
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        Ok(decode::from_slice(&self.0)?)
    }
}

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        Ok(Self(read_limited(request.into_body()).await?))
    }
}

async fn read_limited(body: Body) -> Result<axum::body::Bytes, ApiError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body exceeds {MAX_BODY_BYTES} bytes"),
        )),
        Err(_) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_body", "the request body could not be read"))
        }
    }
}
