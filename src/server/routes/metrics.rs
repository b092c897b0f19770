//! `GET /metrics`: Prometheus text format 0.0.4 (`http.md` §7).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::server::app::AppState;

/// Render every metric.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
