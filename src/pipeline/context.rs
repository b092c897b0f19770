//! The per-session context every stage of one session shares (`DESIGN.md`, "How data
//! flows"): identity, cancellation, the tasks stages own, the bot-turn counters with the
//! interrupted-turn watermark, and the tracing span.
//!
//! The turn counters are atomics so the decision "is the bot active?" and the generic discard
//! of stale frames need no message round trip: an interruption is visible to every stage the
//! moment it is decided, before the `Interruption` frame itself reaches them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
use crate::pipeline::frame::Frame;

/// Frame copies one observer tap may hold before further copies are dropped.
pub const TAP_CAPACITY: usize = 256;

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
    has_observers: AtomicBool,
    observers: Mutex<Vec<mpsc::Sender<Frame>>>,
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
            has_observers: AtomicBool::new(false),
            observers: Mutex::new(Vec::new()),
        })
    }

    /// A new observer tap (`pipeline.md` §2): a copy of every frame the session's output
    /// stage hands to the transport (bot audio, events, bot speaking events), in order. The
    /// tap is bounded ([`TAP_CAPACITY`]) and never blocks the session: when it is full the copy
    /// is dropped and counted in `voxray_observer_frames_dropped_total`.
    pub fn observe(&self) -> mpsc::Receiver<Frame> {
        let (tx, rx) = mpsc::channel(TAP_CAPACITY);
        self.observers.lock().expect("observers lock").push(tx);
        self.has_observers.store(true, Ordering::Release);
        rx
    }

    /// Offer a copy of `frame` to every observer without waiting (no cost without observers).
    pub fn tap(&self, frame: &Frame) {
        if !self.has_observers.load(Ordering::Acquire) {
            return;
        }
        let mut observers = self.observers.lock().expect("observers lock");
        observers.retain(|tx| match tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.observer_dropped.inc();
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
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

    #[test]
    fn a_full_tap_drops_and_counts_without_blocking() {
        let ctx = SessionContext::new("t", SessionParams::default(), Metrics::new());
        ctx.tap(&Frame::Interruption { turn_id: 1 }); // no observer: nothing happens
        let mut rx = ctx.observe();
        for t in 0..(TAP_CAPACITY as u64 + 10) {
            ctx.tap(&Frame::Interruption { turn_id: t });
        }
        assert_eq!(ctx.metrics.observer_dropped.get(), 10);
        assert!(matches!(
            rx.try_recv(),
            Ok(Frame::Interruption { turn_id: 0 })
        ));
        drop(rx);
        ctx.tap(&Frame::Interruption { turn_id: 0 });
        assert!(ctx.observers.lock().unwrap().is_empty());
    }
}
