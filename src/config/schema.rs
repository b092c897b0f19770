//! The effective configuration as typed structs with the defaults of `config.md` §5.
//!
//! Values arrive here only after [`super::validate`] has checked types and ranges against
//! [`super::keys::KEYS`], so deserialisation cannot fail on user input. Secret-bearing keys are
//! kept as the raw file values (`${NAME}`, `file:/path` or a literal); the resolved values live
//! in [`super::secret::Secrets`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which media routes exist (`config.md` §5.1 `transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportMode {
    /// `/ws` only.
    Websocket,
    /// WebRTC offer routes only (`webrtc` is accepted as an alias).
    #[serde(alias = "webrtc")]
    Smallwebrtc,
    /// Both.
    Both,
}

impl TransportMode {
    /// Whether `/ws` exists.
    pub fn websocket(self) -> bool {
        matches!(self, Self::Websocket | Self::Both)
    }
    /// Whether the WebRTC offer routes exist.
    pub fn webrtc(self) -> bool {
        matches!(self, Self::Smallwebrtc | Self::Both)
    }
}

/// Which pipeline a session runs (`pipeline.md` §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PipelineKind {
    /// `voice` when an LLM provider is configured, else `echo`.
    Auto,
    /// Returns every inbound frame unchanged.
    Echo,
    /// Plays each user turn back.
    Parrot,
    /// VAD → STT → LLM → TTS.
    Voice,
}

/// Which VAD analyzer a session runs (`pipeline.md` §5, `config.md` §5 `vad_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VadType {
    /// RMS energy against `vad_threshold` (the default; cheapest).
    Energy,
    /// The earshot neural VAD (pure Rust, weights compiled in; for noisy input).
    Earshot,
}

/// How a user turn ends (`pipeline.md` §6, `turn_detection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnDetection {
    /// `turn_stop_secs` without speech ends the turn (the default).
    Silence,
    /// Trust the streaming STT's own endpointing.
    None,
}

/// When user speech cuts the bot off (`pipeline.md` §7, `interruption_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InterruptionStrategy {
    /// `""` or `none`: plain VAD barge-in on a user turn start (the default).
    #[serde(rename = "", alias = "none")]
    None,
    /// `min_words` (deprecated alias `keyword`): interrupt once the user's transcript for the
    /// turn reaches `min_words` words.
    #[serde(rename = "min_words", alias = "keyword")]
    MinWords,
}

impl InterruptionStrategy {
    /// The `strategy` label of `voxray_interruptions_total` (`pipeline.md` §9).
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::MinWords => "min_words",
        }
    }
}

