//! voxray: a real-time voice-agent server, shipped as one `voxray` executable.
//!
//! Browsers, apps and phone carriers connect over WebSocket (`/ws`) or WebRTC; each
//! connection is a session whose audio runs through a pipeline and streams back. Around it:
//! API-key auth, opt-in CORS, body limits, metrics, health and readiness, OpenAPI docs, and
//! the security tools `keygen`, `audit` and `check`.
//!
//! # Layout
//! - [`cli`]: the one clap definition and one file per subcommand (`serve`, `keygen`,
//!   `audit`, `check`, `completions`, `man`, `health`); `main.rs` only calls [`cli::main`].
//! - [`config`]: the key table, schema and defaults, figment layering (defaults < file <
//!   `VOXRAY_*` env < flags), validation naming the key path, secret resolution and redaction.
//! - [`server`]: the HTTP appliance: router and middleware order, error envelope, auth, CORS,
//!   body limits, connection deadlines and per-address bound, keyless-default guards,
//!   graceful shutdown, route handlers.
//! - [`session`]: admission (`max_sessions`), pending sessions from `/start`, lifecycle, and
//!   the one-time WebSocket tokens.
//! - [`transport`]: wire ↔ frames: the `/ws` transport and the protobuf/JSON/raw serializers,
//!   the WebRTC transport (webrtc-rs peer connections, Opus, RTVI data channel).
//! - [`pipeline`]: frames, processors (bounded channels, system frames first), the pipeline
//!   builder and the agents (`echo`).
//! - [`audio`]: PCM helpers, Opus codec, rubato resampling, WAV reading.
//! - [`pki`]: PEM certificate/key files: loading, key match, expiry.
//! - [`metrics`]: the Prometheus registry and typed handles.
//! - [`telemetry`]: tracing set-up (text or JSON on stderr).
//! - [`secret_text`]: leaf module shared by `config` and `security`: token shapes, the `vxr_`
//!   key format, `redact()`, the placeholder classifier, key strength.
//! - [`security`]: keygen, the `audit` secret scanner, the `check` production checklist; no
//!   dependency on `server`.
pub mod audio;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod pipeline;
pub mod pki;
pub mod secret_text;
pub mod security;
pub mod server;
pub mod session;
pub mod telemetry;
pub mod transport;
