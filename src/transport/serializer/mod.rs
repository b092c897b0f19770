//! Wire formats ↔ transport messages, pure functions (`wire.md` §1.3–1.5).
//!
//! Each session owns one [`Serializer`] (chosen by [`for_format`]): `decode` turns one
//! WebSocket message into [`Inbound`] items, `encode` one outbound pipeline frame into a
//! message. [`rtvi_event`] is the one mapping of frames to RTVI events, shared by every wire.

pub mod carrier;
pub mod protobuf;
pub mod rtvi;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use prost::Message as _;
use serde_json::{Value, json};

use crate::pipeline::frame::{AudioFrame, Frame};

/// The `/ws` wire mode (`?format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// Pipecat `frames.proto` in binary messages only (default).
    Protobuf,
    /// RTVI JSON in text messages; audio as base64.
    Json,
    /// Bare PCM s16le mono in binary messages; RTVI JSON in text messages.
    Raw,
}

/// One decoded client message.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// User audio: s16le, `sample_rate` 0 = the session's `sample_rate`.
    Audio {
        pcm: Bytes,
        sample_rate: u32,
        num_channels: u32,
    },
    /// Typed text.
    Text(String),
    /// A client-supplied final transcript.
    Transcription {
        text: String,
        user_id: String,
        timestamp: String,
    },
    /// An RTVI message (has `"label":"rtvi-ai"`).
    Rtvi(Value),
    /// An application message (JSON without the RTVI label); ignored by the built-in agents.
    App(Value),
    /// Client-initiated interruption.
    Interruption,
    /// A DTMF digit from a phone caller (`0`–`9`, `*`, `#`, `A`–`D`; `wire.md` §3.3).
    Dtmf(char),
    /// A carrier's `stop`: the call is over; the driver ends the session at once (no
    /// hang-up request, `wire.md` §3.3).
    Stop,
    /// A Twilio `mark` echo: the caller heard audio up to the mark of this name.
    Mark(String),
    /// An empty frame or unknown member: ignored and counted.
    Ignored,
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Bad protobuf, JSON or base64, or a required member missing.
    #[error("malformed {0} message")]
    Malformed(&'static str),
    /// An audio message stated a rate outside [`crate::audio::CLIENT_SAMPLE_RATES`] (0 means
    /// the session's rate and is allowed).
    #[error("audio sample_rate {0} Hz is not supported (8000 to 48000)")]
    SampleRate(u64),
    /// An audio message stated a channel count outside [`crate::audio::CLIENT_CHANNELS`].
    #[error("audio num_channels {0} is not supported (1 or 2)")]
    Channels(u64),
}

/// Check a client-stated audio format against the one table of accepted rates and channel
/// counts before anything is sized from it. `rate` 0 = the session's rate.
///
/// # Errors
/// [`DecodeError::SampleRate`] or [`DecodeError::Channels`].
pub fn check_audio_format(rate: u64, channels: u64) -> Result<(u32, u32), DecodeError> {
    let rate = match u32::try_from(rate) {
        Ok(0) => 0,
        Ok(r) if crate::audio::CLIENT_SAMPLE_RATES.contains(&r) => r,
        _ => return Err(DecodeError::SampleRate(rate)),
    };
    match u32::try_from(channels) {
        Ok(c) if crate::audio::CLIENT_CHANNELS.contains(&c) => Ok((rate, c)),
        _ => Err(DecodeError::Channels(channels)),
    }
}

/// A WebSocket message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Binary message.
    Binary(Bytes),
    /// Text message.
    Text(String),
}

/// Parse a JSON text message: RTVI (with `raw-audio` / `raw-audio-batch` turned into audio)
/// or an application message.
///
/// # Errors
/// [`DecodeError`] for invalid JSON or base64.
pub fn decode_json_text(text: &str) -> Result<Vec<Inbound>, DecodeError> {
    let mut out = Vec::with_capacity(1);
    decode_json_into(text, &mut out)?;
    Ok(out)
}

