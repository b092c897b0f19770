//! Secrets: the redacting [`Secret`] wrapper and the resolver of `config.md` §6.2.
//!
//! Order for every secret key (first non-empty wins): the canonical `VOXRAY_…` variable, the
//! conventional variable (`OPENAI_API_KEY`, …), the OS keyring ([`Keyring`], service `voxray`,
//! account = key path), then the file value after expansion (`${NAME}` → env `NAME`,
//! `file:/path` → the file's trimmed content, anything else literal). A resolved value that
//! the placeholder classifier calls a placeholder is unset (with a warning), except for the
//! server keys, where it is a config error. Where each value came from is recorded in
//! [`SecretSource`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::schema::Config;
use crate::secret_text::{is_placeholder, redact};

/// A secret value. `Debug` and `Display` print [`redact`]ed text; only [`Secret::expose`]
/// gives the value, for the few places that must compare or send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }
    /// The raw value. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", redact(&self.0))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// Where a secret was found (`config.md` §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable (canonical or conventional).
    Env(String),
    /// The OS keyring.
    Keyring,
    /// A `file:` reference in the config file.
    FileRef(PathBuf),
    /// A `${NAME}` reference in the config file.
    EnvRef(String),
    /// A literal value at this config path.
    Literal(String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(v) => write!(f, "env {v}"),
            SecretSource::Keyring => f.write_str("keyring"),
            SecretSource::FileRef(p) => write!(f, "file-ref file:{}", p.display()),
            SecretSource::EnvRef(n) => write!(f, "env-ref ${{{n}}}"),
            SecretSource::Literal(p) => write!(f, "literal {p}"),
        }
    }
}

/// A resolved secret and its source.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The value.
    pub value: Secret,
    /// Where it came from.
    pub source: SecretSource,
}

/// An OS keyring lookup (service `voxray`, account = key path). Implementations must not log
/// the value.
pub trait Keyring: Send + Sync {
    /// The stored value for `account`, or `None` when absent or the store is unreachable.
    fn get(&self, account: &str) -> Option<String>;
}

/// No keyring (`keyring_backend: "none"`).
pub struct NoKeyring;

impl Keyring for NoKeyring {
    fn get(&self, _account: &str) -> Option<String> {
        None
    }
}

/// Every resolved secret of a configuration.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `server_api_key` then `server_api_keys[*]`, empties dropped. Auth is on iff non-empty.
    pub server_keys: Vec<Resolved>,
    /// Provider keys by `api_keys` name.
    pub api_keys: BTreeMap<String, Resolved>,
    /// Provider keys whose value was found but looks like a placeholder (treated as unset),
    /// by `api_keys` name → where the value came from (`env ANTHROPIC_API_KEY`, …). Lets the
    /// "key required" error say what is wrong instead of "no key found".
    pub placeholder_keys: BTreeMap<String, String>,
    /// `daily_dialin_webhook_secret`.
    pub daily_dialin_webhook_secret: Option<Resolved>,
    /// `twilio_auth_token`.
    pub twilio_auth_token: Option<Resolved>,
    /// `telnyx_api_key`.
    pub telnyx_api_key: Option<Resolved>,
    /// `plivo_auth_token`.
    pub plivo_auth_token: Option<Resolved>,
}

impl Secrets {
    /// The Daily REST key: `api_keys.daily_api_key`, else `api_keys.daily` (`DAILY_API_KEY`).
    pub fn daily_api_key(&self) -> Option<&Resolved> {
        self.api_keys
            .get("daily_api_key")
            .or_else(|| self.api_keys.get("daily"))
    }

    /// Every resolved secret with its source.
    pub fn all(&self) -> impl Iterator<Item = &Resolved> {
        self.server_keys
            .iter()
            .chain(self.api_keys.values())
            .chain(self.daily_dialin_webhook_secret.iter())
            .chain(self.twilio_auth_token.iter())
            .chain(self.telnyx_api_key.iter())
            .chain(self.plivo_auth_token.iter())
    }
}

