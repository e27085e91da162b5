//! [`Problem`]: every error answer, as an RFC 9457 problem document (`application/problem+json`)
//! whose `detail` says what was wrong and where.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{app::AppError, backend::BackendError};

/// An error answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub(super) struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The status's reason phrase, e.g. `Not Found`.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What was wrong, naming the collector, model, field or parameter.
    detail: String,
}

impl Problem {
    pub(super) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    pub(super) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub(super) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<AppError> for Problem {
    fn from(error: AppError) -> Self {
        let status = match &error {
            AppError::UnknownCollector { .. } | AppError::UnknownModel { .. } => {
                StatusCode::NOT_FOUND
            }
            AppError::CollectorRunning { .. } | AppError::CollectorEnded { .. } => {
                StatusCode::CONFLICT
            }
            AppError::FanOut { .. } => StatusCode::BAD_REQUEST,
            AppError::Backend(BackendError::BadQuery { .. }) => StatusCode::BAD_REQUEST,
            // The store did not answer: the app goes on, and the request may be asked again.
            AppError::Backend(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // Errors never hold credentials (store passwords are masked where they are made).
        Self::new(status, error.to_string())
    }
}

/// The answer to a path that names nothing.
pub(super) async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!(
        "nothing at {}; the endpoints are listed at /api/docs",
        uri.path()
    ))
}

/// The answer to a method a path does not take.
pub(super) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} does not take {method}; actions are POST, reads GET",
            uri.path()
        ),
    )
}
