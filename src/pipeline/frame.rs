//! Frames: the typed messages that move through a session's pipeline (`pipeline.md` §1).
//!
//! System frames ([`Frame::is_system`]) travel on a separate, prioritised channel and overtake
//! queued data frames; data frames keep their order within a direction.

use std::time::Instant;

use bytes::Bytes;
use serde_json::Value;

/// A chunk of PCM audio: signed 16-bit little-endian, interleaved when `num_channels` > 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// PCM s16le bytes (2 bytes per sample per channel).
    pub pcm: Bytes,
    /// Sample rate in Hz (8000–48000).
    pub sample_rate: u32,
    /// Channels; the pipeline itself works on mono (1).
    pub num_channels: u16,
}

impl AudioFrame {
    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        let samples = self.pcm.len() / 2 / usize::from(self.num_channels.max(1));
        samples as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// One frame.
#[derive(Debug, Clone)]
pub enum Frame {
    // --- data frames (ordered) ---
    /// User audio as the transport read it; `t_in` is when the message was fully read.
    InputAudio { audio: AudioFrame, t_in: Instant },
    /// Bot audio for the transport; `t_in` carries the inbound time on the echo path.
    OutputAudio {
        audio: AudioFrame,
        turn_id: u64,
        t_in: Option<Instant>,
    },
    /// Text: typed input inbound, bot text outbound.
    Text(String),
    /// A transcript (client-supplied or from STT).
    Transcription {
        text: String,
        user_id: String,
        timestamp: String,
    },
    /// An RTVI event that must stay in step with audio.
    OutMessage(Value),
    /// Drain what is queued, then stop.
    End { reason: String },
    // --- system frames (prioritised) ---
    /// An RTVI request from the client (`client-ready`, `send-text`, …), the whole message.
    ClientMessage(Value),
    /// An RTVI reply that must not wait behind audio (`bot-ready`, `error-response`, `error`).
    UrgentMessage(Value),
    /// Barge-in or client-initiated interruption of bot turn `turn_id`.
    Interruption { turn_id: u64 },
    /// Stop now; queued data is discarded.
    Cancel { reason: String },
}

impl Frame {
    /// Whether this frame travels on the system channel.
    pub fn is_system(&self) -> bool {
        matches!(
            self,
            Frame::ClientMessage(_)
                | Frame::UrgentMessage(_)
                | Frame::Interruption { .. }
                | Frame::Cancel { .. }
        )
    }
}