/// [`decode_json_text`] appending to `out`.
///
/// # Errors
/// [`DecodeError`] for invalid JSON or base64 or a refused audio format.
pub fn decode_json_into(text: &str, out: &mut Vec<Inbound>) -> Result<(), DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|_| DecodeError::Malformed("JSON"))?;
    if value.get("label").and_then(Value::as_str) != Some("rtvi-ai") {
        out.push(Inbound::App(value));
        return Ok(());
    }
    let data = &value["data"];
    let audio = |b64: &str| -> Result<Inbound, DecodeError> {
        let (rate, channels) = check_audio_format(
            number(&data["sampleRate"], 0)?,
            number(&data["numChannels"], 1)?,
        )?;
        let pcm = B64
            .decode(b64)
            .map_err(|_| DecodeError::Malformed("base64"))?;
        Ok(Inbound::Audio {
            pcm: pcm.into(),
            sample_rate: rate,
            num_channels: channels,
        })
    };
    match value["type"].as_str() {
        Some("raw-audio") => {
            let b64 = data["base64Audio"]
                .as_str()
                .ok_or(DecodeError::Malformed("raw-audio"))?;
            out.push(audio(b64)?);
        }
        Some("raw-audio-batch") => {
            let batch = data["base64AudioBatch"]
                .as_array()
                .ok_or(DecodeError::Malformed("raw-audio-batch"))?;
            let start = out.len();
            for v in batch {
                let item = v
                    .as_str()
                    .ok_or(DecodeError::Malformed("raw-audio-batch"))
                    .and_then(audio);
                match item {
                    Ok(a) => out.push(a),
                    Err(e) => {
                        out.truncate(start);
                        return Err(e);
                    }
                }
            }
        }
        _ => out.push(Inbound::Rtvi(value)),
    }
    Ok(())
}

/// A JSON member that must be a non-negative integer when present; `default` when absent
/// or null.
fn number(v: &Value, default: u64) -> Result<u64, DecodeError> {
    match v {
        Value::Null => Ok(default),
        v => v.as_u64().ok_or(DecodeError::Malformed("raw-audio")),
    }
}

/// Decode one protobuf `Frame` (`wire.md` §1.3), appending what it carries to `out`.
///
/// # Errors
/// [`DecodeError`] for bad protobuf or a refused audio format.
pub fn decode_protobuf(data: Bytes, out: &mut Vec<Inbound>) -> Result<(), DecodeError> {
    let frame = protobuf::Frame::decode(data).map_err(|_| DecodeError::Malformed("protobuf"))?;
    out.push(match frame.frame {
        None => Inbound::Ignored,
        Some(protobuf::Kind::Audio(a)) => {
            // An unset num_channels (0) means mono.
            let channels = u64::from(a.num_channels.max(1));
            let (sample_rate, num_channels) =
                check_audio_format(u64::from(a.sample_rate), channels)?;
            Inbound::Audio {
                pcm: a.audio,
                sample_rate,
                num_channels,
            }
        }
        Some(protobuf::Kind::Text(t)) => Inbound::Text(t.text),
        Some(protobuf::Kind::Transcription(t)) => Inbound::Transcription {
            text: t.text,
            user_id: t.user_id,
            timestamp: t.timestamp,
        },
        Some(protobuf::Kind::Message(m)) => return decode_json_into(&m.data, out),
        Some(protobuf::Kind::Interruption(_)) => Inbound::Interruption,
    });
    Ok(())
}

