//! Provider selection from the configuration (`providers.md` §1, `config.md` §5.3, §6.4):
//! the provider table, [`validate`] (one line per problem, naming the key or env var) and
//! [`Services`], the chosen clients.

use std::sync::Arc;

use super::error::Stage;
use super::llm::anthropic::AnthropicLlm;
use super::llm::openai::OpenAiLlm;
use super::stt::deepgram::DeepgramStt;
use super::stt::openai::OpenAiStt;
use super::tts::cartesia::CartesiaTts;
use super::tts::elevenlabs::ElevenLabsTts;
use super::tts::openai::OpenAiTts;
use super::{DynLlm, SpeechToText, StreamingSpeechToText, TtsService};
use crate::config::secret::provider_env_vars;
use crate::config::{Config, Secret, Secrets};
use crate::metrics::Metrics;

/// Where and how to reach one provider at one stage.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// Provider name (`openai`, `groq`, …): the metric label and dialect switch.
    pub provider: String,
    /// Base URL without trailing path (`https://api.openai.com/v1`, `wss://api.deepgram.com`).
    pub base_url: String,
    /// API key; `None` sends no auth header.
    pub key: Option<Secret>,
    /// Model (may be empty where the provider allows it, e.g. llama.cpp).
    pub model: String,
    /// TTS voice (name or id); empty for other stages.
    pub voice: String,
    /// ISO-639-1 language (`stt_language`), may be empty.
    pub language: String,
}

/// Wire family of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    OpenAi,
    Anthropic,
    Deepgram,
    ElevenLabs,
    Cartesia,
}

/// One row of `providers.md` §1.
struct Row {
    name: &'static str,
    family: Family,
    stt: bool,
    llm: bool,
    tts: bool,
    base: Option<&'static str>,
    /// `api_keys` name.
    key: &'static str,
    key_required: bool,
    stt_model: Option<&'static str>,
    llm_model: Option<&'static str>,
    /// `Some("")`: model optional with no default.
    tts_model: Option<&'static str>,
    voice: Option<&'static str>,
}

const fn row(name: &'static str, family: Family, key: &'static str, required: bool) -> Row {
    Row {
        name,
        family,
        stt: false,
        llm: false,
        tts: false,
        base: None,
        key,
        key_required: required,
        stt_model: None,
        llm_model: None,
        tts_model: None,
        voice: None,
    }
}

fn table() -> Vec<Row> {
    use Family::*;
    let compat_llm = |name: &'static str, base: Option<&'static str>, key, req| Row {
        llm: true,
        base,
        ..row(name, OpenAi, key, req)
    };
    vec![
        Row {
            stt: true,
            llm: true,
            tts: true,
            base: Some("https://api.openai.com/v1"),
            stt_model: Some("whisper-1"),
            llm_model: Some("gpt-4o-mini"),
            tts_model: Some("tts-1"),
            voice: Some("alloy"),
            ..row("openai", OpenAi, "openai", true)
        },
        Row {
            stt: true,
            llm: true,
            tts: true,
            base: Some("https://api.groq.com/openai/v1"),
            stt_model: Some("whisper-large-v3-turbo"),
            llm_model: Some("llama-3.1-8b-instant"),
            ..row("groq", OpenAi, "groq", true)
        },
        compat_llm(
            "mistral",
            Some("https://api.mistral.ai/v1"),
            "mistral",
            true,
        ),
        compat_llm(
            "deepseek",
            Some("https://api.deepseek.com/v1"),
            "deepseek",
            true,
        ),
        compat_llm(
            "cerebras",
            Some("https://api.cerebras.ai/v1"),
            "cerebras",
            true,
        ),
        compat_llm("grok", Some("https://api.x.ai/v1"), "xai", true),
        compat_llm("ollama", Some("http://localhost:11434/v1"), "ollama", false),
        compat_llm("vllm", None, "vllm", false),
        Row {
            llm_model: Some(""),
            ..compat_llm("llamacpp", None, "llamacpp", false)
        },
        Row {
            stt: true,
            llm: true,
            tts: true,
            voice: Some("alloy"),
            ..row("openai_compatible", OpenAi, "openai_compatible", false)
        },
        Row {
            stt: true,
            base: Some("wss://api.deepgram.com"),
            stt_model: Some("nova-3"),
            ..row("deepgram", Deepgram, "deepgram", true)
        },
        Row {
            tts: true,
            base: Some("https://api.elevenlabs.io"),
            tts_model: Some("eleven_flash_v2_5"),
            ..row("elevenlabs", ElevenLabs, "elevenlabs", true)
        },
        Row {
            tts: true,
            base: Some("wss://api.cartesia.ai"),
            tts_model: Some("sonic-3"),
            ..row("cartesia", Cartesia, "cartesia", true)
        },
        Row {
            llm: true,
            base: Some("https://api.anthropic.com"),
            ..row("anthropic", Anthropic, "anthropic", true)
        },
    ]
}

