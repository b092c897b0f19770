//! OpenAI-compatible batch transcription (`providers.md` §2.2): `POST {base}/audio/transcriptions`,
//! multipart with a real WAV (`audio.wav`, PCM 16-bit mono 16 kHz), `model`,
//! `response_format=json`, `temperature=0`, `language` when set; answer `{"text": …}`.

use async_trait::async_trait;
use bytes::Bytes;

use super::wav_bytes;
use crate::metrics::Metrics;
use crate::services::config::Endpoint;
use crate::services::error::{ProviderMetrics, ServiceError, Stage};
use crate::services::http::{self, Policy};
use crate::services::{STT_SAMPLE_RATE, SpeechToText};

/// Largest transcription answer read, bytes.
const MAX_ANSWER: usize = 1 << 20;

/// A batch STT client for `openai`, `groq` or `openai_compatible`.
pub struct OpenAiStt {
    endpoint: Endpoint,
    policy: Policy,
    metrics: ProviderMetrics,
}

impl OpenAiStt {
    /// A client for `endpoint`, counting into `metrics` when given.
    pub fn new(endpoint: Endpoint, metrics: Option<&Metrics>) -> Self {
        let metrics = ProviderMetrics::new(metrics, Stage::Stt, &endpoint.provider);
        Self {
            endpoint,
            policy: Policy::stt(),
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
impl SpeechToText for OpenAiStt {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }
    fn model(&self) -> &str {
        &self.endpoint.model
    }
    async fn transcribe(&self, pcm: &[i16]) -> Result<String, ServiceError> {
        let wav = Bytes::from(wav_bytes(pcm, STT_SAMPLE_RATE));
        let url = http::join(&self.endpoint.base_url, "audio/transcriptions");
        let build = || {
            let file = reqwest::multipart::Part::stream_with_length(
                reqwest::Body::from(wav.clone()),
                wav.len() as u64,
            )
            .file_name("audio.wav")
            .mime_str("audio/wav")
            .expect("valid MIME type");
            let mut form = reqwest::multipart::Form::new()
                .part("file", file)
                .text("model", self.endpoint.model.clone())
                .text("response_format", "json")
                .text("temperature", "0");
            if !self.endpoint.language.is_empty() {
                form = form.text("language", self.endpoint.language.clone());
            }
            let mut rb = http::client().post(&url).multipart(form);
            if let Some(key) = &self.endpoint.key {
                rb = rb.bearer_auth(key.expose());
            }
            rb
        };
        let started = http::send(build, &self.policy, &self.metrics).await?;
        let started_at = started.started_at;
        let remaining = self.policy.ttfb.saturating_sub(started.sent_at.elapsed());
        let result = http::read_body(started, remaining, MAX_ANSWER, Stage::Stt)
            .await
            .and_then(|body| {
                let v: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|_| ServiceError::Protocol {
                        stage: Stage::Stt,
                        detail: "the transcription answer is not JSON".into(),
                    })?;
                v.get("text")
                    .and_then(|t| t.as_str())
                    .map(|t| t.trim().to_string())
                    .ok_or(ServiceError::Protocol {
                        stage: Stage::Stt,
                        detail: "the transcription answer has no text".into(),
                    })
            });
        match &result {
            Ok(_) => self.metrics.ttfb(started_at.elapsed()),
            Err(e) => self.metrics.error(e),
        }
        result
    }
}
