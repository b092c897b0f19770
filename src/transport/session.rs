//! What every transport session shares: the session metrics and the admission slot
//! ([`SessionGuard`]) and the mapping of client control messages to frames ([`control_frame`]).

use std::time::Instant;

use crate::metrics::Metrics;
use crate::pipeline::context::SessionContext;
use crate::pipeline::frame::{AudioFrame, Frame};
use crate::pipeline::processor::{Link, TrySendError};
use crate::session::Slot;
use crate::transport::serializer::Inbound;

/// A running session as the metrics see it: creating it increments
/// `voxray_sessions_active{transport}` and `voxray_sessions_started_total{transport}`;
/// dropping it decrements the gauge, observes `voxray_session_duration_seconds{transport}`
/// and frees the admission slot it holds (if any).
pub struct SessionGuard {
    metrics: Metrics,
    transport: &'static str,
    started: Instant,
    slot: Option<Slot>,
}

impl std::fmt::Debug for SessionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard")
            .field("transport", &self.transport)
            .field("started", &self.started)
            .finish()
    }
}

impl SessionGuard {
    /// Start accounting a session of `transport` (`websocket`, `webrtc`, `telephony`).
    /// `slot` is released when the guard drops; `None` when someone else holds it.
    pub fn new(metrics: &Metrics, transport: &'static str, slot: Option<Slot>) -> Self {
        metrics
            .sessions_active
            .with_label_values(&[transport])
            .inc();
        metrics
            .sessions_started
            .with_label_values(&[transport])
            .inc();
        Self {
            metrics: metrics.clone(),
            transport,
            started: Instant::now(),
            slot,
        }
    }

    /// Seconds since the session started.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.metrics
            .sessions_active
            .with_label_values(&[self.transport])
            .dec();
        self.metrics
            .session_duration
            .with_label_values(&[self.transport])
            .observe(self.started.elapsed().as_secs_f64());
        drop(self.slot.take());
    }
}

/// What a transport does with one decoded non-audio inbound item.
#[derive(Debug)]
pub enum Control {
    /// Push this frame into the pipeline (control frames wait; they are never dropped).
    Frame(Frame),
    /// Nothing to do (application messages, audio handled elsewhere).
    Skip,
    /// Ignored and counted in `voxray_ws_invalid_messages_total`.
    Invalid,
}

/// Map a decoded client message (`wire.md` §1.6) to its pipeline frame: text, transcripts,
/// interruptions, RTVI requests (`disconnect-bot` ends the session gracefully). A
/// client-initiated interruption cuts the session's latest bot turn at once (the watermark
/// moves here, before the frame reaches any stage).
pub fn control_frame(item: Inbound, session: &SessionContext) -> Control {
    Control::Frame(match item {
        Inbound::Text(text) => Frame::UserText {
            text,
            run_immediately: true,
            audio_response: true,
        },
        Inbound::Transcription {
            text,
            user_id,
            timestamp,
        } => Frame::Transcription {
            text,
            is_final: true,
            user_id,
            timestamp,
            language: None,
        },
        Inbound::Interruption => {
            let turn_id = session.latest_turn();
            session.interrupt(turn_id);
            Frame::Interruption { turn_id }
        }
        Inbound::Rtvi(msg) if msg["type"] == "disconnect-bot" => Frame::End {
            reason: "disconnect-bot".into(),
        },
        Inbound::Rtvi(msg) => Frame::ClientMessage(msg),
        Inbound::Dtmf(digit) => Frame::InputDtmf { digit },
        // `Stop` and `Mark` are the driver's (it ends the session; it times the bot turn end).
        Inbound::App(_) | Inbound::Audio { .. } | Inbound::Stop | Inbound::Mark(_) => {
            return Control::Skip;
        }
        Inbound::Ignored => return Control::Invalid,
    })
}

/// Push one inbound audio frame without waiting (`pipeline.md` §3): a full inbox drops the
/// new frame and counts it in `voxray_audio_frames_dropped_total{direction="in",
/// reason="queue_full"}`. Returns `false` when the pipeline is gone.
pub fn push_audio(input: &Link, audio: AudioFrame, t_in: Instant, metrics: &Metrics) -> bool {
    match input.try_send(Frame::InputAudio { audio, t_in }) {
        Ok(()) => true,
        Err(TrySendError::Full) => {
            metrics
                .audio_frames_dropped
                .with_label_values(&["in", "queue_full"])
                .inc();
            true
        }
        Err(TrySendError::Closed) => false,
    }
}
