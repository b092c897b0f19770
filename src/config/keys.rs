//! The table of every configuration key (`config.md` §5): path, type, range and environment
//! aliases. Validation, environment mapping, unknown-key detection and the `did you mean`
//! suggestion all read this one table, so a key is declared exactly once.

/// The type of a key's value, with its allowed range where the spec gives one.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Any string.
    Str,
    /// `true`/`false` (env also `1|0|yes|no|on|off`).
    Bool,
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// A float in `min..=max`; `exclusive_min` makes the lower bound strict.
    Float {
        min: f64,
        max: f64,
        exclusive_min: bool,
    },
    /// One of the listed words.
    Enum(&'static [&'static str]),
    /// A list of strings (env: JSON array or comma-separated).
    StrList,
    /// A string or a list of strings (`tls_acme_contact`).
    StrOrList,
    /// A map of name → string (`api_keys`), members free-form.
    StrMap,
    /// Free-form JSON (lists of ICE servers, Go-Voxray keys accepted and ignored).
    Any,
}

impl Kind {
    /// The expected form, as printed in a config error (`expected <this>, got ...`).
    pub fn expected(&self) -> String {
        match self {
            Kind::Str => "a string".into(),
            Kind::Bool => "a boolean (true or false)".into(),
            Kind::Int { min, max } if *max == i64::MAX => format!("an integer >= {min}"),
            Kind::Int { min, max } => format!("an integer from {min} to {max}"),
            Kind::Float {
                min,
                max,
                exclusive_min,
            } => {
                let lower = if *exclusive_min { ">" } else { ">=" };
                if max.is_infinite() {
                    format!("a number {lower} {min}")
                } else {
                    format!("a number {lower} {min} and <= {max}")
                }
            }
            Kind::Enum(words) => format!("one of {}", words.join(", ")),
            Kind::StrList => "a list of strings".into(),
            Kind::StrOrList => "a string or a list of strings".into(),
            Kind::StrMap => "an object of name -> string".into(),
            Kind::Any => "a JSON value".into(),
        }
    }
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// Dotted key path (`port`, `recording.bucket`).
    pub path: &'static str,
    /// Value type and range.
    pub kind: Kind,
    /// Secret keys (`config.md` §6.1) are resolved by [`crate::config::secret`] and redacted.
    pub secret: bool,
    /// Environment aliases besides the canonical `VOXRAY_<PATH>` variable (`config.md` §3).
    pub env_aliases: &'static [&'static str],
}

const fn key(path: &'static str, kind: Kind) -> KeySpec {
    KeySpec {
        path,
        kind,
        secret: false,
        env_aliases: &[],
    }
}
const fn secret(path: &'static str, kind: Kind) -> KeySpec {
    KeySpec {
        path,
        kind,
        secret: true,
        env_aliases: &[],
    }
}
const fn alias(path: &'static str, kind: Kind, env_aliases: &'static [&'static str]) -> KeySpec {
    KeySpec {
        path,
        kind,
        secret: false,
        env_aliases,
    }
}

const PORT: Kind = Kind::Int { min: 0, max: 65535 };
const UDP_PORT: Kind = Kind::Int { min: 0, max: 65535 };
const NON_NEG: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
};
const NON_NEG_F: Kind = Kind::Float {
    min: 0.0,
    max: f64::INFINITY,
    exclusive_min: false,
};
const UNIT_F: Kind = Kind::Float {
    min: 0.0,
    max: 1.0,
    exclusive_min: false,
};

