//! Local speech-to-text: Whisper (tiny.en) through whisper.cpp (`whisper-rs`), one batch
//! request per user turn (`providers.md` §9).
//!
//! The model is loaded once ([`WhisperStt::load`]) and shared; each turn creates a fresh
//! whisper state, takes a permit of the process-wide [`super::limit`] and runs greedy decoding
//! (best of 1, no temperature fallback, English, no timestamps) on the blocking pool with
//! `local_whisper_threads` threads and an encoder context of `local_whisper_audio_ctx` frames
//! (768 ≈ 15 s roughly halves the time of a short turn against the full 1500).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::metrics::Metrics;
use crate::services::SpeechToText;
use crate::services::error::{ProviderMetrics, ServiceError, Stage};

/// Whisper via whisper.cpp; implements [`SpeechToText`] (input PCM s16le mono 16 kHz).
pub struct WhisperStt {
    ctx: Arc<WhisperContext>,
    model: String,
    threads: i32,
    audio_ctx: i32,
    limit: Arc<Semaphore>,
    metrics: ProviderMetrics,
}

impl WhisperStt {
    /// Load the ggml model at `path` (blocking: ~0.1–0.5 s for tiny.en). `threads` per
    /// inference, `audio_ctx` encoder frames (0 = the model's), `limit` the process-wide
    /// inference semaphore.
    ///
    /// # Errors
    /// A line naming the file when whisper.cpp cannot load it.
    pub fn load(
        path: &Path,
        threads: usize,
        audio_ctx: usize,
        limit: Arc<Semaphore>,
        metrics: Option<&Metrics>,
    ) -> Result<Self, String> {
        whisper_rs::install_logging_hooks();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| format!("{}: whisper.cpp cannot load it: {e}", path.display()))?;
        let model = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "whisper".into());
        Ok(Self {
            ctx: Arc::new(ctx),
            model,
            threads: threads.clamp(1, 64) as i32,
            audio_ctx: audio_ctx.min(1500) as i32,
            limit,
            metrics: ProviderMetrics::new(metrics, Stage::Stt, "whisper"),
        })
    }

    /// Transcribe on the calling thread (blocking). `pcm`: s16le mono 16 kHz.
    ///
    /// # Errors
    /// [`ServiceError::Provider`] when whisper.cpp fails.
    pub fn transcribe_blocking(&self, pcm: &[i16]) -> Result<String, ServiceError> {
        transcribe(&self.ctx, self.threads, self.audio_ctx, pcm)
    }
}

fn provider_error(detail: String) -> ServiceError {
    ServiceError::Provider {
        stage: Stage::Stt,
        detail,
    }
}

fn transcribe(
    ctx: &WhisperContext,
    threads: i32,
    audio_ctx: i32,
    pcm: &[i16],
) -> Result<String, ServiceError> {
    // whisper.cpp needs at least 1 s of input; pad short turns with silence.
    let mut audio: Vec<f32> = pcm.iter().map(|&s| s as f32 / 32768.0).collect();
    if audio.len() < 16_000 + 1_600 {
        audio.resize(16_000 + 1_600, 0.0);
    }
    let mut state = ctx
        .create_state()
        .map_err(|e| provider_error(format!("whisper state: {e}")))?;
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(threads);
    params.set_audio_ctx(audio_ctx);
    params.set_temperature_inc(0.0);
    params.set_language(Some("en"));
    params.set_no_timestamps(true);
    params.set_single_segment(true);
    params.set_no_context(true);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    state
        .full(params, &audio)
        .map_err(|e| provider_error(format!("whisper: {e}")))?;
    let mut text = String::new();
    for seg in state.as_iter() {
        if let Ok(s) = seg.to_str_lossy() {
            text.push_str(&s);
        }
    }
    Ok(text.trim().to_string())
}

#[async_trait]
impl SpeechToText for WhisperStt {
    fn provider(&self) -> &str {
        "whisper"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn transcribe(&self, pcm: &[i16]) -> Result<String, ServiceError> {
        let started = Instant::now();
        let permit = self
            .limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| provider_error("inference limit closed".into()))?;
        let (ctx, threads, audio_ctx) = (self.ctx.clone(), self.threads, self.audio_ctx);
        let pcm = pcm.to_vec();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            transcribe(&ctx, threads, audio_ctx, &pcm)
        })
        .await
        .map_err(|e| provider_error(format!("whisper task: {e}")))?;
        match &result {
            Ok(_) => self.metrics.ttfb(started.elapsed()),
            Err(e) => self.metrics.error(e),
        }
        result
    }
}
