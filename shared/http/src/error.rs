//! Every failure of the API as one JSON shape, mapped to its status in one
//! place. Internal causes are logged, never returned.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use streamfleet_core::ports::StoreError;
use streamfleet_core::service::{GroupError, HeartbeatError, LookupError, PoolError, ScalerError};
use streamfleet_core::{FieldError, InvalidInput};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: &'static str,
    pub message: String,
    /// The first offending field, for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule that field broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Every offending field, for input errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    // Boxed: handlers return Result<_, ApiError>, and a small Err keeps the
    // happy path's Result small.
    body: Box<ErrorBody>,
    retry_after_secs: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                code,
                message: message.into(),
                field: None,
                rule: None,
                errors: vec![],
            }),
            retry_after_secs: None,
        }
    }

    pub fn invalid(input: InvalidInput) -> Self {
        let first = input.errors().first().cloned();
        Self {
            status: StatusCode::BAD_REQUEST,
            body: Box::new(ErrorBody {
                code: "validation_failed",
                message: input.to_string(),
                field: first.as_ref().map(|f| f.field.clone()),
                rule: first.map(|f| f.rule),
                errors: input.0,
            }),
            retry_after_secs: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this route needs an Authorization: Bearer <token> header",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "the token presented is not valid for this route")
    }

    pub fn unavailable() -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is briefly unavailable; retry",
        );
        error.retry_after_secs = Some(1);
        error
    }

    /// Tells the caller when to try again.
    pub fn with_retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.body.code
    }

    pub fn message(&self) -> &str {
        &self.body.message
    }

    pub fn retry_after_secs(&self) -> Option<u32> {
        self.retry_after_secs
    }
}

impl From<InvalidInput> for ApiError {
    fn from(input: InvalidInput) -> Self {
        Self::invalid(input)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => {
                Self::new(StatusCode::CONFLICT, "conflict", "a concurrent change got in first; retry")
            }
            StoreError::Unavailable(_) => Self::unavailable(),
            StoreError::Corrupt(what) => {
                tracing::error!(%what, "corrupt item in the store");
                Self::internal()
            }
        }
    }
}

impl From<GroupError> for ApiError {
    fn from(error: GroupError) -> Self {
        let message = error.to_string();
        match error {
            GroupError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            GroupError::AlreadyExists(_) => Self::new(StatusCode::CONFLICT, "already_exists", message),
            GroupError::VersionMismatch { .. } => {
                Self::new(StatusCode::PRECONDITION_FAILED, "precondition_failed", message)
            }
            GroupError::HasNodes { .. } => Self::new(StatusCode::CONFLICT, "has_nodes", message),
            GroupError::Deleting(_) => Self::new(StatusCode::CONFLICT, "deleting", message),
            GroupError::Claimed { .. } => Self::new(StatusCode::CONFLICT, "app_taken", message),
            GroupError::NodeNotFound { .. } => Self::new(StatusCode::NOT_FOUND, "node_not_found", message),
            GroupError::NodeHeld(_) => Self::new(StatusCode::CONFLICT, "held", message),
            GroupError::Raced => Self::new(StatusCode::CONFLICT, "conflict", message),
            GroupError::NotDrainable { .. } => Self::new(StatusCode::CONFLICT, "not_in_service", message),
            GroupError::NoRoom { .. } => {
                let mut error = Self::new(StatusCode::CONFLICT, "no_room", message);
                error.body.field = Some("count".into());
                error.body.rule = Some("within_max".into());
                error
            }
            GroupError::Invalid(input) => Self::invalid(input),
            GroupError::Store(store) => store.into(),
        }
    }
}

impl From<HeartbeatError> for ApiError {
    fn from(error: HeartbeatError) -> Self {
        let message = error.to_string();
        match error {
            HeartbeatError::Forbidden => Self::forbidden(),
            HeartbeatError::StaleEnrollmentKey => {
                Self::new(StatusCode::FORBIDDEN, "stale_enrollment_key", message)
            }
            HeartbeatError::GroupNotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            HeartbeatError::NodeUnknown { .. } => Self::new(StatusCode::NOT_FOUND, "node_unknown", message),
            HeartbeatError::GroupDeleting(_) => Self::new(StatusCode::CONFLICT, "deleting", message),
            HeartbeatError::AlreadyEnrolled(_) => {
                Self::new(StatusCode::CONFLICT, "already_enrolled", message)
            }
            HeartbeatError::NotLaunched { .. } => Self::new(StatusCode::CONFLICT, "not_launched", message),
            HeartbeatError::RegisteredElsewhere(_) => {
                Self::new(StatusCode::CONFLICT, "registered_elsewhere", message)
            }
            HeartbeatError::Revoked => Self::new(StatusCode::FORBIDDEN, "token_revoked", message),
            HeartbeatError::Replayed => Self::new(StatusCode::CONFLICT, "replayed", message),
            HeartbeatError::Mismatch { .. } => {
                Self::new(StatusCode::CONFLICT, "registration_mismatch", message)
            }
            HeartbeatError::Raced => Self::new(StatusCode::CONFLICT, "conflict", message),
            HeartbeatError::Invalid(input) => Self::invalid(input),
            HeartbeatError::Store(store) => store.into(),
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(error: LookupError) -> Self {
        let message = error.to_string();
        match error {
            LookupError::NoGroupForApp(_) => Self::new(StatusCode::NOT_FOUND, "no_group", message),
            LookupError::GroupNotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            LookupError::GroupDeleting(_) => Self::new(StatusCode::CONFLICT, "deleting", message),
            LookupError::NotLive(_) => Self::new(StatusCode::NOT_FOUND, "not_live", message),
            LookupError::NotServed(_) => Self::new(StatusCode::NOT_FOUND, "protocol_not_served", message),
            LookupError::NoRoom { retry_after, .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "no_room", message)
                    .with_retry_after(u32::try_from(retry_after.as_secs().max(1)).unwrap_or(u32::MAX))
            }
            LookupError::Forbidden => Self::forbidden(),
            LookupError::Store(store) => store.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(*self.body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<PoolError> for ApiError {
    fn from(error: PoolError) -> Self {
        let message = error.to_string();
        match error {
            PoolError::Exists(_) => Self::new(StatusCode::CONFLICT, "already_exists", message),
            PoolError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            PoolError::NotTerminated(..) => Self::new(StatusCode::CONFLICT, "not_terminated", message),
            PoolError::NotServing(..) => Self::new(StatusCode::CONFLICT, "not_serving", message),
            PoolError::Invalid(input) => Self::invalid(input),
            PoolError::Store(store) => store.into(),
        }
    }
}

impl From<ScalerError> for ApiError {
    fn from(error: ScalerError) -> Self {
        match error {
            ScalerError::Store(store) => store.into(),
            ScalerError::Fleet(e @ streamfleet_core::ports::FleetError::Refused(_)) => {
                Self::new(StatusCode::CONFLICT, "cloud_refused", e.to_string())
            }
            ScalerError::Fleet(e) => {
                tracing::error!(error = %e, "the cloud backend failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cloud_unavailable",
                    "the cloud backend failed; the next tick retries",
                )
                .with_retry_after(5)
            }
            ScalerError::NoBackend(_) | ScalerError::NoCloud(_) => {
                Self::new(StatusCode::CONFLICT, "no_backend", error.to_string())
            }
            ScalerError::Orders(e) => {
                tracing::error!(error = %e, "tick orders not sent");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_unavailable",
                    "tick orders could not be sent",
                )
                .with_retry_after(5)
            }
        }
    }
}
