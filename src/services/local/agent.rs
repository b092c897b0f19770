//! `pipeline: auto` with no cloud LLM: the local voice agent (Whisper STT, managed
//! llama-server LLM, Piper TTS) when its models are installed and this build has the local
//! features; otherwise the reason, for the start-up log line naming `voxray models pull`.

use crate::config::Config;
use crate::config::schema::PipelineKind;
use crate::metrics::Metrics;
use crate::services::Services;

/// Whether `auto` should look for the local agent: `pipeline` is `auto` and no cloud LLM
/// (`provider`/`llm_provider`) is configured.
pub fn wanted(config: &Config) -> bool {
    config.pipeline == PipelineKind::Auto
        && config.llm_provider.is_empty()
        && config.provider.is_empty()
}

/// The managed llama-server lives as long as the process.
#[cfg(all(feature = "local-whisper", feature = "local-piper"))]
static LLAMA: std::sync::OnceLock<tokio::sync::Mutex<Option<super::llama::LlamaServer>>> =
    std::sync::OnceLock::new();

/// Start the local services. `Err` is one line saying why not (models missing or corrupt,
/// features not built, llama-server missing) and how to fix it.
///
/// # Errors
/// See above.
#[cfg(all(feature = "local-whisper", feature = "local-piper"))]
pub async fn start(config: &Config, metrics: Option<&Metrics>) -> Result<Services, String> {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::models::{LocalPaths, Manifest, local_problems};
    use crate::services::config::Endpoint;
    use crate::services::error::Stage;
    use crate::services::llm::openai::OpenAiLlm;
    use crate::services::{SttService, TtsService};

    let cfg = config.clone();
    let problems = tokio::task::spawn_blocking(move || local_problems(&cfg, &Manifest::builtin()))
        .await
        .map_err(|e| format!("model check failed: {e}"))?;
    if let Some(first) = problems.first() {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(format!(
            "local models unusable: {first}{more}; install them with `voxray models pull` \
             (or `voxray models pull --mirror URL|DIR`)"
        ));
    }
    let exe = super::llama::executable(&config.local_llama_server).ok_or_else(|| {
        "no llama-server (set local_llama_server; scripts/build-llama-server.sh builds one)"
            .to_string()
    })?;
    let paths = LocalPaths::from_config(config);
    let limit = super::limit(config.local_max_concurrency as usize);
    let threads = config.local_whisper_threads as usize;
    let llama =
        super::llama::LlamaServer::start(&exe, &paths.llm, threads, Duration::from_secs(60))
            .await?;
    let (p, l, m) = (paths.clone(), limit.clone(), metrics.cloned());
    let audio_ctx = config.local_whisper_audio_ctx as usize;
    let (stt, tts) = tokio::task::spawn_blocking(move || {
        let stt = super::whisper::WhisperStt::load(
            &p.whisper,
            threads,
            audio_ctx,
            l.clone(),
            m.as_ref(),
        )?;
        let tts = super::piper::PiperTts::load(&p.piper, &p.onnxruntime, threads, l, m.as_ref())?;
        Ok::<_, String>((stt, tts))
    })
    .await
    .map_err(|e| format!("model load failed: {e}"))??;
    let ep = Endpoint {
        provider: "llamacpp".into(),
        base_url: llama.base_url.clone(),
        key: None,
        model: "smollm2-135m".into(),
        voice: String::new(),
        language: String::new(),
    };
    tracing::info!(llm = %llama.base_url, pid = ?llama.pid(), "local voice agent: whisper STT, llama-server LLM, piper TTS");
    *LLAMA
        .get_or_init(|| tokio::sync::Mutex::new(None))
        .lock()
        .await = Some(llama);
    Ok(Services {
        stt: Some(SttService::Batch(Arc::new(stt))),
        llm: Some(Arc::new(OpenAiLlm::new(ep.clone(), metrics))),
        tts: Some(TtsService::PerSentence(Arc::new(tts))),
        endpoints: vec![(Stage::Llm, ep)],
    })
}

/// Without the local features there is no local agent.
///
/// # Errors
/// Always: the build lacks the features.
#[cfg(not(all(feature = "local-whisper", feature = "local-piper")))]
pub async fn start(_config: &Config, _metrics: Option<&Metrics>) -> Result<Services, String> {
    Err("this build has no local models (cargo features local-whisper and local-piper)".into())
}
