//! OpenAI-compatible speech (`providers.md` §2.3): `POST {base}/audio/speech` with
//! `{"model","input","voice","response_format":"pcm"}` (headerless PCM s16le mono 24 kHz,
//! streamed), or `"wav"` for `groq` (RIFF header parsed, audio at the header's rate, down-mixed
//! to mono).

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::json;

use super::{PcmChunker, WavHeaderReader};
use crate::metrics::Metrics;
use crate::services::config::Endpoint;
use crate::services::error::{ProviderMetrics, ServiceError, Stage};
use crate::services::http::{self, Policy};
use crate::services::{TTS_SAMPLE_RATE, TextToSpeech, TtsEvent, TtsRequest, TtsStream};

/// A speech client for `openai`, `groq` or `openai_compatible`.
pub struct OpenAiTts {
    endpoint: Endpoint,
    policy: Policy,
    metrics: ProviderMetrics,
}

impl OpenAiTts {
    /// A client for `endpoint`, counting into `metrics` when given.
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

    fn wav(&self) -> bool {
        self.endpoint.provider == "groq"
    }
}

pub(crate) enum Decoder {
    /// Headerless PCM s16le mono at 24 kHz.
    Pcm(PcmChunker),
    WavHeader(WavHeaderReader),
    Wav(PcmChunker, u32),
}

#[async_trait]
impl TextToSpeech for OpenAiTts {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }
    fn sample_rate(&self) -> u32 {
        TTS_SAMPLE_RATE
    }
    async fn synthesize(&self, request: &TtsRequest) -> Result<TtsStream, ServiceError> {
        let url = http::join(&self.endpoint.base_url, "audio/speech");
        let body = json!({
            "model": self.endpoint.model,
            "input": request.text,
            "voice": self.endpoint.voice,
            "response_format": if self.wav() { "wav" } else { "pcm" },
        });
        let body = serde_json::to_vec(&body).expect("JSON encodes");
        let build = || {
            let mut rb = http::client()
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(key) = &self.endpoint.key {
                rb = rb.bearer_auth(key.expose());
            }
            rb
        };
        let started = http::send(build, &self.policy, &self.metrics).await?;
        let started_at = started.started_at;
        let metrics = self.metrics.clone();
        let decoder = if self.wav() {
            Decoder::WavHeader(WavHeaderReader::default())
        } else {
            Decoder::Pcm(PcmChunker::new(1))
        };
        let body = http::body_stream(started, self.policy.idle, Stage::Tts);
        Ok(audio_stream(body, decoder, started_at, metrics))
    }
}

pub(crate) fn audio_stream(
    body: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, ServiceError>>,
    decoder: Decoder,
    started_at: std::time::Instant,
    metrics: ProviderMetrics,
) -> TtsStream {
    let state = (body, decoder, false, false);
    futures_util::stream::unfold(state, move |(mut body, mut dec, mut first, done)| {
        let metrics = metrics.clone();
        async move {
            if done {
                return None;
            }
            loop {
                let chunk = match body.next().await {
                    None => {
                        if let Decoder::WavHeader(_) = dec {
                            let e = ServiceError::StreamCut { stage: Stage::Tts };
                            metrics.error(&e);
                            return Some((Err(e), (body, dec, first, true)));
                        }
                        return None;
                    }
                    Some(Err(e)) => {
                        metrics.error(&e);
                        return Some((Err(e), (body, dec, first, true)));
                    }
                    Some(Ok(c)) => c,
                };
                let out = match &mut dec {
                    Decoder::Pcm(c) => c.push(chunk).map(|pcm| (pcm, TTS_SAMPLE_RATE)),
                    Decoder::Wav(c, rate) => c.push(chunk).map(|pcm| (pcm, *rate)),
                    Decoder::WavHeader(h) => match h.push(&chunk) {
                        Ok(None) => None,
                        Ok(Some((format, rest))) => {
                            let mut c = PcmChunker::new(format.channels as usize);
                            let out = c.push(rest).map(|pcm| (pcm, format.sample_rate));
                            dec = Decoder::Wav(c, format.sample_rate);
                            out
                        }
                        Err(detail) => {
                            let e = ServiceError::Protocol {
                                stage: Stage::Tts,
                                detail,
                            };
                            metrics.error(&e);
                            return Some((Err(e), (body, dec, first, true)));
                        }
                    },
                };
                if let Some((pcm, sample_rate)) = out {
                    if !first {
                        first = true;
                        metrics.ttfb(started_at.elapsed());
                    }
                    return Some((
                        Ok(TtsEvent::Audio { pcm, sample_rate }),
                        (body, dec, first, false),
                    ));
                }
            }
        }
    })
    .boxed()
}
