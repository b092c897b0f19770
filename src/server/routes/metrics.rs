//! `GET /metrics`: Prometheus text format 0.0.4 (`http.md` §7).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::server::app::AppState;
use crate::session::Lifecycle;

/// Render every metric, after setting the `voxray_instance_*` gauges from the registry.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    instance_gauges(&state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Set `voxray_instance_*` from the session registry and the running-session gauges.
pub fn instance_gauges(state: &AppState) {
    let m = &state.metrics;
    let g = &m.instance;
    let active: i64 = ["websocket", "webrtc", "telephony"]
        .iter()
        .map(|t| m.sessions_active.with_label_values(&[t]).get())
        .sum();
    let used = i64::try_from(state.sessions.slots_in_use()).unwrap_or(i64::MAX);
    let max = i64::try_from(state.config.max_sessions).unwrap_or(i64::MAX);
    let draining = state.sessions.lifecycle() == Lifecycle::Draining;
    g.active_sessions.set(active);
    g.slots_in_use.set(used);
    g.max_sessions.set(max);
    g.draining.set(i64::from(draining));
    g.capacity_left.set(match (draining, max) {
        (true, _) => 0,
        (false, 0) => -1,
        (false, max) => (max - used).max(0),
    });
}
