//! Frames: the typed messages that move through a session's pipeline (`pipeline.md` §1).
//!
//! System frames ([`Frame::is_system`]) travel on a separate, prioritised channel and overtake
//! queued data frames (they never overtake each other); data frames keep their order within a
//! direction. Every frame produced for one bot response carries that response's `turn_id`
//! ([`Frame::turn_id`]); turn ids start at 1 and `0` means "no bot turn" (the echo agent), which
//! is never discarded by an interruption.

use std::time::Instant;

use bytes::Bytes;
use serde_json::Value;

/// A chunk of PCM audio: signed 16-bit little-endian, interleaved when `num_channels` > 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// PCM s16le bytes (2 bytes per sample per channel).
    pub pcm: Bytes,
    /// Sample rate in Hz (8000–48000 from clients; up to 48000 from TTS).
    pub sample_rate: u32,
    /// Channels; the pipeline itself works on mono (1).
    pub num_channels: u16,
}

impl AudioFrame {
    /// Mono PCM s16le audio at `sample_rate` Hz.
    pub fn mono(pcm: Bytes, sample_rate: u32) -> Self {
        Self {
            pcm,
            sample_rate,
            num_channels: 1,
        }
    }

    /// Number of samples per channel.
    pub fn samples(&self) -> usize {
        self.pcm.len() / 2 / usize::from(self.num_channels.max(1))
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// One frame.
#[derive(Debug, Clone)]
pub enum Frame {
    // --- data frames (ordered) ---
    /// User audio as the transport read it; `t_in` is when the message was fully read.
    InputAudio { audio: AudioFrame, t_in: Instant },
    /// Bot audio for the transport, at the pipeline's output rate. `t_in` carries the inbound
    /// time on the echo path (for `voxray_audio_frame_latency_seconds`).
    OutputAudio {
        audio: AudioFrame,
        turn_id: u64,
        t_in: Option<Instant>,
    },
    /// The audio of one finished user turn (`pipeline.md` §6): 300 ms of pre-roll, the speech,
    /// and at most 200 ms after the last speech, mono at the pipeline input rate. What batch
    /// STT uploads and parrot plays back. Follows the turn's `UserStoppedSpeaking`.
    UserTurnAudio { audio: AudioFrame },
    /// A user transcript (client-supplied or from STT). `timestamp` is RFC 3339 UTC.
    Transcription {
        text: String,
        is_final: bool,
        user_id: String,
        timestamp: String,
        language: Option<String>,
    },
    /// Typed user input (`send-text`, protobuf `text`, DTMF turns).
    UserText {
        text: String,
        run_immediately: bool,
        audio_response: bool,
    },
    /// A bot response starts (LLM or parrot).
    LlmResponseStart { turn_id: u64 },
    /// An LLM text delta.
    LlmText { turn_id: u64, text: String },
    /// A bot response's text is complete.
    LlmResponseEnd { turn_id: u64 },
    /// One sentence handed to TTS (also what the client sees as bot text).
    TtsText { turn_id: u64, text: String },
    /// TTS audio of a turn starts.
    TtsStarted { turn_id: u64 },
    /// TTS audio of a turn is complete: the output stage may flush a partial 20 ms chunk.
    TtsStopped { turn_id: u64 },
    /// An RTVI event that must stay in step with audio (e.g. `bot-output`).
    OutMessage(Value),
    /// An RTVI event of bot turn `turn_id` kept in step with its audio (`bot-output`, the
    /// false-interruption resume notice): dropped with the turn's audio on an interruption.
    TurnMessage { turn_id: u64, message: Value },
    /// A DTMF digit from the user (`0`–`9`, `*`, `#`, `A`–`D`).
    InputDtmf { digit: char },
    /// Drain what is queued, then stop.
    End { reason: String },

    // --- system frames (prioritised) ---
    /// First frame of a session.
    Start {
        /// Pipeline input rate, Hz.
        in_sample_rate: u32,
        /// Pipeline output rate, Hz.
        out_sample_rate: u32,
        allow_interruptions: bool,
        metrics: bool,
    },
    /// Stop now; queued data is discarded.
    Cancel { reason: String },
    /// Barge-in or client-initiated interruption of bot turn `turn_id` (and every earlier one).
    Interruption { turn_id: u64 },
    /// A user turn started (VAD entered speaking, `pipeline.md` §6).
    UserStartedSpeaking { at: Instant },
    /// A user turn ended.
    UserStoppedSpeaking { at: Instant },
    /// The first audio of bot turn `turn_id` was handed to the transport.
    BotStartedSpeaking { turn_id: u64, at: Instant },
    /// The last audio of bot turn `turn_id` played out (or it was interrupted).
    BotStoppedSpeaking { turn_id: u64, at: Instant },
    /// A provider or processing failure in `stage`; `fatal` ends the session (close 1011).
    Error {
        stage: &'static str,
        message: String,
        fatal: bool,
    },
    /// Per-turn figures for observers (`pipeline.md` §9): `(processor, seconds)` pairs.
    Metrics {
        stage: &'static str,
        ttfb: Vec<(String, f64)>,
    },
    /// An RTVI request from the client (`client-ready`, `send-text`, …), the whole message.
    ClientMessage(Value),
    /// An RTVI reply that must not wait behind audio (`bot-ready`, `error-response`, `error`).
    UrgentMessage(Value),
    /// A stage's own timer fired: sent by a task the stage owns into its own inbox (the
    /// voice agent's false-interruption and user-idle deadlines). Carries nothing; the stage
    /// re-checks its deadlines. Never leaves the stage.
    Wake,
}

impl Frame {
    /// Whether this frame travels on the system channel.
    pub fn is_system(&self) -> bool {
        matches!(
            self,
            Frame::Start { .. }
                | Frame::Cancel { .. }
                | Frame::Interruption { .. }
                | Frame::UserStartedSpeaking { .. }
                | Frame::UserStoppedSpeaking { .. }
                | Frame::BotStartedSpeaking { .. }
                | Frame::BotStoppedSpeaking { .. }
                | Frame::Error { .. }
                | Frame::Metrics { .. }
                | Frame::ClientMessage(_)
                | Frame::UrgentMessage(_)
                | Frame::Wake
        )
    }

    /// The bot turn a data frame belongs to: `Some(k)` with `k ≥ 1` for frames of a bot
    /// response, `None` for everything else (including echo's turn 0).
    pub fn turn_id(&self) -> Option<u64> {
        let id = match self {
            Frame::OutputAudio { turn_id, .. }
            | Frame::LlmResponseStart { turn_id }
            | Frame::LlmText { turn_id, .. }
            | Frame::LlmResponseEnd { turn_id }
            | Frame::TtsText { turn_id, .. }
            | Frame::TtsStarted { turn_id }
            | Frame::TtsStopped { turn_id }
            | Frame::TurnMessage { turn_id, .. } => *turn_id,
            _ => 0,
        };
        (id != 0).then_some(id)
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::InputAudio { .. } => "InputAudio",
            Frame::OutputAudio { .. } => "OutputAudio",
            Frame::UserTurnAudio { .. } => "UserTurnAudio",
            Frame::Transcription { .. } => "Transcription",
            Frame::UserText { .. } => "UserText",
            Frame::LlmResponseStart { .. } => "LlmResponseStart",
            Frame::LlmText { .. } => "LlmText",
            Frame::LlmResponseEnd { .. } => "LlmResponseEnd",
            Frame::TtsText { .. } => "TtsText",
            Frame::TtsStarted { .. } => "TtsStarted",
            Frame::TtsStopped { .. } => "TtsStopped",
            Frame::OutMessage(_) => "OutMessage",
            Frame::TurnMessage { .. } => "TurnMessage",
            Frame::InputDtmf { .. } => "InputDtmf",
            Frame::End { .. } => "End",
            Frame::Start { .. } => "Start",
            Frame::Cancel { .. } => "Cancel",
            Frame::Interruption { .. } => "Interruption",
            Frame::UserStartedSpeaking { .. } => "UserStartedSpeaking",
            Frame::UserStoppedSpeaking { .. } => "UserStoppedSpeaking",
            Frame::BotStartedSpeaking { .. } => "BotStartedSpeaking",
            Frame::BotStoppedSpeaking { .. } => "BotStoppedSpeaking",
            Frame::Error { .. } => "Error",
            Frame::Metrics { .. } => "Metrics",
            Frame::ClientMessage(_) => "ClientMessage",
            Frame::UrgentMessage(_) => "UrgentMessage",
            Frame::Wake => "Wake",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_turns() {
        let audio = AudioFrame::mono(vec![0; 640].into(), 16_000);
        assert_eq!(audio.samples(), 320);
        assert!((audio.duration_secs() - 0.02).abs() < 1e-9);
        let out = Frame::OutputAudio {
            audio,
            turn_id: 3,
            t_in: None,
        };
        assert!(!out.is_system());
        assert_eq!(out.turn_id(), Some(3));
        assert_eq!(
            Frame::TtsText {
                turn_id: 0,
                text: "x".into()
            }
            .turn_id(),
            None
        );
        assert!(Frame::Interruption { turn_id: 1 }.is_system());
        assert!(
            !Frame::End {
                reason: String::new()
            }
            .is_system()
        );
    }
}
