//! A `/ws` test client: speech files as 16 kHz samples, audio messages in each wire mode, and
//! a reader that timestamps what the server sends (audio bytes and RTVI events).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use voxray::audio::{pcm, resample, wav};
use voxray::transport::serializer::protobuf;

use super::audio_dir;

/// 20 ms at 16 kHz.
pub const FRAME: usize = 320;

/// The `/ws` wire modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Protobuf,
    Json,
    Raw,
}

impl Mode {
    pub fn query(self) -> &'static str {
        match self {
            Mode::Protobuf => "format=protobuf",
            Mode::Json => "format=json",
            Mode::Raw => "format=raw",
        }
    }
}

/// 16 kHz mono s16 samples of a test file, converted with the real resampler when needed.
pub fn speech(name: &str) -> Vec<i16> {
    let audio = wav::read_mono(&audio_dir().join(name)).unwrap();
    let samples = resample::resample(&audio.samples, audio.sample_rate, 16_000).unwrap();
    samples.into_iter().map(pcm::f32_to_i16).collect()
}

/// One audio message of `samples` (16 kHz) in `mode`.
pub fn audio_message(mode: Mode, samples: &[i16]) -> Message {
    match mode {
        Mode::Protobuf => {
            let frame = protobuf::Frame {
                frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
                    id: 0,
                    name: String::new(),
                    audio: pcm::to_bytes(samples),
                    sample_rate: 16_000,
                    num_channels: 1,
                    pts: None,
                })),
            };
            Message::Binary(frame.encode_to_vec().into())
        }
        Mode::Json => {
            let msg = json!({"label": "rtvi-ai", "type": "raw-audio",
                "data": {"base64Audio": B64.encode(pcm::to_bytes(samples)), "sampleRate": 16000, "numChannels": 1}});
            Message::Text(msg.to_string().into())
        }
        Mode::Raw => Message::Binary(pcm::to_bytes(samples).to_vec().into()),
    }
}

/// An RTVI message in `mode` (protobuf: inside a `message` frame).
pub fn rtvi_message(mode: Mode, msg: &Value) -> Message {
    match mode {
        Mode::Protobuf => {
            let frame = protobuf::Frame {
                frame: Some(protobuf::Kind::Message(protobuf::MessageFrame {
                    data: msg.to_string(),
                })),
            };
            Message::Binary(frame.encode_to_vec().into())
        }
        _ => Message::Text(msg.to_string().into()),
    }
}

/// What one server message carried.
#[derive(Debug, Clone)]
pub enum Got {
    /// Bot audio bytes (PCM s16le) and the rate stated with them (raw mode: 0).
    Audio(Vec<u8>, u32),
    /// An RTVI event (`type`), or `interruption` for the protobuf interruption frame.
    Event(String, Value),
    Other,
}

/// Classify one server message in `mode`.
pub fn classify(mode: Mode, msg: &Message) -> Got {
    match (mode, msg) {
        (Mode::Protobuf, Message::Binary(b)) => {
            match protobuf::Frame::decode(b.clone())
                .ok()
                .and_then(|f| f.frame)
            {
                Some(protobuf::Kind::Audio(a)) => Got::Audio(a.audio.to_vec(), a.sample_rate),
                Some(protobuf::Kind::Message(m)) => {
                    let v: Value = serde_json::from_str(&m.data).unwrap_or(Value::Null);
                    Got::Event(v["type"].as_str().unwrap_or("").to_string(), v)
                }
                Some(protobuf::Kind::Interruption(_)) => {
                    Got::Event("interruption".into(), Value::Null)
                }
                Some(protobuf::Kind::Text(t)) => Got::Event("text".into(), json!(t.text)),
                Some(protobuf::Kind::Transcription(t)) => {
                    Got::Event("transcription".into(), json!(t.text))
                }
                None => Got::Other,
            }
        }
        (Mode::Raw, Message::Binary(b)) => Got::Audio(b.to_vec(), 0),
        (_, Message::Text(t)) => {
            let v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
            let kind = v["type"].as_str().unwrap_or("").to_string();
            if kind == "bot-tts-audio" {
                let rate = v["data"]["sample_rate"].as_u64().unwrap_or(0) as u32;
                Got::Audio(
                    B64.decode(v["data"]["audio"].as_str().unwrap()).unwrap(),
                    rate,
                )
            } else {
                Got::Event(kind, v)
            }
        }
        _ => Got::Other,
    }
}

/// Everything the server sent, with arrival times, until the socket closed or the reader was
/// stopped.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub items: Vec<(Instant, Got)>,
}

impl Received {
    /// Arrival time of the first event `kind` (at or after `from`).
    pub fn event_at(&self, kind: &str, from: Instant) -> Option<Instant> {
        self.items.iter().find_map(|(t, g)| match g {
            Got::Event(k, _) if k == kind && *t >= from => Some(*t),
            _ => None,
        })
    }

    /// How many server events of type `kind` arrived.
    pub fn event_count(&self, kind: &str) -> usize {
        self.items
            .iter()
            .filter(|(_, g)| matches!(g, Got::Event(k, _) if k == kind))
            .count()
    }

    /// The RTVI event types in order.
    pub fn events(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|(_, g)| match g {
                Got::Event(k, _) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }

    /// Arrival times of audio messages and their lengths in bytes.
    pub fn audio(&self) -> Vec<(Instant, usize)> {
        self.items
            .iter()
            .filter_map(|(t, g)| match g {
                Got::Audio(b, _) => Some((*t, b.len())),
                _ => None,
            })
            .collect()
    }
}

/// Connect to `url`, stream `samples` at real time in 20 ms frames (then `tail_ms` of
/// silence), and record everything the server sends until `until` says stop (checked on each
/// message) or `max` passes. Returns what was received and when the first frame was sent.
pub async fn talk(
    url: &str,
    mode: Mode,
    samples: Vec<i16>,
    tail_ms: u64,
    max: Duration,
    until: impl Fn(&Received) -> bool,
) -> (Received, Instant) {
    talk_then(url, mode, samples, tail_ms, None, max, until).await
}

/// [`talk`], then send the RTVI message `then` (e.g. a `client-ready`, whose `bot-ready`
/// answer is a positive signal that everything the server had to say about the audio before
/// it has arrived).
pub async fn talk_then(
    url: &str,
    mode: Mode,
    samples: Vec<i16>,
    tail_ms: u64,
    then: Option<Value>,
    max: Duration,
    until: impl Fn(&Received) -> bool,
) -> (Received, Instant) {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (mut tx, mut rx) = ws.split();
    let mut frames: Vec<Vec<i16>> = samples.chunks(FRAME).map(<[i16]>::to_vec).collect();
    frames.extend((0..tail_ms / 20).map(|_| vec![0i16; FRAME]));
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for f in frames {
            tick.tick().await;
            if tx.send(audio_message(mode, &f)).await.is_err() {
                return tx;
            }
        }
        if let Some(m) = then {
            let _ = tx.send(rtvi_message(mode, &m)).await;
        }
        tx
    });
    let mut got = Received::default();
    let deadline = tokio::time::Instant::now() + max;
    loop {
        match tokio::time::timeout_at(deadline, rx.next()).await {
            Ok(Some(Ok(m))) => {
                got.items.push((Instant::now(), classify(mode, &m)));
                if until(&got) {
                    break;
                }
            }
            _ => break,
        }
    }
    sender.abort();
    (got, start)
}