/// Names listed in `config.md` §6.4 that this version does not provide.
const NOT_AVAILABLE: &[&str] = &["google", "sarvam"];

/// The `api_keys` names of the providers `config` selects (`grok` → `xai`), for the secret
/// resolver to resolve even when `api_keys` does not list them.
pub fn configured_key_names(config: &Config) -> Vec<&'static str> {
    let t = table();
    let mut names: Vec<&'static str> = [
        &config.provider,
        &config.stt_provider,
        &config.llm_provider,
        &config.tts_provider,
    ]
    .iter()
    .filter_map(|n| t.iter().find(|r| r.name == n.as_str()).map(|r| r.key))
    .collect();
    names.sort();
    names.dedup();
    names
}

/// The chosen STT: batch (one request per turn) or streaming (one socket per session).
#[derive(Clone)]
pub enum SttService {
    /// OpenAI-compatible `/audio/transcriptions`.
    Batch(Arc<dyn SpeechToText>),
    /// Deepgram live.
    Streaming(Arc<dyn StreamingSpeechToText>),
}

/// The providers chosen by the configuration. Cheap to clone; share one per process.
#[derive(Clone, Default)]
pub struct Services {
    /// Speech to text, when a provider is configured for it.
    pub stt: Option<SttService>,
    /// Language model, when configured.
    pub llm: Option<DynLlm>,
    /// Text to speech, when configured.
    pub tts: Option<TtsService>,
    /// The resolved endpoints by stage (keys inside are redacting [`Secret`]s), for
    /// `check --production` (plain `http` to a non-loopback host).
    pub endpoints: Vec<(Stage, Endpoint)>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

/// What a provider's keys look like, for the placeholder error (`" (Anthropic keys start
/// with sk-ant-)"`), or nothing when the provider has no fixed key shape.
fn key_shape_hint(key: &str) -> &'static str {
    match key {
        "anthropic" => " (Anthropic keys start with sk-ant-)",
        "openai" => " (OpenAI keys start with sk-)",
        "groq" => " (Groq keys start with gsk_)",
        _ => "",
    }
}

/// Check the provider keys of `config` with the resolved `secrets` (`providers.md` §1 rules).
/// Returns one line per problem, `<key path>: <problem>`, empty when valid. Providers left
/// empty are not checked.
pub fn validate(config: &Config, secrets: &Secrets) -> Vec<String> {
    plan(config, secrets).err().unwrap_or_default()
}

