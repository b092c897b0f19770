//! Provider errors (`providers.md` §7) and the per-provider metric handles (`pipeline.md` §9).
//!
//! Error texts never hold a key or a full provider body: provider messages are redacted and
//! cut to 200 characters before they are stored.

use std::fmt;
use std::time::Duration;

use prometheus::{Histogram, IntCounter};

use crate::metrics::Metrics;

/// Pipeline stage of a provider, the `stage` metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Speech to text.
    Stt,
    /// Language model.
    Llm,
    /// Text to speech.
    Tts,
}

impl Stage {
    /// `stt`, `llm` or `tts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Stt => "stt",
            Stage::Llm => "llm",
            Stage::Tts => "tts",
        }
    }
    /// Upper-case name for client messages (`STT`, `LLM`, `TTS`).
    pub fn upper(self) -> &'static str {
        match self {
            Stage::Stt => "STT",
            Stage::Llm => "LLM",
            Stage::Tts => "TTS",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.upper())
    }
}

/// A failed provider call. `Display` is safe to send to clients (no key, no body).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    /// 400, 401, 403, 404, 413, 422 (and other non-retried 4xx): never retried.
    #[error("{stage} provider rejected the request ({status})")]
    Rejected {
        /// Stage.
        stage: Stage,
        /// HTTP status (or WebSocket handshake status).
        status: u16,
        /// The provider's error message, redacted, ≤ 200 characters (for logs).
        detail: Option<String>,
    },
    /// 429/5xx/529 after the retries ran out (or a `retry-after` beyond 5 s).
    #[error("{stage} provider failed ({status})")]
    Status {
        /// Stage.
        stage: Stage,
        /// HTTP status.
        status: u16,
        /// The provider's error message, redacted, ≤ 200 characters (for logs).
        detail: Option<String>,
    },
    /// Connection refused, DNS failure, TLS failure.
    #[error("{stage} provider unreachable")]
    Connect {
        /// Stage.
        stage: Stage,
    },
    /// No first byte within the time-to-first-byte limit.
    #[error("{stage} provider timed out")]
    Timeout {
        /// Stage.
        stage: Stage,
    },
    /// The stream ended (or went idle) before the provider said it was complete.
    #[error("{stage} provider stream was cut")]
    StreamCut {
        /// Stage.
        stage: Stage,
    },
    /// The provider reported an error inside a 2xx response or a socket message.
    #[error("{stage} provider error")]
    Provider {
        /// Stage.
        stage: Stage,
        /// Redacted message, ≤ 200 characters (for logs).
        detail: String,
    },
    /// The response could not be understood (bad JSON, bad WAV header).
    #[error("{stage} provider sent an invalid response")]
    Protocol {
        /// Stage.
        stage: Stage,
        /// What was wrong (no provider body).
        detail: String,
    },
}

impl ServiceError {
    /// The failure kind for log lines: `timeout`, `connect`, `4xx`, `5xx`, `rate_limited`,
    /// `stream_cut`, `provider_error`, `protocol`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceError::Rejected { .. } => "4xx",
            ServiceError::Status { status: 429, .. } => "rate_limited",
            ServiceError::Status { .. } => "5xx",
            ServiceError::Connect { .. } => "connect",
            ServiceError::Timeout { .. } => "timeout",
            ServiceError::StreamCut { .. } => "stream_cut",
            ServiceError::Provider { .. } => "provider_error",
            ServiceError::Protocol { .. } => "protocol",
        }
    }

    /// The stage that failed.
    pub fn stage(&self) -> Stage {
        match self {
            ServiceError::Rejected { stage, .. }
            | ServiceError::Status { stage, .. }
            | ServiceError::Connect { stage }
            | ServiceError::Timeout { stage }
            | ServiceError::StreamCut { stage }
            | ServiceError::Provider { stage, .. }
            | ServiceError::Protocol { stage, .. } => *stage,
        }
    }

    /// HTTP status when the failure was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ServiceError::Rejected { status, .. } | ServiceError::Status { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// 401 or 403: the client `error` is sent once per session, not per turn (§7).
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403)) && matches!(self, ServiceError::Rejected { .. })
    }
}

/// Redact and cut a provider message for storage in an error or a log line (≤ 200 chars).
pub fn clean_detail(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        // Anything that looks like a token is redacted.
        let looks_secret = word.len() >= 12
            && word
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .count()
                >= word.len() * 9 / 10
            && word.chars().any(|c| c.is_ascii_digit());
        if looks_secret || word.starts_with("sk-") || word.starts_with("sk_") {
            out.push_str(&crate::security::redact::redact(word));
        } else {
            out.push_str(word);
        }
    }
    if out.chars().count() > 200 {
        out = out.chars().take(199).collect();
        out.push('…');
    }
    out
}

/// Metric handles of one provider at one stage, labels resolved once.
#[derive(Clone)]
pub struct ProviderMetrics {
    /// Stage.
    pub stage: Stage,
    /// Provider name.
    pub provider: String,
    ttfb: Option<Histogram>,
    errors: Option<IntCounter>,
    retries: Option<IntCounter>,
}

impl ProviderMetrics {
    /// Handles for `provider` at `stage` in `metrics` (`None`: count nothing, for tests).
    pub fn new(metrics: Option<&Metrics>, stage: Stage, provider: &str) -> Self {
        let (ttfb, errors, retries) = match metrics {
            Some(m) => {
                let ttfb = match stage {
                    Stage::Stt => &m.stt_ttfb,
                    Stage::Llm => &m.llm_ttfb,
                    Stage::Tts => &m.tts_ttfb,
                };
                (
                    Some(ttfb.with_label_values(&[provider])),
                    Some(
                        m.provider_errors
                            .with_label_values(&[stage.as_str(), provider]),
                    ),
                    Some(
                        m.provider_retries
                            .with_label_values(&[stage.as_str(), provider]),
                    ),
                )
            }
            None => (None, None, None),
        };
        Self {
            stage,
            provider: provider.to_string(),
            ttfb,
            errors,
            retries,
        }
    }

    /// Record one time-to-first-byte.
    pub fn ttfb(&self, d: Duration) {
        if let Some(h) = &self.ttfb {
            h.observe(d.as_secs_f64());
        }
    }

    /// Count and log one failed call.
    pub fn error(&self, e: &ServiceError) {
        if let Some(c) = &self.errors {
            c.inc();
        }
        let detail = match e {
            ServiceError::Rejected { detail, .. } | ServiceError::Status { detail, .. } => {
                detail.clone().unwrap_or_default()
            }
            ServiceError::Provider { detail, .. } | ServiceError::Protocol { detail, .. } => {
                detail.clone()
            }
            _ => String::new(),
        };
        tracing::warn!(
            stage = self.stage.as_str(),
            provider = %self.provider,
            kind = e.kind(),
            status = e.status().unwrap_or(0),
            detail = %detail,
            "provider call failed"
        );
    }

    /// Count one retry.
    pub fn retry(&self) {
        if let Some(c) = &self.retries {
            c.inc();
        }
    }
}
