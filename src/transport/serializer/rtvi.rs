//! RTVI event shapes used by the JSON and raw wire modes (`wire.md` §1.4, §1.6).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::pipeline::frame::AudioFrame;

/// An RTVI event `{"label":"rtvi-ai","type":<kind>,"data":<data>}` (no `id`).
pub fn event(kind: &str, data: Value) -> Value {
    crate::pipeline::agent::rtvi::message(kind, None, data)
}

/// `bot-tts-audio` with base64 s16le audio (`{audio, sample_rate, num_channels}`).
pub fn tts_audio(audio: &AudioFrame) -> Value {
    event(
        "bot-tts-audio",
        json!({"audio": B64.encode(&audio.pcm), "sample_rate": audio.sample_rate, "num_channels": audio.num_channels}),
    )
}