/// Conventional secret variables voxray reads besides `VOXRAY_*`: every provider variable of
/// `config.md` §6.4 and the carrier tokens (§5.4).
pub const KNOWN_SECRET_ENV: &[&str] = &[
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GROQ_API_KEY",
    "DEEPGRAM_API_KEY",
    "ELEVENLABS_API_KEY",
    "CARTESIA_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "DEEPSEEK_API_KEY",
    "CEREBRAS_API_KEY",
    "SARVAM_API_KEY",
    "XAI_API_KEY",
    "OLLAMA_API_KEY",
    "VLLM_API_KEY",
    "LLAMACPP_API_KEY",
    "DAILY_API_KEY",
    "TWILIO_AUTH_TOKEN",
    "TELNYX_API_KEY",
    "PLIVO_AUTH_TOKEN",
];

/// Conventional environment variables of an `api_keys` name (`config.md` §6.4).
pub fn provider_env_vars(name: &str) -> Vec<String> {
    let known: &[(&str, &[&str])] = &[
        ("openai", &["OPENAI_API_KEY"]),
        ("anthropic", &["ANTHROPIC_API_KEY"]),
        ("groq", &["GROQ_API_KEY"]),
        ("deepgram", &["DEEPGRAM_API_KEY"]),
        ("elevenlabs", &["ELEVENLABS_API_KEY"]),
        ("cartesia", &["CARTESIA_API_KEY"]),
        ("google", &["GOOGLE_API_KEY", "GEMINI_API_KEY"]),
        ("mistral", &["MISTRAL_API_KEY"]),
        ("deepseek", &["DEEPSEEK_API_KEY"]),
        ("cerebras", &["CEREBRAS_API_KEY"]),
        ("sarvam", &["SARVAM_API_KEY"]),
        ("xai", &["XAI_API_KEY"]),
        ("ollama", &["OLLAMA_API_KEY"]),
        ("vllm", &["VLLM_API_KEY"]),
        ("llamacpp", &["LLAMACPP_API_KEY"]),
        ("daily_api_key", &["DAILY_API_KEY"]),
        ("daily", &["DAILY_API_KEY"]),
    ];
    if let Some((_, vars)) = known.iter().find(|(n, _)| *n == name) {
        return vars.iter().map(|v| v.to_string()).collect();
    }
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if ["_API_KEY", "_KEY", "_TOKEN", "_SECRET"]
        .iter()
        .any(|s| upper.ends_with(s))
    {
        vec![upper]
    } else {
        vec![format!("{upper}_API_KEY")]
    }
}

/// The config error for a server key that looks like a placeholder (`config.md` §6.2 step 4).
fn placeholder_server_key(path: &str, source: &SecretSource) -> String {
    format!(
        "{path}: value looks like a placeholder; set VOXRAY_SERVER_API_KEY or run \"voxray keygen\" (from {source})"
    )
}

/// Check and normalise one resolved server key (`server_api_key`, `server_api_keys[i]`).
///
/// The value is trimmed exactly as presented keys are (`str::trim`: Unicode white space, so
/// tab, newline and no-break space too; `http.md` §4). A value that is blank after trimming,
/// or that the placeholder classifier calls a placeholder, is a config error: a server key
/// that is present but unusable never means "authentication off".
///
/// # Errors
/// One line naming `path` and the source, never the value.
fn server_key(path: &str, r: Resolved) -> Result<Resolved, String> {
    let trimmed = r.value.expose().trim();
    if trimmed.is_empty() {
        return Err(format!(
            "{path}: value is blank (only white space); set a real key or run \"voxray keygen\" (from {})",
            r.source
        ));
    }
    if is_placeholder(trimmed) {
        return Err(placeholder_server_key(path, &r.source));
    }
    if trimmed.len() == r.value.expose().len() {
        return Ok(r);
    }
    Ok(Resolved {
        value: Secret::new(trimmed),
        source: r.source,
    })
}

