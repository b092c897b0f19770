//! `/health` and `/ready` (`http.md` §7).

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::envelope;
use crate::server::app::{AppState, RequestId};
use crate::server::error::ApiError;
use crate::session::Lifecycle;

/// `GET|HEAD /health`: 200 whenever the process serves HTTP (starting and draining included).
pub async fn health(Extension(id): Extension<RequestId>) -> Response {
    envelope(json!({"status": "ok"}), &id).into_response()
}

/// `GET|HEAD /ready`: 200 once started, not draining and while the session store answers
/// (Redis `PING`, 1 s timeout; memory always ok); else 503 `not_ready` naming the cause. A
/// full `max_sessions` does not make it 503. Sessions already running are never affected.
pub async fn ready(State(state): State<AppState>, Extension(id): Extension<RequestId>) -> Response {
    match state.sessions.lifecycle() {
        Lifecycle::Ready => {}
        Lifecycle::Starting => {
            return ApiError::not_ready()
                .detail("state", "starting")
                .into_response();
        }
        Lifecycle::Draining => {
            return ApiError::not_ready()
                .detail("state", "draining")
                .into_response();
        }
    }
    let up = state.store.ping().await;
    state
        .metrics
        .instance
        .session_store_up
        .set(i64::from(up.is_ok()));
    match up {
        Ok(()) => envelope(
            json!({"status": "ready", "checks": {"session_store": "ok"}}),
            &id,
        )
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: session store check failed");
            ApiError::not_ready()
                .detail("session_store", "redis ping failed")
                .into_response()
        }
    }
}
