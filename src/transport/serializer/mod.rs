//! Wire formats ↔ transport messages, pure functions (`wire.md` §1.3–1.5).
//!
//! [`decode`] turns one WebSocket message into an [`Inbound`]; [`encode`] turns one outbound
//! pipeline frame into a WebSocket message for the session's [`WireFormat`].

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
    /// An empty frame or unknown member: ignored and counted.
    Ignored,
}

/// Why a message could not be decoded (bad protobuf, JSON or base64).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {0} message")]
pub struct DecodeError(pub &'static str);

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
    let value: Value = serde_json::from_str(text).map_err(|_| DecodeError("JSON"))?;
    if value.get("label").and_then(Value::as_str) != Some("rtvi-ai") {
        return Ok(vec![Inbound::App(value)]);
    }
    let data = &value["data"];
    let rate = data["sampleRate"].as_u64().unwrap_or(0) as u32;
    let channels = data["numChannels"].as_u64().unwrap_or(1) as u32;
    let audio = |b64: &str| -> Result<Inbound, DecodeError> {
        let pcm = B64.decode(b64).map_err(|_| DecodeError("base64"))?;
        Ok(Inbound::Audio {
            pcm: pcm.into(),
            sample_rate: rate,
            num_channels: channels,
        })
    };
    match value["type"].as_str() {
        Some("raw-audio") => Ok(vec![audio(
            data["base64Audio"]
                .as_str()
                .ok_or(DecodeError("raw-audio"))?,
        )?]),
        Some("raw-audio-batch") => data["base64AudioBatch"]
            .as_array()
            .ok_or(DecodeError("raw-audio-batch"))?
            .iter()
            .map(|v| audio(v.as_str().ok_or(DecodeError("raw-audio-batch"))?))
            .collect(),
        _ => Ok(vec![Inbound::Rtvi(value)]),
    }
}

/// Decode a binary message.
///
/// # Errors
/// [`DecodeError`] for bad protobuf (protobuf mode).
pub fn decode_binary(
    format: WireFormat,
    data: Bytes,
    sample_rate: u32,
) -> Result<Vec<Inbound>, DecodeError> {
    if format != WireFormat::Protobuf {
        return Ok(vec![Inbound::Audio {
            pcm: data,
            sample_rate,
            num_channels: 1,
        }]);
    }
    let frame = protobuf::Frame::decode(data).map_err(|_| DecodeError("protobuf"))?;
    Ok(vec![match frame.frame {
        None => Inbound::Ignored,
        Some(protobuf::Kind::Audio(a)) => Inbound::Audio {
            pcm: a.audio,
            sample_rate: a.sample_rate,
            num_channels: a.num_channels.max(1),
        },
        Some(protobuf::Kind::Text(t)) => Inbound::Text(t.text),
        Some(protobuf::Kind::Transcription(t)) => Inbound::Transcription {
            text: t.text,
            user_id: t.user_id,
            timestamp: t.timestamp,
        },
        Some(protobuf::Kind::Message(m)) => return decode_json_text(&m.data),
        Some(protobuf::Kind::Interruption(_)) => Inbound::Interruption,
    }])
}

/// Per-session encoder state: the outbound frame id counter of protobuf mode (starts at 1).
#[derive(Debug, Default)]
pub struct Encoder {
    next_id: u64,
}

impl Encoder {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Encode one outbound frame; `None` for frames that have no wire form.
    pub fn encode(&mut self, format: WireFormat, frame: &Frame) -> Option<Outgoing> {
        let rtvi_value = match frame {
            Frame::OutMessage(v) | Frame::UrgentMessage(v) => Some(v.clone()),
            _ => None,
        };
        match format {
            WireFormat::Protobuf => {
                let kind = match frame {
                    Frame::OutputAudio { audio, .. } => {
                        let id = self.id();
                        protobuf::Kind::Audio(protobuf::AudioRawFrame {
                            id,
                            name: format!("OutputAudioRawFrame#{id}"),
                            audio: audio.pcm.clone(),
                            sample_rate: audio.sample_rate,
                            num_channels: u32::from(audio.num_channels),
                            pts: None,
                        })
                    }
                    Frame::Text(text) => {
                        let id = self.id();
                        protobuf::Kind::Text(protobuf::TextFrame { id, name: format!("TextFrame#{id}"), text: text.clone() })
                    }
                    Frame::Transcription { text, user_id, timestamp } => {
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
                    _ => protobuf::Kind::Message(protobuf::MessageFrame { data: rtvi_value?.to_string() }),
                };
                Some(Outgoing::Binary(protobuf::Frame { frame: Some(kind) }.encode_to_vec().into()))
            }
            WireFormat::Json | WireFormat::Raw => match frame {
                Frame::OutputAudio { audio, .. } if format == WireFormat::Raw => Some(Outgoing::Binary(audio.pcm.clone())),
                Frame::OutputAudio { audio, .. } => Some(Outgoing::Text(rtvi::tts_audio(audio).to_string())),
                Frame::Text(text) => Some(Outgoing::Text(rtvi::event("bot-tts-text", json!({"text": text})).to_string())),
                Frame::Transcription { text, user_id, timestamp } => Some(Outgoing::Text(
                    rtvi::event(
                        "user-transcription",
                        json!({"text": text, "user_id": user_id, "timestamp": timestamp, "final": true}),
                    )
                    .to_string(),
                )),
                Frame::Interruption { .. } => Some(Outgoing::Text(rtvi::event("bot-interrupted", json!({})).to_string())),
                _ => Some(Outgoing::Text(rtvi_value?.to_string())),
            },
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
