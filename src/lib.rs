//! voxray: a real-time voice-agent server, shipped as one `voxray` executable.
//!
//! Browsers, apps and phone carriers connect over WebSocket (`/ws`) or WebRTC; each
//! connection is a session whose audio runs through a pipeline and streams back. Around it:
//! API-key auth, opt-in CORS, body limits, metrics, health and readiness, OpenAPI docs, and
//! the security tools `keygen`, `audit` and `check`.
//!
//! # Layout
//! - [`cli`]: the one clap definition and one file per subcommand (`serve`, `keygen`,
//!   `audit`, `check`, `completions`, `man`, `health`, `models`); `main.rs` only calls [`cli::main`].
//! - [`config`]: the key table, schema and defaults, figment layering (defaults < file <
//!   `VOXRAY_*` env < flags), validation naming the key path, secret resolution and redaction.
//! - [`server`]: the HTTP appliance: router and middleware order, error envelope, auth, CORS,
//!   body limits, connection deadlines and per-address bound, keyless-default guards,
//!   graceful shutdown, route handlers.
//! - [`session`]: admission (`max_sessions`), pending sessions from `/start` in memory or Redis
//!   (`session::store`), lifecycle, and the one-time WebSocket tokens.
//! - [`transport`]: wire ↔ frames: the `/ws` driver with per-session protobuf/JSON/raw
//!   serializers, the WebRTC transport (webrtc-rs peer connections, Opus, RTVI data channel),
//!   inbound audio normalisation and the one shared output stage (pacing, re-chunking,
//!   interruption flush, bot speaking events).
//! - [`pipeline`]: frames, the processor contract and its runner (bounded channels, system
//!   frames first, interruptible), the per-session context, the pipeline builder, the user
//!   turn stage and the agents (`echo`, `parrot`, `voice` with its STT stage and sentence aggregator).
//! - [`audio`]: PCM helpers, Opus and G.711 codecs, rubato resampling, WAV reading, VAD
//!   (energy and earshot, `audio::vad`) and user-turn detection with the turn recorder and
//!   the interruption gate (`audio::turn`): pure per-session state machines.
//! - [`telephony`]: phone calls outside the media pipeline: carrier webhook answers, Twilio
//!   signatures, public URLs, REST hang-up, the Daily dial-in room and token client.
//! - [`pki`]: PEM certificate/key files: loading, key match, expiry.
//! - [`metrics`]: the Prometheus registry and typed handles.
//! - [`models`]: local model files: the pinned manifest, `models_dir`, sha256 checks and
//!   `voxray models pull` (upstream wheels or a mirror, resumable, atomic install).
//! - [`services`]: STT, LLM and TTS provider clients behind small traits (OpenAI-compatible
//!   family, Anthropic, Deepgram, ElevenLabs, Cartesia), the pooled HTTP client with the
//!   retry policy, the SSE parser, and provider selection from the configuration.
//! - [`telemetry`]: tracing set-up (text or JSON on stderr).
//! - [`secret_text`]: leaf module shared by `config` and `security`: token shapes, the `vxr_`
//!   key format, `redact()`, the placeholder classifier, key strength.
//! - [`security`]: keygen, the `audit` secret scanner, the `check` production checklist; no
//!   dependency on `server`.
pub mod audio;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod models;
pub mod pipeline;
pub mod pki;
pub mod secret_text;
pub mod security;
pub mod server;
pub mod services;
pub mod session;
pub mod telemetry;
pub mod telephony;
pub mod transport;
