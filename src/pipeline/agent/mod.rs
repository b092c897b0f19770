//! The pipelines a session can run (`pipeline.md` §4) and the one place that builds them:
//! routes call [`build`] and hand the result to a transport; transports never pick an agent.
//!
//! - [`echo`]: every inbound frame back unchanged (keyless default);
//! - [`parrot`]: VAD and turn detection, each user turn played back (keyless);
//! - [`voice`]: STT → LLM → TTS with the configured providers (`pipeline.md` §4.3).
//!
//! [`rtvi`] holds the RTVI request handling every agent shares.

pub mod echo;
pub mod parrot;
pub mod rtvi;
pub mod sentence;
pub mod voice;

use std::sync::Arc;

use crate::services::Services;

/// Whether `services` can run `voice`: STT, LLM and TTS all configured.
pub fn voice_ready(services: &Services) -> bool {
    services.stt.is_some() && services.llm.is_some() && services.tts.is_some()
}

use crate::config::Config;
use crate::config::schema::PipelineKind;
use crate::pipeline::PipelineBuilder;
use crate::pipeline::context::SessionParams;
use crate::transport::output::OutputOptions;

/// A pipeline a client may ask for (`?pipeline=`, `/start`'s `body.pipeline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    /// [`echo`].
    Echo,
    /// [`parrot`].
    Parrot,
    /// [`voice`].
    Voice,
}

/// Why a requested agent cannot run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Not one of `echo`, `parrot`, `voice`.
    #[error("must be echo, parrot or voice")]
    Unknown,
    /// `voice` without a configured LLM, STT and TTS.
    #[error("voice is not configured on this server; use echo or parrot")]
    VoiceUnavailable,
    /// The VAD or turn settings cannot be used (config validation refuses them first).
    #[error("{0}")]
    Turn(#[from] crate::audio::turn::TurnError),
}

impl AgentKind {
    /// The agent a session runs when the client names none: the `pipeline` config key
    /// (`auto` → `voice` when an LLM is configured, else `echo`); `services` are the
    /// process's provider clients (built once at start-up, carried in the server state).
    pub fn configured(config: &Config, services: &Services) -> Self {
        match config.effective_pipeline() {
            PipelineKind::Parrot => Self::Parrot,
            PipelineKind::Voice if voice_ready(services) => Self::Voice,
            // Start-up refuses `voice` without providers; a caller whose services lack a
            // stage (a library user) falls back to echo.
            PipelineKind::Auto | PipelineKind::Echo | PipelineKind::Voice => Self::Echo,
        }
    }

    /// A client's choice (`echo`, `parrot`, `voice`); `None` = the configured default
    /// ([`Self::configured`]).
    ///
    /// # Errors
    /// [`AgentError`] for an unknown name or a `voice` that `services` cannot run.
    pub fn requested(
        name: Option<&str>,
        config: &Config,
        services: &Services,
    ) -> Result<Self, AgentError> {
        match name {
            None | Some("") => Ok(Self::configured(config, services)),
            Some("echo") => Ok(Self::Echo),
            Some("parrot") => Ok(Self::Parrot),
            Some("voice") if voice_ready(services) => Ok(Self::Voice),
            Some("voice") => Err(AgentError::VoiceUnavailable),
            Some(_) => Err(AgentError::Unknown),
        }
    }

    /// The `pipeline` label of metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::Parrot => "parrot",
            Self::Voice => "voice",
        }
    }
}

/// A built agent: its processors (not started), the session settings and how its output
/// stage behaves.
#[derive(Debug)]
pub struct Agent {
    /// Which agent.
    pub kind: AgentKind,
    /// The processors, in order.
    pub pipeline: PipelineBuilder,
    /// Session settings.
    pub params: SessionParams,
    /// Output stage behaviour.
    pub output: OutputOptions,
}

/// Build agent `kind` for one session of `transport` (`websocket`, `webrtc`, `telephony`)
/// whose client audio arrives at `client_rate` Hz and whose wire wants bot audio at
/// `wire_rate` Hz (`None`: the pipeline's output rate). Echo runs at the client's rate (no
/// resampling either way); parrot runs at 16 kHz (the VAD's rate) and answers at the client's
/// rate unless the wire asks for another. `services` are the process's provider clients
/// (shared by every `voice` session; echo and parrot ignore them).
///
/// # Errors
/// [`AgentError::Turn`] when the VAD or turn settings cannot be used;
/// [`AgentError::VoiceUnavailable`] for `voice` when `services` lack STT, LLM or TTS.
pub fn build(
    kind: AgentKind,
    config: &Config,
    services: &Arc<Services>,
    transport: &'static str,
    client_rate: u32,
    wire_rate: Option<u32>,
) -> Result<Agent, AgentError> {
    let mut params = SessionParams {
        in_sample_rate: client_rate,
        out_sample_rate: client_rate,
        allow_interruptions: config.allow_interruptions,
        metrics: config.metrics_enabled,
        pipeline: kind.label(),
        transport,
    };
    Ok(match kind {
        AgentKind::Echo => Agent {
            kind,
            pipeline: PipelineBuilder::default()
                .then(echo::Echo)
                .audio_passes_through(),
            params,
            output: OutputOptions {
                wire_rate,
                rechunk: false,
                speaking_events: false,
            },
        },
        AgentKind::Parrot => {
            params.in_sample_rate = crate::audio::vad::SAMPLE_RATE;
            params.out_sample_rate = crate::audio::vad::SAMPLE_RATE;
            Agent {
                kind,
                pipeline: parrot::pipeline(config)?,
                params,
                output: OutputOptions {
                    wire_rate: wire_rate.or(Some(client_rate)),
                    rechunk: true,
                    speaking_events: true,
                },
            }
        }
        AgentKind::Voice => {
            if !voice_ready(services) {
                return Err(AgentError::VoiceUnavailable);
            }
            let services = services.clone();
            params.in_sample_rate = crate::audio::vad::SAMPLE_RATE;
            params.out_sample_rate = voice::output_rate(&services);
            Agent {
                kind,
                pipeline: voice::pipeline(config, services)?,
                params,
                output: OutputOptions {
                    wire_rate: wire_rate.or(Some(client_rate)),
                    rechunk: true,
                    speaking_events: true,
                },
            }
        }
    })
}