impl Services {
    /// Build the clients the configuration selects, counting into `metrics`.
    ///
    /// # Errors
    /// Every problem as one line `<key path>: <problem>` (the lines of [`validate`]).
    pub fn from_config(
        config: &Config,
        secrets: &Secrets,
        metrics: Option<&Metrics>,
    ) -> Result<Self, Vec<String>> {
        let plans = plan(config, secrets)?;
        let mut services = Services::default();
        for (stage, family, ep) in plans {
            match (stage, family) {
                (Stage::Stt, Family::Deepgram) => {
                    services.stt = Some(SttService::Streaming(Arc::new(DeepgramStt::new(
                        ep.clone(),
                        metrics,
                    ))))
                }
                (Stage::Stt, _) => {
                    services.stt = Some(SttService::Batch(Arc::new(OpenAiStt::new(
                        ep.clone(),
                        metrics,
                    ))))
                }
                (Stage::Llm, Family::Anthropic) => {
                    services.llm = Some(Arc::new(AnthropicLlm::new(ep.clone(), metrics)))
                }
                (Stage::Llm, _) => {
                    services.llm = Some(Arc::new(OpenAiLlm::new(ep.clone(), metrics)))
                }
                (Stage::Tts, Family::ElevenLabs) => {
                    services.tts = Some(TtsService::PerSentence(Arc::new(ElevenLabsTts::new(
                        ep.clone(),
                        metrics,
                    ))))
                }
                (Stage::Tts, Family::Cartesia) => {
                    services.tts = Some(TtsService::Streaming(Arc::new(CartesiaTts::new(
                        ep.clone(),
                        metrics,
                    ))))
                }
                (Stage::Tts, _) => {
                    services.tts = Some(TtsService::PerSentence(Arc::new(OpenAiTts::new(
                        ep.clone(),
                        metrics,
                    ))))
                }
            }
            services.endpoints.push((stage, ep));
        }
        Ok(services)
    }

