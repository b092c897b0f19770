//! The per-session context every stage of one session shares (`DESIGN.md`, "How data
//! flows"): identity, cancellation, the tasks stages own, the bot-turn counters with the
//! interrupted-turn watermark, and the tracing span.
//!
//! The turn counters are atomics so the decision "is the bot active?" and the generic discard
//! of stale frames need no message round trip: an interruption is visible to every stage the
//! moment it is decided, before the `Interruption` frame itself reaches them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;

/// Settings of one session's pipeline, fixed at start.
#[derive(Debug, Clone)]
pub struct SessionParams {
    /// Pipeline input rate in Hz (16000 for WebSocket and WebRTC).
    pub in_sample_rate: u32,
    /// Pipeline output rate in Hz (echo: the input rate; parrot: the input rate; voice: TTS).
    pub out_sample_rate: u32,
    /// `allow_interruptions` (`pipeline.md` §7).
    pub allow_interruptions: bool,
    /// `metrics_enabled`: per-turn RTVI `metrics` events.
    pub metrics: bool,
    /// The `pipeline` label of metrics (`echo`, `parrot`, `voice`).
    pub pipeline: &'static str,
    /// The `transport` label of metrics (`websocket`, `webrtc`, `telephony`).
    pub transport: &'static str,
}

impl Default for SessionParams {
    fn default() -> Self {
        Self {
            in_sample_rate: 16_000,
            out_sample_rate: 16_000,
            allow_interruptions: true,
            metrics: false,
            pipeline: "echo",
            transport: "test",
        }
    }
}

/// What every stage of one session shares. Cheap to clone behind an [`Arc`].
#[derive(Debug)]
pub struct SessionContext {
    /// Session id (UUID v4 text) for logs.
    pub id: String,
    /// Cancelled when the session ends; tasks stages spawn watch it.
    pub cancel: CancellationToken,
    /// Every task a stage spawns for this session (playback, provider streams) runs on it,
    /// so the session can wait for all of them at its end.
    pub tasks: TaskTracker,
    /// Fixed settings.
    pub params: SessionParams,
    /// Process metrics handles.
    pub metrics: Metrics,
    /// The session's tracing span.
    pub span: tracing::Span,
    latest_turn: AtomicU64,
    interrupted_turn: AtomicU64,
    finished_turn: AtomicU64,
}

impl SessionContext {
    /// A new context; `id` names the session in logs.
    pub fn new(id: impl Into<String>, params: SessionParams, metrics: Metrics) -> Arc<Self> {
        let id = id.into();
        let span = tracing::info_span!("session", id = %id, pipeline = params.pipeline);
        Arc::new(Self {
            id,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            params,
            metrics,
            span,
            latest_turn: AtomicU64::new(0),
            interrupted_turn: AtomicU64::new(0),
            finished_turn: AtomicU64::new(0),
        })
    }

    /// Allocate the id of a new bot turn (1, 2, …).
    pub fn new_turn(&self) -> u64 {
        self.latest_turn.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The latest bot turn id allocated (0 before the first).
    pub fn latest_turn(&self) -> u64 {
        self.latest_turn.load(Ordering::Acquire)
    }

    /// Record that every bot turn up to `turn_id` is interrupted. Returns `true` when this
    /// raised the watermark (the first interruption of that turn).
    pub fn interrupt(&self, turn_id: u64) -> bool {
        self.interrupted_turn.fetch_max(turn_id, Ordering::AcqRel) < turn_id
    }

    /// The interrupted-turn watermark: data frames with `turn_id ≤` this are stale.
    pub fn interrupted_turn(&self) -> u64 {
        self.interrupted_turn.load(Ordering::Acquire)
    }

    /// Record that bot turn `turn_id` played out to its end.
    pub fn finish_turn(&self, turn_id: u64) {
        self.finished_turn.fetch_max(turn_id, Ordering::AcqRel);
    }

    /// The bot turn that is active (allocated, neither interrupted nor played out), if any:
    /// what a barge-in interrupts.
    pub fn active_turn(&self) -> Option<u64> {
        let latest = self.latest_turn();
        let done = self
            .interrupted_turn()
            .max(self.finished_turn.load(Ordering::Acquire));
        (latest > done).then_some(latest)
    }

    /// Whether a frame of `turn_id` is stale (its turn was interrupted). Turn 0 never is.
    pub fn is_stale(&self, turn_id: Option<u64>) -> bool {
        turn_id.is_some_and(|t| t <= self.interrupted_turn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_counters() {
        let ctx = SessionContext::new("t", SessionParams::default(), Metrics::new());
        assert_eq!(ctx.active_turn(), None);
        let t1 = ctx.new_turn();
        assert_eq!((t1, ctx.active_turn()), (1, Some(1)));
        ctx.finish_turn(1);
        assert_eq!(ctx.active_turn(), None);
        let t2 = ctx.new_turn();
        assert!(ctx.interrupt(t2));
        assert!(!ctx.interrupt(t2));
        assert!(ctx.is_stale(Some(2)) && ctx.is_stale(Some(1)));
        assert!(!ctx.is_stale(Some(3)) && !ctx.is_stale(None));
        assert_eq!(ctx.active_turn(), None);
    }
}