/// One inbound WebSocket data message.
#[derive(Debug, Clone, Copy)]
pub enum WireMessage<'a> {
    /// A binary message.
    Binary(&'a Bytes),
    /// A text message.
    Text(&'a str),
}

/// A per-session wire format (`DESIGN.md`, "Transports"): decodes client messages into
/// [`Inbound`] items and encodes pipeline frames into messages. A carrier's media stream is a
/// serializer plus the same WebSocket driver.
pub trait Serializer: Send {
    /// Decode one message, appending what it carries to `out` (cleared by the caller).
    ///
    /// # Errors
    /// [`DecodeError`] for a malformed message or a refused audio format; nothing is appended.
    fn decode(&mut self, msg: WireMessage<'_>, out: &mut Vec<Inbound>) -> Result<(), DecodeError>;

    /// Encode one outbound frame; `None` for frames that have no wire form in this format.
    fn encode(&mut self, frame: &Frame) -> Option<Outgoing>;
}

/// The serializer of a `/ws` wire mode; `sample_rate` (Hz) is the rate of bare PCM binary
/// messages (`json` and `raw` modes, `?sample_rate=`). A protobuf frame that states no rate
/// decodes with rate 0, which the transport reads as the session's rate.
pub fn for_format(format: WireFormat, sample_rate: u32) -> Box<dyn Serializer> {
    match format {
        WireFormat::Protobuf => Box::new(ProtobufSerializer {
            next_id: 0,
            buf: bytes::BytesMut::new(),
        }),
        WireFormat::Json => Box::new(JsonSerializer {
            sample_rate,
            raw: false,
        }),
        WireFormat::Raw => Box::new(JsonSerializer {
            sample_rate,
            raw: true,
        }),
    }
}

/// The RTVI event a frame becomes on every wire (`wire.md` §1.6), if any. Audio has no event
/// here (its form depends on the mode).
pub fn rtvi_event(frame: &Frame) -> Option<Value> {
    Some(match frame {
        Frame::OutMessage(v) | Frame::UrgentMessage(v) | Frame::TurnMessage { message: v, .. } => {
            v.clone()
        }
        Frame::TtsText { text, .. } => rtvi::event("bot-tts-text", json!({"text": text})),
        Frame::Transcription {
            text,
            is_final,
            user_id,
            timestamp,
            ..
        } => rtvi::event(
            "user-transcription",
            json!({"text": text, "user_id": user_id, "timestamp": timestamp, "final": is_final}),
        ),
        Frame::Interruption { .. } => rtvi::event("bot-interrupted", json!({})),
        Frame::UserStartedSpeaking { .. } => rtvi::event("user-started-speaking", json!({})),
        Frame::UserStoppedSpeaking { .. } => rtvi::event("user-stopped-speaking", json!({})),
        Frame::BotStartedSpeaking { .. } => rtvi::event("bot-started-speaking", json!({})),
        Frame::BotStoppedSpeaking { .. } => rtvi::event("bot-stopped-speaking", json!({})),
        Frame::LlmResponseStart { .. } => rtvi::event("bot-llm-started", json!({})),
        Frame::LlmResponseEnd { .. } => rtvi::event("bot-llm-stopped", json!({})),
        Frame::LlmText { text, .. } => rtvi::event("bot-llm-text", json!({"text": text})),
        Frame::TtsStarted { .. } => rtvi::event("bot-tts-started", json!({})),
        Frame::TtsStopped { .. } => rtvi::event("bot-tts-stopped", json!({})),
        Frame::Error { message, fatal, .. } => {
            crate::pipeline::agent::rtvi::error_event(message, *fatal)
        }
        _ => return None,
    })
}

/// Pipecat `frames.proto` in binary messages (`wire.md` §1.3); the outbound frame id counter
/// starts at 1.
#[derive(Debug)]
pub struct ProtobufSerializer {
    next_id: u64,
    /// Reused encoding buffer: each audio message is split off it, so its memory comes back
    /// once the message has been written (no allocation per frame in steady state).
    buf: bytes::BytesMut,
}

impl ProtobufSerializer {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

impl Serializer for ProtobufSerializer {
    fn decode(&mut self, msg: WireMessage<'_>, out: &mut Vec<Inbound>) -> Result<(), DecodeError> {
        match msg {
            WireMessage::Binary(data) => decode_protobuf(data.clone(), out),
            WireMessage::Text(text) => decode_json_into(text, out),
        }
    }

    fn encode(&mut self, frame: &Frame) -> Option<Outgoing> {
        let kind = match frame {
            Frame::OutputAudio { audio, .. } => {
                let id = self.id();
                if self.buf.capacity() < 2 * audio.pcm.len() + 64 {
                    self.buf.reserve(4 * 1024.max(audio.pcm.len() + 64));
                }
                protobuf::encode_output_audio(
                    &mut self.buf,
                    id,
                    &audio.pcm,
                    audio.sample_rate,
                    u32::from(audio.num_channels),
                );
                return Some(Outgoing::Binary(self.buf.split().freeze()));
            }
            Frame::TtsText { text, .. } => {
                let id = self.id();
                protobuf::Kind::Text(protobuf::TextFrame {
                    id,
                    name: format!("TextFrame#{id}"),
                    text: text.clone(),
                })
            }
            Frame::Transcription {
                text,
                user_id,
                timestamp,
                is_final: true,
                ..
            } => {
                let id = self.id();
                protobuf::Kind::Transcription(protobuf::TranscriptionFrame {
                    id,
                    name: format!("TranscriptionFrame#{id}"),
                    text: text.clone(),
                    user_id: user_id.clone(),
                    timestamp: timestamp.clone(),
                })
            }
            Frame::Interruption { .. } => {
                let id = self.id();
                protobuf::Kind::Interruption(protobuf::InterruptionFrame {
                    id,
                    name: format!("InterruptionFrame#{id}"),
                })
            }
            other => protobuf::Kind::Message(protobuf::MessageFrame {
                data: rtvi_event(other)?.to_string(),
            }),
        };
        Some(Outgoing::Binary(
            protobuf::Frame { frame: Some(kind) }.encode_to_vec().into(),
        ))
    }
}

/// RTVI JSON in text messages (`json`: audio as base64 `raw-audio` / `bot-tts-audio`) or,
/// with `raw`, bare PCM s16le mono in binary messages and RTVI JSON in text messages
/// (`wire.md` §1.4–1.5). Binary messages are PCM at the session's rate in both.
#[derive(Debug)]
pub struct JsonSerializer {
    sample_rate: u32,
    raw: bool,
}

impl Serializer for JsonSerializer {
    fn decode(&mut self, msg: WireMessage<'_>, out: &mut Vec<Inbound>) -> Result<(), DecodeError> {
        match msg {
            WireMessage::Binary(data) => {
                out.push(Inbound::Audio {
                    pcm: data.clone(),
                    sample_rate: self.sample_rate,
                    num_channels: 1,
                });
                Ok(())
            }
            WireMessage::Text(text) => decode_json_into(text, out),
        }
    }

    fn encode(&mut self, frame: &Frame) -> Option<Outgoing> {
        match frame {
            Frame::OutputAudio { audio, .. } if self.raw => {
                Some(Outgoing::Binary(audio.pcm.clone()))
            }
            Frame::OutputAudio { audio, .. } => {
                Some(Outgoing::Text(rtvi::tts_audio(audio).to_string()))
            }
            other => Some(Outgoing::Text(rtvi_event(other)?.to_string())),
        }
    }
}

/// Helper for tests and clients: an [`AudioFrame`] from samples.
pub fn audio_frame(samples: &[i16], sample_rate: u32) -> AudioFrame {
    AudioFrame {
        pcm: crate::audio::pcm::to_bytes(samples),
        sample_rate,
        num_channels: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_audio_formats_come_from_one_table() {
        assert_eq!(check_audio_format(0, 1), Ok((0, 1)));
        assert_eq!(check_audio_format(8_000, 2), Ok((8_000, 2)));
        assert_eq!(check_audio_format(48_000, 1), Ok((48_000, 1)));
        for rate in [1, 7_999, 48_001, u64::from(u32::MAX), 1 << 32 | 16_000] {
            assert_eq!(
                check_audio_format(rate, 1),
                Err(DecodeError::SampleRate(rate))
            );
        }
        for ch in [0, 3, 1_000_000] {
            assert_eq!(
                check_audio_format(16_000, ch),
                Err(DecodeError::Channels(ch))
            );
        }
    }

    #[test]
    fn refused_formats_are_decode_errors_in_both_modes() {
        let json = r#"{"label":"rtvi-ai","type":"raw-audio","data":{"base64Audio":"AAA=","sampleRate":4294967295}}"#;
        assert_eq!(
            decode_json_text(json),
            Err(DecodeError::SampleRate(4_294_967_295))
        );
        let frame = protobuf::Frame {
            frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
                id: 0,
                name: String::new(),
                audio: vec![0; 4].into(),
                sample_rate: 1,
                num_channels: 1,
                pts: None,
            })),
        };
        let mut out = Vec::new();
        assert_eq!(
            decode_protobuf(frame.encode_to_vec().into(), &mut out),
            Err(DecodeError::SampleRate(1))
        );
        assert!(out.is_empty());
    }
}