/// Every known key, in the order of `config.md` §5 (also the order of `config print`).
pub const KEYS: &[KeySpec] = &[
    // §5.1 server, HTTP, security
    key("host", Kind::Str),
    key("port", PORT),
    key(
        "transport",
        Kind::Enum(&["websocket", "smallwebrtc", "webrtc", "both"]),
    ),
    key("proxy_host", Kind::Str),
    secret("server_api_key", Kind::Str),
    secret("server_api_keys", Kind::StrList),
    alias(
        "cors_allowed_origins",
        Kind::StrList,
        &["VOXRAY_CORS_ORIGINS"],
    ),
    alias(
        "max_request_body_bytes",
        Kind::Int {
            min: 1024,
            max: 104_857_600,
        },
        &["VOXRAY_MAX_BODY_BYTES"],
    ),
    key(
        "ws_max_message_bytes",
        Kind::Int {
            min: 1024,
            max: 16_777_216,
        },
    ),
    key("ws_idle_timeout_secs", NON_NEG),
    key("max_sessions", NON_NEG),
    key("max_connections_per_ip", NON_NEG),
    key("session_store", Kind::Enum(&["memory", "redis"])),
    key("redis_url", Kind::Str),
    key(
        "session_ttl_secs",
        Kind::Int {
            min: 10,
            max: 86400,
        },
    ),
    key("shutdown_timeout_secs", NON_NEG),
    key("metrics_enabled", Kind::Bool),
    key("metrics_listen", Kind::Str),
    key("docs_enabled", Kind::Bool),
    key(
        "log_level",
        Kind::Enum(&["trace", "debug", "info", "warn", "error"]),
    ),
    alias(
        "log_format",
        Kind::Enum(&["text", "json"]),
        &["VOXRAY_JSON_LOGS"],
    ),
    key(
        "keyring_backend",
        Kind::Enum(&["auto", "keyutils", "secret-service", "none", "mock"]),
    ),
    // §5.2 TLS
    key("tls_enable", Kind::Bool),
    key("tls_cert_file", Kind::Str),
    key("tls_key_file", Kind::Str),
    key("tls_acme_domains", Kind::StrList),
    key("tls_acme_contact", Kind::StrOrList),
    key("tls_acme_cache_dir", Kind::Str),
    key("tls_acme_directory_url", Kind::Str),
    key("tls_acme_ca_file", Kind::Str),
    key("tls_terminated_upstream", Kind::Bool),
    // §5.3 media and pipeline
    key("webrtc_ice_servers", Kind::Any),
    key("webrtc_public_ips", Kind::StrList),
    key("webrtc_udp_port_min", UDP_PORT),
    key("webrtc_udp_port_max", UDP_PORT),
    key("webrtc_udp_port", UDP_PORT),
    key("rtc_max_duration_secs", NON_NEG_F),
    key("pipeline", Kind::Enum(&["auto", "echo", "parrot", "voice"])),
    key("provider", Kind::Str),
    key("stt_provider", Kind::Str),
    key("llm_provider", Kind::Str),
    key("tts_provider", Kind::Str),
    key("stt_model", Kind::Str),
    key("stt_language", Kind::Str),
    key("model", Kind::Str),
    key("tts_model", Kind::Str),
    key("tts_voice", Kind::Str),
    key("stt_base_url", Kind::Str),
    key("llm_base_url", Kind::Str),
    key("tts_base_url", Kind::Str),
    key("system_prompt", Kind::Str),
    secret("api_keys", Kind::StrMap),
    key("turn_detection", Kind::Enum(&["silence", "none"])),
    key(
        "turn_stop_secs",
        Kind::Float {
            min: 0.1,
            max: 5.0,
            exclusive_min: false,
        },
    ),
    key(
        "turn_max_duration_secs",
        Kind::Float {
            min: 1.0,
            max: f64::INFINITY,
            exclusive_min: false,
        },
    ),
    key("vad_type", Kind::Enum(&["energy", "earshot"])),
    key(
        "vad_threshold",
        Kind::Float {
            min: 0.0,
            max: 1.0,
            exclusive_min: true,
        },
    ),
    key("vad_confidence", UNIT_F),
    key("vad_start_secs", NON_NEG_F),
    key("vad_stop_secs", NON_NEG_F),
    key("vad_min_volume", UNIT_F),
    key("allow_interruptions", Kind::Bool),
    key(
        "interruption_strategy",
        Kind::Enum(&["", "none", "min_words", "keyword"]),
    ),
    key(
        "min_words",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
    ),
    key("user_idle_timeout_secs", NON_NEG_F),
    key("false_interruption_timeout_secs", NON_NEG_F),
    // local models (`providers.md` §9, `voxray models`)
    key("models_dir", Kind::Str),
    key("local_whisper_model", Kind::Str),
    key("local_piper_voice", Kind::Str),
    key("local_llm_model", Kind::Str),
    key("local_onnxruntime", Kind::Str),
    key("local_llama_server", Kind::Str),
    key("local_whisper_threads", Kind::Int { min: 1, max: 64 }),
    key("local_whisper_audio_ctx", Kind::Int { min: 0, max: 1500 }),
    key("local_max_concurrency", Kind::Int { min: 1, max: 256 }),
    // §5.4 telephony, Daily, storage, tools
    key(
        "runner_transport",
        Kind::Enum(&["", "daily", "twilio", "telnyx", "plivo", "exotel"]),
    ),
    key("dialin", Kind::Bool),
    secret("daily_dialin_webhook_secret", Kind::Str),
    alias("daily_api_url", Kind::Str, &["DAILY_API_URL"]),
    alias("twilio_account_sid", Kind::Str, &["TWILIO_ACCOUNT_SID"]),
    secret("twilio_auth_token", Kind::Str),
    secret("telnyx_api_key", Kind::Str),
    alias("plivo_auth_id", Kind::Str, &["PLIVO_AUTH_ID"]),
    secret("plivo_auth_token", Kind::Str),
    key("twilio_api_base_url", Kind::Str),
    key("telnyx_api_base_url", Kind::Str),
    key("plivo_api_base_url", Kind::Str),
    alias("recording.enable", Kind::Bool, &["VOXRAY_RECORDING_ENABLE"]),
    alias("recording.bucket", Kind::Str, &["VOXRAY_RECORDING_BUCKET"]),
    alias(
        "recording.base_path",
        Kind::Str,
        &["VOXRAY_RECORDING_BASE_PATH"],
    ),
    alias("recording.format", Kind::Str, &["VOXRAY_RECORDING_FORMAT"]),
    alias(
        "recording.worker_count",
        NON_NEG,
        &["VOXRAY_RECORDING_WORKER_COUNT"],
    ),
    alias(
        "recording.queue_cap",
        NON_NEG,
        &["VOXRAY_RECORDING_QUEUE_CAP"],
    ),
    alias(
        "recording.max_retries",
        NON_NEG,
        &["VOXRAY_RECORDING_MAX_RETRIES"],
    ),
    alias("recording.region", Kind::Str, &["VOXRAY_RECORDING_REGION"]),
    alias(
        "recording.endpoint_url",
        Kind::Str,
        &["VOXRAY_RECORDING_ENDPOINT_URL"],
    ),
    alias(
        "transcripts.enable",
        Kind::Bool,
        &["VOXRAY_TRANSCRIPTS_ENABLE"],
    ),
    alias(
        "transcripts.driver",
        Kind::Enum(&["sqlite", "postgres", "mysql"]),
        &["VOXRAY_TRANSCRIPTS_DRIVER"],
    ),
    alias("transcripts.dsn", Kind::Str, &["VOXRAY_TRANSCRIPTS_DSN"]),
    alias(
        "transcripts.table_name",
        Kind::Str,
        &["VOXRAY_TRANSCRIPTS_TABLE"],
    ),
    key("mcp.command", Kind::Str),
    key("mcp.args", Kind::StrList),
    key("mcp.tools_filter", Kind::Any),
];