    /// Endpoints reached over plain `http://` or `ws://` on a non-loopback host, as
    /// `(stage, provider, base URL)`: allowed, but reported by `check --production`
    /// (`providers.md` §1).
    pub fn plain_text_endpoints(&self) -> Vec<(Stage, String, String)> {
        self.endpoints
            .iter()
            .filter(|(_, ep)| {
                let Ok(url) = url::Url::parse(&ep.base_url) else {
                    return false;
                };
                let loopback = match url.host() {
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                matches!(url.scheme(), "http" | "ws") && !loopback
            })
            .map(|(stage, ep)| (*stage, ep.provider.clone(), ep.base_url.clone()))
            .collect()
    }
}

fn plan(config: &Config, secrets: &Secrets) -> Result<Vec<(Stage, Family, Endpoint)>, Vec<String>> {
    let t = table();
    let mut errors = Vec::new();
    let mut plans = Vec::new();
    let stages = [
        (
            Stage::Stt,
            "stt_provider",
            &config.stt_provider,
            "stt_base_url",
            &config.stt_base_url,
        ),
        (
            Stage::Llm,
            "llm_provider",
            &config.llm_provider,
            "llm_base_url",
            &config.llm_base_url,
        ),
        (
            Stage::Tts,
            "tts_provider",
            &config.tts_provider,
            "tts_base_url",
            &config.tts_base_url,
        ),
    ];
    let mut key_errors = Vec::new();
    for (stage, key_path, own, base_path, base_value) in stages {
        let (path, name) = if own.trim().is_empty() {
            ("provider", config.provider.trim())
        } else {
            (key_path, own.trim())
        };
        if name.is_empty() {
            continue;
        }
        let Some(row) = t.iter().find(|r| r.name == name) else {
            if NOT_AVAILABLE.contains(&name) {
                errors.push(format!(
                    "{path}: provider {name:?} is not available in this version"
                ));
            } else {
                let known: Vec<&str> = t.iter().map(|r| r.name).collect();
                errors.push(format!(
                    "{path}: unknown provider {name:?} (known: {})",
                    known.join(", ")
                ));
            }
            continue;
        };
        let offers = match stage {
            Stage::Stt => row.stt,
            Stage::Llm => row.llm,
            Stage::Tts => row.tts,
        };
        if !offers {
            errors.push(format!(
                "{path}: provider {name:?} offers no {} (set {key_path} to one that does)",
                stage.upper()
            ));
            continue;
        }
        // Key.
        let key = secrets
            .api_keys
            .get(row.key)
            .map(|r| r.value.clone())
            .filter(|s| !s.expose().trim().is_empty());
        if key.is_none() && row.key_required {
            let mut vars = vec![crate::config::keys::canonical_env(&format!(
                "api_keys.{}",
                row.key
            ))];
            vars.extend(provider_env_vars(row.key));
            let line = match secrets.placeholder_keys.get(row.key) {
                // A value was found: say what is wrong with it (never the value itself).
                Some(from) => format!(
                    "api_keys.{}: the value from {from} looks like a placeholder, not a key{}; set the real key in {}",
                    row.key,
                    key_shape_hint(row.key),
                    vars.join(", ")
                ),
                None => format!(
                    "api_keys.{}: no key found in {}, the keyring or the config file",
                    row.key,
                    vars.join(", ")
                ),
            };
            if !key_errors.contains(&line) {
                key_errors.push(line);
            }
        }
        // Base URL.
        let ws = matches!(row.family, Family::Deepgram | Family::Cartesia);
        let base = if base_value.trim().is_empty() {
            match row.base {
                Some(b) => b.to_string(),
                None => {
                    errors.push(format!(
                        "{base_path}: required for provider {name:?} (no default base URL)"
                    ));
                    continue;
                }
            }
        } else {
            base_value.trim().to_string()
        };
        let base = match check_url(&base, ws) {
            Ok(b) => b,
            Err(problem) => {
                errors.push(format!("{base_path}: {problem}"));
                continue;
            }
        };
        // Model and voice.
        let (model_path, model_value, default_model) = match stage {
            Stage::Stt => ("stt_model", &config.stt_model, row.stt_model),
            Stage::Llm => ("model", &config.model, row.llm_model),
            Stage::Tts => ("tts_model", &config.tts_model, row.tts_model),
        };
        let model = if model_value.trim().is_empty() {
            match default_model {
                Some(m) => m.to_string(),
                None => {
                    errors.push(format!("{model_path}: required for {key_path} {name:?}"));
                    continue;
                }
            }
        } else {
            model_value.trim().to_string()
        };
        let mut voice = String::new();
        if stage == Stage::Tts {
            voice = if config.tts_voice.trim().is_empty() {
                match row.voice {
                    Some(v) => v.to_string(),
                    None => {
                        errors.push(format!("tts_voice: required for tts_provider {name:?}"));
                        continue;
                    }
                }
            } else {
                config.tts_voice.trim().to_string()
            };
        }
        let language = if config.stt_language.trim().is_empty() && row.family == Family::Deepgram {
            "en".to_string()
        } else {
            config.stt_language.trim().to_string()
        };
        plans.push((
            stage,
            row.family,
            Endpoint {
                provider: name.to_string(),
                base_url: base,
                key,
                model,
                voice,
                language,
            },
        ));
    }
    errors.extend(key_errors);
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(errors)
    }
}