/// Parse `VOXRAY_SERVER_API_KEYS`: a JSON array of strings when it starts with `[`, else
/// comma-separated (`config.md` §3). Entries are returned untrimmed for [`server_key`].
///
/// # Errors
/// One line per problem (malformed JSON with its line and column, a non-string entry, an
/// empty list), never echoing any part of the value.
fn parse_server_key_list(raw: &str) -> Result<Vec<String>, String> {
    const SOURCE: &str = "env VOXRAY_SERVER_API_KEYS";
    let t = raw.trim();
    let items = if t.starts_with('[') {
        let values: Vec<serde_json::Value> = serde_json::from_str(t).map_err(|e| {
            format!(
                "server_api_keys: expected a JSON array of strings, the JSON is malformed at line {} column {} (from {SOURCE})",
                e.line(),
                e.column()
            )
        })?;
        let mut items = Vec::with_capacity(values.len());
        for (i, v) in values.into_iter().enumerate() {
            match v {
                serde_json::Value::String(s) => items.push(s),
                other => {
                    return Err(format!(
                        "server_api_keys[{i}]: expected a string, got {} (from {SOURCE})",
                        super::validate::json_type_name(&other)
                    ));
                }
            }
        }
        items
    } else {
        t.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(String::from)
            .collect()
    };
    if items.is_empty() {
        return Err(format!(
            "server_api_keys: the list holds no key; unset the variable or set real keys (from {SOURCE})"
        ));
    }
    Ok(items)
}

