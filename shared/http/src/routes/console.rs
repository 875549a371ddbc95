//! `/console`: the operator's web console, a page and its two assets built
//! into the binary (no CDN: it works offline and on a private API). The
//! page holds no secret; it asks for the admin token, keeps it in the
//! tab's `sessionStorage` (never in a URL or a cookie) and calls the API
//! with it like any client.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const PAGE: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/console.js");
const STYLE: &str = include_str!("../../console/console.css");

/// Scripts and styles from this origin only, no inline code, no frames:
/// a reason or node id that held markup could not run it anyway (the
/// page writes text, not HTML), and nothing may frame the buttons.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                      img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_SECURITY_POLICY, POLICY),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The web console (sign in with the admin token).
#[utoipa::path(get, path = "/console", tag = "console",
    responses((status = 200, description = "The console's page", content_type = "text/html")))]
pub async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

/// The console's script and style.
#[utoipa::path(get, path = "/console/{asset}", tag = "console",
    params(("asset" = String, Path, description = "`console.js` or `console.css`")),
    responses(
        (status = 200, description = "The asset", content_type = "text/javascript"),
        (status = 404, body = crate::error::ErrorBody, description = "No such asset"),
    ))]
pub async fn asset_file(name: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    // A name that is not even UTF-8 is no asset either: the same JSON 404.
    let name = name.map(|Path(name)| name).unwrap_or_default();
    match name.as_str() {
        "console.js" => Ok(asset("text/javascript; charset=utf-8", SCRIPT)),
        "console.css" => Ok(asset("text/css; charset=utf-8", STYLE)),
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such console asset")),
    }
}