/// Check a base URL: `http(s)://` (HTTP providers) or `ws(s)://` (WebSocket providers, where
/// `http(s)` maps to `ws(s)`). Returns the URL to use, without a trailing slash.
fn check_url(value: &str, ws: bool) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL ({e})"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    let scheme = url.scheme();
    let mapped = match (ws, scheme) {
        (false, "http" | "https") => value.to_string(),
        (true, "ws" | "wss") => value.to_string(),
        (true, "http") => format!("ws{}", &value[4..]),
        (true, "https") => format!("wss{}", &value[5..]),
        (false, _) => {
            return Err(format!(
                "must be an http:// or https:// URL, not {scheme}://"
            ));
        }
        (true, _) => {
            return Err(format!(
                "must be a ws://, wss://, http:// or https:// URL, not {scheme}://"
            ));
        }
    };
    Ok(mapped.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::{Resolved, SecretSource};

    fn secrets(keys: &[(&str, &str)]) -> Secrets {
        let mut s = Secrets::default();
        for (n, v) in keys {
            s.api_keys.insert(
                n.to_string(),
                Resolved {
                    value: Secret::new(*v),
                    source: SecretSource::Env("X".into()),
                },
            );
        }
        s
    }

    #[test]
    fn nothing_configured_is_valid_and_empty() {
        let s = Services::from_config(&Config::default(), &Secrets::default(), None).unwrap();
        assert!(s.stt.is_none() && s.llm.is_none() && s.tts.is_none());
    }

    #[test]
    fn openai_everywhere_with_defaults() {
        let c = Config {
            provider: "openai".into(),
            ..Config::default()
        };
        let s = Services::from_config(&c, &secrets(&[("openai", "sk-test")]), None).unwrap();
        assert!(matches!(s.stt, Some(SttService::Batch(_))));
        assert_eq!(s.llm.as_ref().unwrap().model(), "gpt-4o-mini");
        assert!(matches!(&s.tts, Some(TtsService::PerSentence(t)) if t.sample_rate() == 24_000));
        assert_eq!(s.endpoints[0].1.base_url, "https://api.openai.com/v1");
        // The key never shows in Debug.
        assert!(!format!("{s:?}").contains("sk-test"));
    }

    #[test]
    fn a_placeholder_key_is_not_reported_as_missing() {
        let c = Config {
            llm_provider: "anthropic".into(),
            model: "claude-3-5-haiku-latest".into(),
            ..Config::default()
        };
        let mut s = Secrets::default();
        s.placeholder_keys
            .insert("anthropic".into(), "env ANTHROPIC_API_KEY".into());
        let e = validate(&c, &s);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(
                "api_keys.anthropic: the value from env ANTHROPIC_API_KEY looks like a placeholder, not a key (Anthropic keys start with sk-ant-)"
            ),
            "{e:?}"
        );
        assert!(!e[0].contains("no key found"), "{e:?}");
    }

    #[test]
    fn missing_key_names_the_env_vars() {
        let c = Config {
            llm_provider: "grok".into(),
            model: "grok-3".into(),
            ..Config::default()
        };
        assert_eq!(
            validate(&c, &Secrets::default()),
            vec![
                "api_keys.xai: no key found in VOXRAY_API_KEYS__XAI, XAI_API_KEY, the keyring or the config file"
            ]
        );
    }

    #[test]
    fn one_key_error_for_three_stages() {
        let c = Config {
            provider: "openai".into(),
            ..Config::default()
        };
        assert_eq!(validate(&c, &Secrets::default()).len(), 1);
    }

    #[test]
    fn unknown_unavailable_and_wrong_stage() {
        let c = Config {
            stt_provider: "anthropic".into(),
            llm_provider: "openia".into(),
            tts_provider: "google".into(),
            ..Config::default()
        };
        let e = validate(&c, &Secrets::default());
        assert!(
            e[0].starts_with("stt_provider: provider \"anthropic\" offers no STT"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("llm_provider: unknown provider \"openia\""),
            "{e:?}"
        );
        assert_eq!(
            e[2],
            "tts_provider: provider \"google\" is not available in this version"
        );
    }

    #[test]
    fn required_model_base_url_and_voice() {
        let c = Config {
            llm_provider: "vllm".into(),
            tts_provider: "elevenlabs".into(),
            ..Config::default()
        };
        let e = validate(&c, &secrets(&[("elevenlabs", "k")]));
        assert_eq!(
            e,
            vec![
                "llm_base_url: required for provider \"vllm\" (no default base URL)",
                "tts_voice: required for tts_provider \"elevenlabs\"",
            ]
        );
        let c = Config {
            llm_provider: "vllm".into(),
            llm_base_url: "http://10.0.0.5:8000/v1".into(),
            ..Config::default()
        };
        assert_eq!(
            validate(&c, &Secrets::default()),
            vec!["model: required for llm_provider \"vllm\""]
        );
        let c = Config {
            llm_provider: "llamacpp".into(),
            llm_base_url: "http://127.0.0.1:18080/v1".into(),
            ..Config::default()
        };
        assert!(validate(&c, &Secrets::default()).is_empty());
    }

    #[test]
    fn base_urls_are_checked_and_mapped() {
        let c = Config {
            llm_provider: "openai".into(),
            llm_base_url: "ftp://x".into(),
            ..Config::default()
        };
        let s = secrets(&[("openai", "o")]);
        assert_eq!(
            validate(&c, &s),
            vec!["llm_base_url: must be an http:// or https:// URL, not ftp://"]
        );
        assert_eq!(
            check_url("http://127.0.0.1:9/", true).unwrap(),
            "ws://127.0.0.1:9"
        );
        assert_eq!(check_url("https://h/v1/", true).unwrap(), "wss://h/v1");
        assert_eq!(check_url("https://h/v1/", false).unwrap(), "https://h/v1");
        assert!(check_url("ws://h", false).is_err());
        assert!(check_url("nohost", false).is_err());
    }

    #[test]
    fn the_resolver_finds_a_selected_providers_key_in_its_env_var() {
        use crate::config::secret::{NoKeyring, SecretResolver};
        let c = Config {
            provider: "openai".into(),
            llm_provider: "grok".into(),
            model: "grok-3".into(),
            ..Config::default()
        };
        let env: std::collections::BTreeMap<String, String> = [
            ("OPENAI_API_KEY", "sk-proj-Qm7Tz2Lk9Vb4Xw8Rj3Hn"),
            ("XAI_API_KEY", "xai-Hq4Wm8Zt2Kc7Vn5Lp1Rx"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut r = SecretResolver {
            env: &env,
            keyring: &NoKeyring,
            config_dir: None,
            warnings: Vec::new(),
        };
        let (secrets, errors) = r.resolve_all(&c, "config.json");
        assert!(errors.is_empty(), "{errors:?}");
        let s = Services::from_config(&c, &secrets, None).unwrap();
        assert_eq!(s.llm.unwrap().provider(), "grok");
        assert_eq!(
            s.endpoints[1].1.key.as_ref().unwrap().expose(),
            "xai-Hq4Wm8Zt2Kc7Vn5Lp1Rx"
        );
    }

    #[test]
    fn deepgram_is_streaming_with_a_ws_base() {
        let c = Config {
            stt_provider: "deepgram".into(),
            stt_base_url: "http://127.0.0.1:9999/".into(),
            ..Config::default()
        };
        let s = Services::from_config(&c, &secrets(&[("deepgram", "d")]), None).unwrap();
        assert!(matches!(s.stt, Some(SttService::Streaming(_))));
        assert_eq!(s.endpoints[0].1.base_url, "ws://127.0.0.1:9999");
        assert_eq!(s.endpoints[0].1.model, "nova-3");
        assert_eq!(s.endpoints[0].1.language, "en");
    }

    #[test]
    fn plain_text_to_non_loopback_is_reported() {
        let c = Config {
            stt_provider: "openai_compatible".into(),
            stt_model: "whisper".into(),
            stt_base_url: "http://127.0.0.1:9000/v1".into(),
            llm_provider: "vllm".into(),
            model: "m".into(),
            llm_base_url: "http://10.0.0.5:8000/v1".into(),
            tts_provider: "openai".into(),
            ..Config::default()
        };
        let s = Services::from_config(&c, &secrets(&[("openai", "k")]), None).unwrap();
        assert_eq!(
            s.plain_text_endpoints(),
            vec![(
                Stage::Llm,
                "vllm".to_string(),
                "http://10.0.0.5:8000/v1".to_string()
            )]
        );
    }

    #[test]
    fn key_names_of_configured_providers() {
        let c = Config {
            provider: "openai".into(),
            llm_provider: "grok".into(),
            tts_provider: "cartesia".into(),
            ..Config::default()
        };
        assert_eq!(configured_key_names(&c), vec!["cartesia", "openai", "xai"]);
    }
}
