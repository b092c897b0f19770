//! ElevenLabs HTTP streaming TTS (`providers.md` §4): per sentence
//! `POST {base}/v1/text-to-speech/{voice_id}/stream?output_format=pcm_24000`, `xi-api-key`,
//! `{"text","model_id","previous_text"}`; the body is headerless PCM s16le mono 24 kHz,
//! chunked. This endpoint carries no alignment (the `stream-input` WebSocket, planned, does).

use async_trait::async_trait;
use serde_json::json;

use super::PcmChunker;
use super::openai::{Decoder, audio_stream};
use crate::metrics::Metrics;
use crate::services::config::Endpoint;
use crate::services::error::{ProviderMetrics, ServiceError, Stage};
use crate::services::http::{self, Policy};
use crate::services::{TTS_SAMPLE_RATE, TextToSpeech, TtsRequest, TtsStream};

/// An ElevenLabs HTTP streaming client.
pub struct ElevenLabsTts {
    endpoint: Endpoint,
    policy: Policy,
    metrics: ProviderMetrics,
}

impl ElevenLabsTts {
    /// A client for `endpoint` (base `https://api.elevenlabs.io`, `voice` = voice id).
    pub fn new(endpoint: Endpoint, metrics: Option<&Metrics>) -> Self {
        let metrics = ProviderMetrics::new(metrics, Stage::Tts, &endpoint.provider);
        Self {
            endpoint,
            policy: Policy::tts(),
            metrics,
        }
    }

    /// Replace the retry/timeout policy (tests shorten the timeouts).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }
}

#[async_trait]
impl TextToSpeech for ElevenLabsTts {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }
    fn sample_rate(&self) -> u32 {
        TTS_SAMPLE_RATE
    }
    async fn synthesize(&self, request: &TtsRequest) -> Result<TtsStream, ServiceError> {
        let voice: String =
            url::form_urlencoded::byte_serialize(self.endpoint.voice.as_bytes()).collect();
        let url = http::join(
            &self.endpoint.base_url,
            &format!("v1/text-to-speech/{voice}/stream?output_format=pcm_{TTS_SAMPLE_RATE}"),
        );
        let mut body = json!({"text": request.text, "model_id": self.endpoint.model});
        if let Some(prev) = request.previous_text.as_deref().filter(|p| !p.is_empty()) {
            body["previous_text"] = json!(prev);
        }
        let body = serde_json::to_vec(&body).expect("JSON encodes");
        let build = || {
            let mut rb = http::client()
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(key) = &self.endpoint.key {
                rb = rb.header("xi-api-key", key.expose());
            }
            rb
        };
        let started = http::send(build, &self.policy, &self.metrics).await?;
        let started_at = started.started_at;
        let body = http::body_stream(started, self.policy.idle, Stage::Tts);
        Ok(audio_stream(
            body,
            Decoder::Pcm(PcmChunker::new(1)),
            started_at,
            self.metrics.clone(),
        ))
    }
}