/// The whole configuration (`config.md` §5). Field names are the JSON key names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub transport: TransportMode,
    pub proxy_host: String,
    /// Raw file value (may be a `${NAME}` or `file:` reference); see [`super::secret`].
    pub server_api_key: String,
    /// Raw file values; see [`super::secret`].
    pub server_api_keys: Vec<String>,
    /// Normalised origins (`scheme://host[:port]`, lower-case, default port removed).
    pub cors_allowed_origins: Vec<String>,
    /// Body limit for JSON routes, bytes.
    pub max_request_body_bytes: u64,
    /// Per WebSocket message limit, bytes.
    pub ws_max_message_bytes: u64,
    pub ws_idle_timeout_secs: u64,
    /// Concurrent session slots, 0 = unlimited.
    pub max_sessions: u64,
    /// Open connections one client IP may hold (0 = unlimited).
    pub max_connections_per_ip: u64,
    pub session_store: String,
    pub redis_url: String,
    pub session_ttl_secs: u64,
    pub shutdown_timeout_secs: u64,
    pub metrics_enabled: bool,
    pub metrics_listen: String,
    pub docs_enabled: bool,
    pub log_level: String,
    pub log_format: String,
    pub keyring_backend: String,
    pub tls_enable: bool,
    pub tls_cert_file: String,
    pub tls_key_file: String,
    pub tls_acme_domains: Vec<String>,
    pub tls_acme_contact: serde_json::Value,
    pub tls_acme_cache_dir: String,
    pub tls_acme_directory_url: String,
    pub tls_acme_ca_file: String,
    pub tls_terminated_upstream: bool,
    pub webrtc_ice_servers: serde_json::Value,
    pub webrtc_public_ips: Vec<String>,
    pub webrtc_udp_port_min: u16,
    pub webrtc_udp_port_max: u16,
    pub webrtc_udp_port: u16,
    pub rtc_max_duration_secs: f64,
    pub pipeline: PipelineKind,
    pub provider: String,
    pub stt_provider: String,
    pub llm_provider: String,
    pub tts_provider: String,
    pub stt_model: String,
    pub stt_language: String,
    pub model: String,
    pub tts_model: String,
    pub tts_voice: String,
    pub stt_base_url: String,
    pub llm_base_url: String,
    pub tts_base_url: String,
    pub system_prompt: String,
    /// Raw file values of provider keys by `api_keys` name; see [`super::secret`].
    pub api_keys: BTreeMap<String, String>,
    pub turn_detection: TurnDetection,
    pub turn_stop_secs: f64,
    pub turn_max_duration_secs: f64,
    pub vad_type: VadType,
    pub vad_threshold: f64,
    pub vad_confidence: f64,
    pub vad_start_secs: f64,
    pub vad_stop_secs: f64,
    pub vad_min_volume: f64,
    pub allow_interruptions: bool,
    pub interruption_strategy: InterruptionStrategy,
    pub min_words: u64,
    pub user_idle_timeout_secs: f64,
    /// Seconds after a barge-in with no transcribed words before the bot resumes the rest
    /// of the interrupted reply (issue 12 §4); `0` disables.
    pub false_interruption_timeout_secs: f64,
    /// Directory of the files `voxray models pull` installs; empty = `$XDG_DATA_HOME/voxray/models`
    /// (else `~/.local/share/voxray/models`).
    pub models_dir: String,
    /// Whisper ggml file; empty = the installed `whisper-tiny.en`.
    pub local_whisper_model: String,
    /// Piper voice `.onnx` (its `.onnx.json` next to it); empty = the installed `piper-joe-medium`.
    pub local_piper_voice: String,
    /// GGUF served by the managed llama-server; empty = the installed `smollm2-135m`.
    pub local_llm_model: String,
    /// `libonnxruntime.so`; empty = `$ORT_DYLIB_PATH`, else the installed `onnxruntime`.
    pub local_onnxruntime: String,
    /// The llama-server executable; empty = `llama-server` on `PATH`.
    pub local_llama_server: String,
    /// Threads of one Whisper inference.
    pub local_whisper_threads: u64,
    /// Whisper encoder context in 20 ms frames (768 ≈ 15 s; 0 = the model's 1500).
    pub local_whisper_audio_ctx: u64,
    /// Local inferences (STT, TTS) running at once in the process; others queue.
    pub local_max_concurrency: u64,
    pub runner_transport: String,
    pub dialin: bool,
    pub daily_dialin_webhook_secret: String,
    pub daily_api_url: String,
    pub twilio_account_sid: String,
    pub twilio_auth_token: String,
    pub telnyx_api_key: String,
    pub plivo_auth_id: String,
    pub plivo_auth_token: String,
    pub twilio_api_base_url: String,
    pub telnyx_api_base_url: String,
    pub plivo_api_base_url: String,
    pub recording: Recording,
    pub transcripts: Transcripts,
    pub mcp: Mcp,
}

/// `recording.*` (S3 upload of call audio).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Recording {
    pub enable: bool,
    pub bucket: String,
    pub base_path: String,
    pub format: String,
    pub worker_count: u64,
    pub queue_cap: u64,
    pub max_retries: u64,
    pub region: String,
    pub endpoint_url: String,
}

/// `transcripts.*` (call transcripts in a SQL database).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Transcripts {
    pub enable: bool,
    pub driver: String,
    pub dsn: String,
    pub table_name: String,
}

/// `mcp.*` (tool server over stdio).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Mcp {
    pub command: String,
    pub args: Vec<String>,
    pub tools_filter: serde_json::Value,
}

impl Default for Recording {
    fn default() -> Self {
        Self {
            enable: false,
            bucket: String::new(),
            base_path: "recordings".into(),
            format: "wav".into(),
            worker_count: 2,
            queue_cap: 32,
            max_retries: 3,
            region: String::new(),
            endpoint_url: String::new(),
        }
    }
}

