//! Graceful shutdown (`http.md` §8.3): the first SIGTERM/SIGINT flips `/ready` to 503 and
//! refuses new sessions while running sessions go on for up to `shutdown_timeout_secs`; then
//! WebSocket sessions close with 1001 and the process exits 0. A second signal exits at once
//! with status 130.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::metrics::Metrics;
use crate::session::{Lifecycle, SessionRegistry};

/// Wait for the first SIGTERM or SIGINT.
pub async fn first_signal() {
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received: draining"),
        _ = int.recv() => tracing::info!("SIGINT received: draining"),
    }
}

/// Exit with status 130 on the next SIGTERM or SIGINT (spawned once draining starts).
pub fn exit_on_second_signal() {
    tokio::spawn(async {
        first_signal().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
}

/// Running sessions of every transport.
fn running(metrics: &Metrics) -> i64 {
    ["websocket", "webrtc", "telephony"]
        .iter()
        .map(|t| metrics.sessions_active.with_label_values(&[t]).get())
        .sum()
}

/// Drain: mark the registry draining, wait until no session runs or `timeout` passes, then
/// tell the rest to close and give them a moment to send their close frames.
pub async fn drain(sessions: &SessionRegistry, metrics: &Metrics, timeout: Duration) {
    sessions.set_lifecycle(Lifecycle::Draining);
    let deadline = tokio::time::Instant::now() + timeout;
    while running(metrics) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = running(metrics);
    if left > 0 {
        tracing::info!(sessions = left, "drain timeout reached: closing sessions");
    }
    sessions.close_all();
    let grace = tokio::time::Instant::now() + Duration::from_secs(2);
    while running(metrics) > 0 && tokio::time::Instant::now() < grace {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