/// Go-Voxray keys that are accepted and ignored with one info line each (`config.md` §5.4).
pub const IGNORED_GO_KEYS: &[&str] = &[
    "plugins",
    "plugin_options",
    "runner_port",
    "vad_batch_size",
    "pipeline_input_queue_cap",
    "ws_write_coalesce_ms",
    "ws_write_coalesce_max_frames",
    "metrics",
    "legacy_errors",
    "turn_async",
    "turn_pre_speech_ms",
    "shutdown_upload_timeout_secs",
];

/// Top-level members whose value is an object of known sub-keys (`recording.bucket`, …).
pub const SECTIONS: &[&str] = &["recording", "transcripts", "mcp"];

/// Look up a key by its dotted path.
pub fn find(path: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.path == path)
}

/// The canonical environment variable of a key path: `VOXRAY_` + upper-cased path, `.` → `__`.
pub fn canonical_env(path: &str) -> String {
    format!("VOXRAY_{}", path.to_ascii_uppercase().replace('.', "__"))
}

/// The known key closest to `unknown` by Levenshtein distance when that distance is ≤ 3
/// (ties: first in alphabetical order), for the `did you mean` hint (`config.md` §9).
pub fn suggest(unknown: &str) -> Option<&'static str> {
    // A short alias name (`cors_origins` for `VOXRAY_CORS_ORIGINS`) points at its key directly.
    for k in KEYS {
        for alias in k.env_aliases {
            if let Some(stem) = alias.strip_prefix("VOXRAY_")
                && stem.eq_ignore_ascii_case(unknown)
            {
                return Some(k.path);
            }
        }
    }
    let mut candidates: Vec<&'static str> = KEYS.iter().map(|k| k.path).collect();
    candidates.sort_unstable();
    let mut best: Option<(usize, &'static str)> = None;
    for candidate in candidates {
        let d = strsim::levenshtein(unknown, candidate);
        if d <= 3 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_picks_nearest_key() {
        assert_eq!(suggest("prot"), Some("port"));
        assert_eq!(suggest("max_session"), Some("max_sessions"));
        assert_eq!(suggest("completely_unrelated_name"), None);
        assert_eq!(suggest("cors_origins"), Some("cors_allowed_origins"));
    }

    #[test]
    fn canonical_env_names() {
        assert_eq!(canonical_env("port"), "VOXRAY_PORT");
        assert_eq!(
            canonical_env("recording.bucket"),
            "VOXRAY_RECORDING__BUCKET"
        );
    }
}
