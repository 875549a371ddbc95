use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The OpenAPI document, serialized once, when it is first asked for (not
/// during a cold start: few invocations of a function ever serve it).
#[derive(Clone)]
pub struct OpenApiJson(pub Bytes);

/// This document: every route of every streamfleet function.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], crate::openapi::document_json().0)
}