/// Parse `VOXRAY_API_KEYS`: a JSON object of strings (`config.md` §3). Empty members are
/// dropped (an empty value counts as unset).
///
/// # Errors
/// One line per problem, naming the key and never echoing the value.
fn parse_api_key_map(raw: &str) -> Result<BTreeMap<String, String>, Vec<String>> {
    const SOURCE: &str = "env VOXRAY_API_KEYS";
    let map: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(raw.trim()) {
        Ok(serde_json::Value::Object(m)) => m,
        Ok(other) => {
            return Err(vec![format!(
                "api_keys: expected a JSON object of strings, got {} (from {SOURCE})",
                super::validate::json_type_name(&other)
            )]);
        }
        Err(e) => {
            return Err(vec![format!(
                "api_keys: expected a JSON object of strings, the JSON is malformed at line {} column {} (from {SOURCE})",
                e.line(),
                e.column()
            )]);
        }
    };
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, value) in map {
        match value {
            serde_json::Value::String(s) if s.trim().is_empty() => {}
            serde_json::Value::String(s) => {
                out.insert(name, s);
            }
            other => errors.push(format!(
                "api_keys.{name}: expected a string, got {} (from {SOURCE})",
                super::validate::json_type_name(&other)
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Resolves secret references against an environment snapshot, a keyring and the config file's
/// directory. Collects warnings (placeholder values, group/world-readable secret files).
pub struct SecretResolver<'a> {
    /// Environment snapshot; empty values already removed.
    pub env: &'a BTreeMap<String, String>,
    /// Keyring lookups.
    pub keyring: &'a dyn Keyring,
    /// Directory that relative `file:` paths are relative to.
    pub config_dir: Option<&'a Path>,
    /// Warnings for the start-up log (never holding a secret).
    pub warnings: Vec<String>,
}

impl SecretResolver<'_> {
    /// Resolve one secret key.
    ///
    /// `path` is the key path (`server_api_key`, `api_keys.openai`), `env_vars` the variables to
    /// try in order, `file_value` the raw config value. `strict` (server keys) trims the value and
    /// makes a blank or placeholder value an error ([`server_key`]). Returns `Ok(None)` when
    /// nothing non-empty was found.
    ///
    /// # Errors
    /// One line (without the `config error:` prefix) for an unresolvable `${NAME}` or `file:`
    /// reference, a `${NAME:-default}` form, or a placeholder server key.
    pub fn resolve(
        &mut self,
        path: &str,
        env_vars: &[String],
        file_value: &str,
        file_source: &str,
        strict: bool,
    ) -> Result<Option<Resolved>, String> {
        let found = if let Some((var, value)) = env_vars
            .iter()
            .find_map(|v| self.env.get(v).map(|value| (v, value.clone())))
        {
            Some(Resolved {
                value: Secret::new(value),
                source: SecretSource::Env(var.clone()),
            })
        } else if let Some(value) = self.keyring.get(path).filter(|v| !v.is_empty()) {
            Some(Resolved {
                value: Secret::new(value),
                source: SecretSource::Keyring,
            })
        } else if !file_value.trim().is_empty() || (strict && !file_value.is_empty()) {
            // A server key of only white space is present but unusable: resolve it so that
            // `server_key` reports it instead of treating it as unset.
            Some(self.expand(path, file_value, file_source)?)
        } else {
            None
        };
        match found {
            Some(r) if strict => server_key(path, r).map(Some),
            Some(r) if is_placeholder(r.value.expose()) => {
                self.warnings.push(format!(
                    "{path}: value from {} looks like a placeholder; treated as unset",
                    r.source
                ));
                Ok(None)
            }
            other => Ok(other),
        }
    }

    /// Expand a file value: `${NAME}`, `file:PATH`, or a literal.
    fn expand(&mut self, path: &str, raw: &str, file_source: &str) -> Result<Resolved, String> {
        let value = raw.trim();
        if let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            let valid_name = inner
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(format!(
                    "{path}: defaults are not supported in secret references; use exactly ${{NAME}} (from {file_source})"
                ));
            }
            return match self.env.get(inner) {
                Some(v) => Ok(Resolved {
                    value: Secret::new(v.clone()),
                    source: SecretSource::EnvRef(inner.into()),
                }),
                None => Err(format!(
                    "{path}: environment variable {inner} referenced by \"${{{inner}}}\" is not set (from {file_source})"
                )),
            };
        }
        if let Some(file) = value.strip_prefix("file:") {
            let mut file_path = PathBuf::from(file);
            if file_path.is_relative()
                && let Some(dir) = self.config_dir
            {
                file_path = dir.join(file_path);
            }
            let content = std::fs::read_to_string(&file_path).map_err(|e| {
                format!(
                    "{path}: cannot read secret file {}: {e} (from {file_source})",
                    file_path.display()
                )
            })?;
            let content = content.trim();
            if content.is_empty() {
                return Err(format!(
                    "{path}: secret file {} is empty (from {file_source})",
                    file_path.display()
                ));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(&file_path)
                    && meta.permissions().mode() & 0o044 != 0
                {
                    self.warnings.push(format!(
                        "{path}: secret file {} is readable by group or others; chmod 600 it",
                        file_path.display()
                    ));
                }
            }
            return Ok(Resolved {
                value: Secret::new(content),
                source: SecretSource::FileRef(file_path),
            });
        }
        Ok(Resolved {
            value: Secret::new(value),
            source: SecretSource::Literal(path.into()),
        })
    }

    /// Resolve every secret of `config` (`config.md` §6.1).
    ///
    /// # Errors
    /// Every problem as one line each.
    pub fn resolve_all(&mut self, config: &Config, file_source: &str) -> (Secrets, Vec<String>) {
        let mut errors = Vec::new();
        let mut secrets = Secrets::default();
        let one = |this: &mut Self,
                   errors: &mut Vec<String>,
                   path: &str,
                   vars: Vec<String>,
                   file_value: &str,
                   strict: bool| {
            this.resolve(path, &vars, file_value, file_source, strict)
                .unwrap_or_else(|e| {
                    errors.push(e);
                    None
                })
        };
        if let Some(r) = one(
            self,
            &mut errors,
            "server_api_key",
            vec!["VOXRAY_SERVER_API_KEY".into()],
            &config.server_api_key,
            true,
        ) {
            secrets.server_keys.push(r);
        }
        // The list: env gives the whole list; else each file entry is expanded on its own.
        let listed: Vec<(String, Result<Resolved, String>)> =
            match self.env.get("VOXRAY_SERVER_API_KEYS") {
                Some(list) => match parse_server_key_list(list) {
                    Ok(items) => items,
                    Err(e) => {
                        errors.push(e);
                        Vec::new()
                    }
                }
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let source = SecretSource::Env("VOXRAY_SERVER_API_KEYS".into());
                    (
                        format!("server_api_keys[{i}]"),
                        Ok(Resolved {
                            value: Secret::new(v),
                            source,
                        }),
                    )
                })
                .collect(),
                None => config
                    .server_api_keys
                    .iter()
                    .enumerate()
                    .map(|(i, raw)| {
                        let path = format!("server_api_keys[{i}]");
                        let expanded = self.expand(&path, raw, file_source);
                        (path, expanded)
                    })
                    .collect(),
            };
        for (path, resolved) in listed {
            match resolved.and_then(|r| server_key(&path, r)) {
                Ok(r) => secrets.server_keys.push(r),
                Err(e) => errors.push(e),
            }
        }
        let mut names: Vec<String> = config.api_keys.keys().cloned().collect();
        for var in self.env.keys() {
            if let Some(name) = var.strip_prefix("VOXRAY_API_KEYS__") {
                names.push(name.to_ascii_lowercase());
            }
        }
        // Daily (dial-in rooms) needs its key even when `api_keys` does not name it, so
        // `DAILY_API_KEY` alone is enough (`config.md` §6.4, `http.md` §10).
        if config.runner_transport == "daily" && !names.iter().any(|n| n == "daily") {
            names.push("daily_api_key".into());
        }
        // The selected providers' keys resolve from their env vars or the keyring even when
        // `api_keys` does not list them (`providers.md` §1).
        names.extend(
            crate::services::config::configured_key_names(config)
                .into_iter()
                .map(String::from),
        );
        // `VOXRAY_API_KEYS`, the map's canonical variable: a JSON object of strings whose
        // members come right after their own `VOXRAY_API_KEYS__NAME` variable.
        let whole_map = match self.env.get("VOXRAY_API_KEYS") {
            Some(raw) => match parse_api_key_map(raw) {
                Ok(map) => map,
                Err(e) => {
                    errors.extend(e);
                    BTreeMap::new()
                }
            },
            None => BTreeMap::new(),
        };
        names.extend(whole_map.keys().cloned());
        names.sort();
        names.dedup();
        for name in names {
            let warned = self.warnings.len();
            let canonical = super::keys::canonical_env(&format!("api_keys.{name}"));
            let found = match (self.env.get(&canonical), whole_map.get(&name)) {
                (None, Some(value)) => Some(Resolved {
                    value: Secret::new(value.as_str()),
                    source: SecretSource::Env("VOXRAY_API_KEYS".into()),
                })
                .filter(|r| {
                    let placeholder = is_placeholder(r.value.expose());
                    if placeholder {
                        self.warnings.push(format!(
                            "api_keys.{name}: value from {} looks like a placeholder; treated as unset",
                            r.source
                        ));
                    }
                    !placeholder
                }),
                _ => {
                    let mut vars = vec![canonical];
                    vars.extend(provider_env_vars(&name));
                    let file_value = config.api_keys.get(&name).map(String::as_str).unwrap_or("");
                    one(
                        self,
                        &mut errors,
                        &format!("api_keys.{name}"),
                        vars,
                        file_value,
                        false,
                    )
                }
            };
            // A value that was found but called a placeholder: remember where it came from.
            let prefix = format!("api_keys.{name}: value from ");
            let placeholder_from = self.warnings[warned..].iter().find_map(|w| {
                w.strip_prefix(&prefix)?
                    .strip_suffix(" looks like a placeholder; treated as unset")
                    .map(str::to_string)
            });
            match found {
                Some(r) => {
                    secrets.api_keys.insert(name, r);
                }
                None => {
                    if let Some(from) = placeholder_from {
                        secrets.placeholder_keys.insert(name, from);
                    }
                }
            }
        }
        secrets.daily_dialin_webhook_secret = one(
            self,
            &mut errors,
            "daily_dialin_webhook_secret",
            vec!["VOXRAY_DAILY_DIALIN_WEBHOOK_SECRET".into()],
            &config.daily_dialin_webhook_secret,
            false,
        );
        secrets.twilio_auth_token = one(
            self,
            &mut errors,
            "twilio_auth_token",
            vec![
                "VOXRAY_TWILIO_AUTH_TOKEN".into(),
                "TWILIO_AUTH_TOKEN".into(),
            ],
            &config.twilio_auth_token,
            false,
        );
        secrets.telnyx_api_key = one(
            self,
            &mut errors,
            "telnyx_api_key",
            vec!["VOXRAY_TELNYX_API_KEY".into(), "TELNYX_API_KEY".into()],
            &config.telnyx_api_key,
            false,
        );
        secrets.plivo_auth_token = one(
            self,
            &mut errors,
            "plivo_auth_token",
            vec!["VOXRAY_PLIVO_AUTH_TOKEN".into(), "PLIVO_AUTH_TOKEN".into()],
            &config.plivo_auth_token,
            false,
        );
        (secrets, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(env: &BTreeMap<String, String>) -> SecretResolver<'_> {
        SecretResolver {
            env,
            keyring: &NoKeyring,
            config_dir: None,
            warnings: vec![],
        }
    }

    #[test]
    fn secret_debug_and_display_redact() {
        let s = Secret::new("vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL");
        assert_eq!(format!("{s}"), "vxr_…gZdL");
        assert!(!format!("{s:?}").contains("0123456789"));
        assert_eq!(format!("{}", Secret::new("myvoxray-live-7")), "****");
    }

    #[test]
    fn env_beats_file_and_env_ref_expands() {
        let mut env = BTreeMap::new();
        env.insert(
            "OPENAI_API_KEY".to_string(),
            "from-env-Zq81xkPa0vBn3".to_string(),
        );
        env.insert("MY_REF".to_string(), "from-ref-Qm3vL8sT2pWx9".to_string());
        let mut r = resolver(&env);
        let got = r
            .resolve(
                "api_keys.openai",
                &["OPENAI_API_KEY".into()],
                "literal-Hk29dLq0",
                "file c",
                false,
            )
            .unwrap()
            .unwrap();
        assert_eq!(got.value.expose(), "from-env-Zq81xkPa0vBn3");
        assert_eq!(got.source, SecretSource::Env("OPENAI_API_KEY".into()));
        let got = r
            .resolve("api_keys.x", &[], "${MY_REF}", "file c", false)
            .unwrap()
            .unwrap();
        assert_eq!(got.value.expose(), "from-ref-Qm3vL8sT2pWx9");
        assert!(
            r.resolve("api_keys.x", &[], "${UNSET_VAR}", "file c", false)
                .is_err()
        );
        assert!(
            r.resolve("api_keys.x", &[], "${MY_REF:-x}", "file c", false)
                .unwrap_err()
                .contains("defaults are not supported")
        );
    }

    #[test]
    fn placeholder_server_key_is_an_error() {
        let env = BTreeMap::new();
        let err = resolver(&env)
            .resolve(
                "server_api_key",
                &[],
                "YOUR_SERVER_API_KEY_HERE",
                "file c",
                true,
            )
            .unwrap_err();
        assert!(err.contains("placeholder"));
        assert!(!err.contains("YOUR_SERVER"));
    }

    #[test]
    fn conventional_env_names() {
        assert_eq!(
            provider_env_vars("google"),
            vec!["GOOGLE_API_KEY", "GEMINI_API_KEY"]
        );
        assert_eq!(provider_env_vars("my-tool"), vec!["MY_TOOL_API_KEY"]);
        assert_eq!(provider_env_vars("hook_token"), vec!["HOOK_TOKEN"]);
    }
}