impl Default for Transcripts {
    fn default() -> Self {
        Self {
            enable: false,
            driver: "sqlite".into(),
            dsn: "voxray-transcripts.db".into(),
            table_name: "call_transcripts".into(),
        }
    }
}

/// Default `max_request_body_bytes` (`http.md` §6): 256 KiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 262_144;

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            transport: TransportMode::Both,
            proxy_host: String::new(),
            server_api_key: String::new(),
            server_api_keys: Vec::new(),
            cors_allowed_origins: Vec::new(),
            max_request_body_bytes: DEFAULT_MAX_BODY_BYTES,
            ws_max_message_bytes: 1_048_576,
            ws_idle_timeout_secs: 300,
            max_sessions: 200,
            max_connections_per_ip: 256,
            session_store: "memory".into(),
            redis_url: String::new(),
            session_ttl_secs: 600,
            shutdown_timeout_secs: 30,
            metrics_enabled: true,
            metrics_listen: String::new(),
            docs_enabled: true,
            log_level: "info".into(),
            log_format: "text".into(),
            keyring_backend: "auto".into(),
            tls_enable: false,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_acme_domains: Vec::new(),
            tls_acme_contact: serde_json::Value::Array(Vec::new()),
            tls_acme_cache_dir: "acme-cache".into(),
            tls_acme_directory_url: "https://acme-v02.api.letsencrypt.org/directory".into(),
            tls_acme_ca_file: String::new(),
            tls_terminated_upstream: false,
            webrtc_ice_servers: serde_json::Value::Array(Vec::new()),
            webrtc_public_ips: Vec::new(),
            webrtc_udp_port_min: 0,
            webrtc_udp_port_max: 0,
            webrtc_udp_port: 0,
            rtc_max_duration_secs: 0.0,
            pipeline: PipelineKind::Auto,
            provider: String::new(),
            stt_provider: String::new(),
            llm_provider: String::new(),
            tts_provider: String::new(),
            stt_model: String::new(),
            stt_language: String::new(),
            model: String::new(),
            tts_model: String::new(),
            tts_voice: String::new(),
            stt_base_url: String::new(),
            llm_base_url: String::new(),
            tts_base_url: String::new(),
            system_prompt:
                "You are a helpful voice assistant. Keep answers short and conversational.".into(),
            api_keys: BTreeMap::new(),
            turn_detection: TurnDetection::Silence,
            turn_stop_secs: 0.6,
            turn_max_duration_secs: 30.0,
            vad_type: VadType::Energy,
            vad_threshold: 0.02,
            vad_confidence: 0.7,
            vad_start_secs: 0.2,
            vad_stop_secs: 0.2,
            vad_min_volume: 0.0,
            allow_interruptions: true,
            interruption_strategy: InterruptionStrategy::None,
            min_words: 3,
            user_idle_timeout_secs: 0.0,
            false_interruption_timeout_secs: 1.5,
            models_dir: String::new(),
            local_whisper_model: String::new(),
            local_piper_voice: String::new(),
            local_llm_model: String::new(),
            local_onnxruntime: String::new(),
            local_llama_server: String::new(),
            local_whisper_threads: 2,
            local_whisper_audio_ctx: 768,
            local_max_concurrency: 1,
            runner_transport: String::new(),
            dialin: false,
            daily_dialin_webhook_secret: String::new(),
            daily_api_url: "https://api.daily.co/v1".into(),
            twilio_account_sid: String::new(),
            twilio_auth_token: String::new(),
            telnyx_api_key: String::new(),
            plivo_auth_id: String::new(),
            plivo_auth_token: String::new(),
            twilio_api_base_url: "https://api.twilio.com".into(),
            telnyx_api_base_url: "https://api.telnyx.com".into(),
            plivo_api_base_url: "https://api.plivo.com".into(),
            recording: Recording::default(),
            transcripts: Transcripts::default(),
            mcp: Mcp::default(),
        }
    }
}

impl Config {
    /// The pipeline `auto` resolves to: `voice` when an LLM provider is named, else `echo`.
    pub fn effective_pipeline(&self) -> PipelineKind {
        match self.pipeline {
            PipelineKind::Auto if self.llm_provider.is_empty() && self.provider.is_empty() => {
                PipelineKind::Echo
            }
            PipelineKind::Auto => PipelineKind::Voice,
            other => other,
        }
    }
}
