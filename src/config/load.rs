//! Loading: file discovery, the JSON file, `VOXRAY_*` environment and flags, layered with
//! figment (`defaults < file < env < flags`, `config.md` §1–4), then validation and secret
//! resolution.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::Serialized;
use serde_json::{Map, Value};

use super::keys::{self, IGNORED_GO_KEYS, KEYS, Kind, SECTIONS};
use super::schema::Config;
use super::secret::{Keyring, SecretResolver, Secrets};
use super::validate::{Source, check_semantics, check_value, error_line};

/// What to load: the explicit `--config` path, the environment snapshot and flag values.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH`.
    pub config_path: Option<PathBuf>,
    /// Environment snapshot (variables with empty values count as unset and are dropped).
    pub env: BTreeMap<String, String>,
    /// Names of environment variables whose name or value is not valid UTF-8 (names shown
    /// lossily; values are never kept). Those voxray reads are config errors ([`load`]).
    pub invalid_env: Vec<String>,
    /// Flag values by key path, with the flag name for error messages.
    pub flags: Vec<(&'static str, &'static str, Value)>,
}

impl LoadOptions {
    /// Options from the process environment, read as `OsString` so that a non-UTF-8 variable
    /// never panics: it is left out of [`LoadOptions::env`] and named in
    /// [`LoadOptions::invalid_env`].
    pub fn from_process_env() -> Self {
        let (env, invalid_env) = env_snapshot(std::env::vars_os());
        Self {
            config_path: None,
            env,
            invalid_env,
            flags: Vec::new(),
        }
    }
}

/// Split raw environment pairs into the UTF-8 snapshot (empty values dropped, `config.md` §3)
/// and the names of variables that are not UTF-8 (name converted lossily, value discarded).
pub fn env_snapshot(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut env = BTreeMap::new();
    let mut invalid = Vec::new();
    for (name, value) in vars {
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => {
                if !value.is_empty() {
                    env.insert(name, value);
                }
            }
            (Ok(name), Err(_)) => invalid.push(name),
            (Err(name), _) => invalid.push(name.to_string_lossy().into_owned()),
        }
    }
    invalid.sort();
    invalid.dedup();
    (env, invalid)
}

/// Whether voxray reads the environment variable `name`: `VOXRAY_*`, a key's alias, or a
/// conventional provider/carrier secret variable (`config.md` §3, §6.4).
fn read_by_voxray(name: &str, api_key_names: &[String]) -> bool {
    name.starts_with("VOXRAY_")
        || KEYS.iter().any(|k| k.env_aliases.contains(&name))
        || super::secret::KNOWN_SECRET_ENV.contains(&name)
        || api_key_names.iter().any(|n| {
            super::secret::provider_env_vars(n)
                .iter()
                .any(|v| v == name)
        })
}

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective configuration.
    pub config: Config,
    /// The resolved secrets.
    pub secrets: Secrets,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// Start-up warnings (unknown keys, placeholder provider keys, readable secret files).
    pub warnings: Vec<String>,
    /// Info lines (ignored Go-Voxray keys).
    pub infos: Vec<String>,
    /// Which layer set each key path that is not at its default.
    pub sources: BTreeMap<String, Source>,
}

/// Configuration errors: each line is complete without the `voxray: ` prefix
/// (`config error: port: expected …`).
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

/// Parse an environment list value: a JSON array when it starts with `[`, else comma-separated
/// with items trimmed and empty items dropped.
///
/// # Errors
/// The JSON parser's message when the array is malformed or holds non-strings.
pub fn parse_env_list(raw: &str) -> Result<Vec<String>, String> {
    let t = raw.trim();
    if t.starts_with('[') {
        serde_json::from_str::<Vec<String>>(t).map_err(|e| e.to_string())
    } else {
        Ok(t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect())
    }
}

/// Parse one environment value for a key of type `kind` (`config.md` §3).
fn parse_env_value(kind: Kind, raw: &str) -> Option<Value> {
    let t = raw.trim();
    match kind {
        Kind::Str | Kind::Enum(_) => Some(Value::String(t.to_string())),
        Kind::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(Value::Bool(true)),
            "false" | "0" | "no" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
        Kind::Int { .. } => t.parse::<i64>().ok().map(Value::from),
        Kind::Float { .. } => t
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::from),
        Kind::StrList | Kind::StrOrList => parse_env_list(t).ok().map(Value::from),
        Kind::StrMap => serde_json::from_str::<Map<String, Value>>(t)
            .ok()
            .map(Value::Object),
        // Text that opens a JSON array or object must be valid JSON: a broken list of ICE
        // servers is an error, never a string (issue 10 item 9).
        Kind::Any if t.starts_with('[') || t.starts_with('{') => serde_json::from_str(t).ok(),
        Kind::Any => Some(serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string()))),
    }
}

/// Set `value` at dotted `path` inside `root`.
fn insert_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((head, rest)) => {
            let child = root
                .entry(head)
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            insert_path(child.as_object_mut().expect("object"), rest, value);
        }
        None => {
            root.insert(path.to_string(), value);
        }
    }
}

/// Remove `_`-prefixed members at any depth (`config.md` §2).
fn strip_comments(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with('_'));
            map.values_mut().for_each(strip_comments);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_comments),
        _ => {}
    }
}

/// Read and parse the config file; JSON errors as `path:line:column: problem`.
fn read_file(path: &Path) -> Result<Map<String, Value>, String> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| format!("{shown}: cannot read config file: {e}"))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| format!("{shown}: config file is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let problem = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        format!("{shown}:{}:{}: {problem}", e.line(), e.column())
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(format!(
            "{shown}:1:1: the config file must hold one JSON object"
        )),
    }
}

/// Load the configuration: discover and read the file, apply env and flags, validate and
/// resolve secrets.
///
/// # Errors
/// [`ConfigErrors`] with every problem found (`config.md` §8); nothing is started or written.
pub fn load(opts: &LoadOptions) -> Result<Loaded, ConfigErrors> {
    strict(load_lenient(opts, None)?)
}

/// [`load`] with an explicit keyring.
///
/// # Errors
/// As [`load`].
pub fn load_with_keyring(
    opts: &LoadOptions,
    keyring: &dyn Keyring,
) -> Result<Loaded, ConfigErrors> {
    strict(load_lenient(opts, Some(keyring))?)
}

/// Any problem makes the load fail, each line prefixed `config error: `.
fn strict((loaded, errors): (Loaded, Vec<String>)) -> Result<Loaded, ConfigErrors> {
    if errors.is_empty() {
        return Ok(loaded);
    }
    Err(ConfigErrors(
        errors
            .into_iter()
            .map(|e| format!("config error: {e}"))
            .collect(),
    ))
}

/// Load as far as possible: invalid values are left at their defaults and reported, for
/// `voxray check`, which turns them into findings instead of stopping.
///
/// Returns the best-effort configuration and every problem as a line without the
/// `config error: ` prefix (`<key path>: <problem> (from <source>)`).
///
/// # Errors
/// [`ConfigErrors`] only when the file is missing, unreadable or not a JSON object.
///
/// `keyring` overrides the OS keyring chosen by `keyring_backend` (tests pass a mock).
pub fn load_lenient(
    opts: &LoadOptions,
    keyring: Option<&dyn Keyring>,
) -> Result<(Loaded, Vec<String>), ConfigErrors> {
    let mut errors: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    let mut infos = Vec::new();
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();
    let fail = |errors: Vec<String>| {
        ConfigErrors(
            errors
                .into_iter()
                .map(|e| format!("config error: {e}"))
                .collect(),
        )
    };

    // 1. File discovery (config.md §2).
    let named = opts
        .config_path
        .clone()
        .or_else(|| opts.env.get("VOXRAY_CONFIG").map(PathBuf::from));
    let file = match named {
        Some(p) => {
            if !p.is_file() {
                return Err(fail(vec![format!(
                    "{}: config file not found or not a file",
                    p.display()
                )]));
            }
            Some(p)
        }
        None => Some(PathBuf::from("config.json")).filter(|p| p.is_file()),
    };
    let file_label = file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut file_map = match &file {
        Some(p) => read_file(p).map_err(|e| fail(vec![e]))?,
        None => Map::new(),
    };
    file_map.retain(|k, _| !k.starts_with('_'));
    for value in file_map.values_mut() {
        strip_comments(value);
    }

    // 2. File values: unknown keys warn, ignored Go keys inform, known keys are type-checked.
    let file_source = Source::File(file_label.clone());
    let mut file_layer = Map::new();
    for (name, value) in std::mem::take(&mut file_map) {
        if IGNORED_GO_KEYS.contains(&name.as_str()) {
            infos.push(format!(
                "config key \"{name}\" (Go Voxray) is accepted and ignored"
            ));
            continue;
        }
        if SECTIONS.contains(&name.as_str()) {
            let Value::Object(members) = value else {
                errors.push(error_line(&name, "expected an object", &file_source));
                continue;
            };
            for (member, v) in members {
                let path = format!("{name}.{member}");
                match keys::find(&path) {
                    Some(spec) => match check_value(spec, &v) {
                        Some(problem) => errors.push(error_line(&path, &problem, &file_source)),
                        None => {
                            sources.insert(path.clone(), file_source.clone());
                            insert_path(&mut file_layer, &path, v);
                        }
                    },
                    None => warnings.push(unknown_key_warning(&path, &file_source)),
                }
            }
            continue;
        }
        match keys::find(&name) {
            Some(spec) => match check_value(spec, &value) {
                Some(problem) => errors.push(error_line(&name, &problem, &file_source)),
                None => {
                    sources.insert(name.clone(), file_source.clone());
                    file_layer.insert(name, value);
                }
            },
            None => warnings.push(unknown_key_warning(&name, &file_source)),
        }
    }

    // 3. Environment (config.md §3). Secret keys are resolved later, in their own order.
    let mut env_layer = Map::new();
    let mut claimed: Vec<String> = vec!["VOXRAY_CONFIG".into()];
    for spec in KEYS {
        let canonical = keys::canonical_env(spec.path);
        claimed.push(canonical.clone());
        if spec.secret {
            continue;
        }
        let mut found: Option<(String, Value)> = None;
        let candidates =
            std::iter::once(canonical.as_str()).chain(spec.env_aliases.iter().copied());
        for var in candidates {
            let Some(raw) = opts.env.get(var) else {
                continue;
            };
            let source = Source::Env(var.to_string());
            // VOXRAY_JSON_LOGS is a boolean alias of log_format.
            let parsed = if var == "VOXRAY_JSON_LOGS" {
                parse_env_value(Kind::Bool, raw).map(|b| {
                    Value::String(
                        if b == Value::Bool(true) {
                            "json"
                        } else {
                            "text"
                        }
                        .into(),
                    )
                })
            } else {
                parse_env_value(spec.kind, raw)
            };
            let Some(value) = parsed.filter(|v| check_value(spec, v).is_none()) else {
                errors.push(error_line(
                    spec.path,
                    &format!("expected {}, got {:?}", spec.kind.expected(), raw),
                    &source,
                ));
                continue;
            };
            if let Some((first_var, first)) = &found {
                if *first != value {
                    errors.push(format!(
                        "{}: {first_var} and {var} are both set, to different values; unset one",
                        spec.path
                    ));
                }
                continue;
            }
            found = Some((var.to_string(), value));
        }
        if let Some((var, value)) = found {
            sources.insert(spec.path.to_string(), Source::Env(var));
            insert_path(&mut env_layer, spec.path, value);
        }
    }
    for spec in KEYS {
        claimed.extend(spec.env_aliases.iter().map(|s| s.to_string()));
    }
    for var in opts.env.keys() {
        if var.starts_with("VOXRAY_")
            && !claimed.contains(var)
            && !var.starts_with("VOXRAY_API_KEYS__")
        {
            let guess = var
                .trim_start_matches("VOXRAY_")
                .to_ascii_lowercase()
                .replace("__", ".");
            warnings.push(unknown_key_warning(&guess, &Source::Env(var.clone())));
        }
    }

    // 4. Flags.
    let mut flag_layer = Map::new();
    for (path, flag, value) in &opts.flags {
        let source = Source::Flag((*flag).to_string());
        if let Some(spec) = keys::find(path)
            && let Some(problem) = check_value(spec, value)
        {
            errors.push(error_line(path, &problem, &source));
            continue;
        }
        sources.insert((*path).to_string(), source);
        insert_path(&mut flag_layer, path, value.clone());
    }

    // `keyword` is a deprecated alias of `min_words` (`pipeline.md` §7): accepted, with a note.
    let winning = [&flag_layer, &env_layer, &file_layer]
        .into_iter()
        .find_map(|layer| layer.get("interruption_strategy"));
    if winning.and_then(Value::as_str) == Some("keyword") {
        warnings.push(format!(
            "interruption_strategy \"keyword\" (from {}) is a deprecated alias: use \"min_words\"",
            sources
                .get("interruption_strategy")
                .cloned()
                .unwrap_or(Source::Default)
        ));
    }

    // 5. Layering (lists replace, maps merge per member) and extraction.
    let mut config: Config = Figment::new()
        .merge(Serialized::defaults(Config::default()))
        .merge(Serialized::defaults(Value::Object(file_layer)))
        .merge(Serialized::defaults(Value::Object(env_layer)))
        .merge(Serialized::defaults(Value::Object(flag_layer)))
        .extract()
        .map_err(|e| {
            let path = e.path.join(".");
            fail(vec![format!(
                "{}: {}",
                if path.is_empty() { "config" } else { &path },
                e.kind
            )])
        })?;

    // 6. Semantic checks and providers.
    let source_of = |path: &str| sources.get(path).cloned().unwrap_or(Source::Default);
    errors.extend(check_semantics(&mut config, &source_of));
    if config.turn_stop_secs > 1.5 {
        warnings.push(format!(
            "turn_stop_secs is {} s (from {}): users wait that long after they stop speaking before the bot answers; 0.6 s is the default",
            config.turn_stop_secs,
            source_of("turn_stop_secs")
        ));
    }
    // 6b. Variables that are not UTF-8: an error by name (never the value) when voxray reads
    // them, ignored otherwise.
    let api_key_names: Vec<String> = config.api_keys.keys().cloned().collect();
    for name in &opts.invalid_env {
        if read_by_voxray(name, &api_key_names) {
            errors.push(format!(
                "{name}: environment variable is not valid UTF-8 (value not shown)"
            ));
        }
    }

    // 7. Secrets.
    let os_keyring;
    let keyring = match keyring {
        Some(k) => k,
        None => {
            os_keyring = super::keyring::OsKeyring::new(&config.keyring_backend);
            &os_keyring
        }
    };
    let mut resolver = SecretResolver {
        env: &opts.env,
        keyring,
        config_dir: file.as_deref().and_then(Path::parent),
        warnings: Vec::new(),
    };
    let (secrets, secret_errors) = resolver.resolve_all(&config, &file_source.to_string());
    errors.extend(secret_errors);
    warnings.append(&mut resolver.warnings);
    // Providers (`providers.md` §1): one line per problem naming the key or env var; the
    // voice pipeline (also `auto` with an LLM) needs all three stages.
    match crate::services::Services::from_config(&config, &secrets, None) {
        Err(lines) => errors.extend(lines),
        Ok(services) if config.effective_pipeline() == super::schema::PipelineKind::Voice => {
            let missing: Vec<&str> = [
                ("stt_provider", services.stt.is_none()),
                ("llm_provider", services.llm.is_none()),
                ("tts_provider", services.tts.is_none()),
            ]
            .into_iter()
            .filter_map(|(k, none)| none.then_some(k))
            .collect();
            if !missing.is_empty() {
                errors.push(error_line(
                    "pipeline",
                    &format!(
                        "the voice pipeline needs STT, LLM and TTS providers: set {}",
                        missing.join(", ")
                    ),
                    &source_of("pipeline"),
                ));
            }
        }
        Ok(_) => {}
    }
    if config.dialin && config.runner_transport == "daily" && secrets.daily_api_key().is_none() {
        errors.push(error_line(
            "dialin",
            "the Daily dial-in webhook needs a Daily API key: no key found in DAILY_API_KEY, \
             the keyring or the config file (api_keys.daily_api_key)",
            &source_of("dialin"),
        ));
    }
    let loaded = Loaded {
        config,
        secrets,
        file,
        warnings,
        infos,
        sources,
    };
    Ok((loaded, errors))
}

fn unknown_key_warning(path: &str, source: &Source) -> String {
    match keys::suggest(path) {
        Some(k) => format!("unknown config key \"{path}\" (from {source}); did you mean \"{k}\"?"),
        None => format!("unknown config key \"{path}\" (from {source})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(env: &[(&str, &str)]) -> LoadOptions {
        LoadOptions {
            config_path: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            invalid_env: vec![],
            flags: vec![],
        }
    }

    #[test]
    fn defaults_without_file() {
        let dir = std::env::temp_dir();
        let _ = dir;
        let loaded = load(&opts(&[])).unwrap();
        assert_eq!(loaded.config.port, 8080);
        assert_eq!(loaded.config.max_request_body_bytes, 262_144);
        assert!(loaded.secrets.server_keys.is_empty());
    }

    #[test]
    fn env_overrides_and_lists() {
        let loaded = load(&opts(&[
            ("VOXRAY_PORT", "9000"),
            (
                "VOXRAY_CORS_ORIGINS",
                "https://a.example, https://B.example:443",
            ),
            ("VOXRAY_METRICS_ENABLED", "off"),
        ]))
        .unwrap();
        assert_eq!(loaded.config.port, 9000);
        assert_eq!(
            loaded.config.cors_allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert!(!loaded.config.metrics_enabled);
    }

    #[test]
    fn bad_env_value_names_key_and_variable() {
        let err = load(&opts(&[("VOXRAY_PORT", "80a")])).unwrap_err();
        assert_eq!(
            err.0,
            vec![
                "config error: port: expected an integer from 0 to 65535, got \"80a\" (from env VOXRAY_PORT)"
            ]
        );
    }

    #[test]
    fn alias_conflict_is_an_error() {
        let err = load(&opts(&[
            ("VOXRAY_MAX_REQUEST_BODY_BYTES", "2048"),
            ("VOXRAY_MAX_BODY_BYTES", "4096"),
        ]))
        .unwrap_err();
        assert!(
            err.0[0].contains("VOXRAY_MAX_REQUEST_BODY_BYTES and VOXRAY_MAX_BODY_BYTES"),
            "{err}"
        );
    }

    #[test]
    fn broken_json_in_env_is_an_error() {
        let err = load(&opts(&[("VOXRAY_WEBRTC_ICE_SERVERS", "[{\"urls\": ")])).unwrap_err();
        assert!(
            err.0[0].starts_with("config error: webrtc_ice_servers: expected a JSON value")
                && err.0[0].ends_with("(from env VOXRAY_WEBRTC_ICE_SERVERS)"),
            "{err}"
        );
        let err = load(&opts(&[(
            "VOXRAY_API_KEYS",
            "{\"openai\": \"sk-proj-Zq81xkPa0vBn3Hk29dLq0Wm4",
        )]))
        .unwrap_err();
        assert_eq!(
            err.0,
            vec![
                "config error: api_keys: expected a JSON object of strings, the JSON is malformed at line 1 column 44 (from env VOXRAY_API_KEYS)"
            ]
        );
        let err = load(&opts(&[("VOXRAY_API_KEYS", "{\"openai\": 1}")])).unwrap_err();
        assert!(
            err.0[0].contains("api_keys.openai: expected a string, got a number"),
            "{err}"
        );
        let loaded = load(&opts(&[(
            "VOXRAY_API_KEYS",
            "{\"deepgram\": \"dg-Zq81xkPa0vBn3Hk29dLq0Wm4\"}",
        )]))
        .unwrap();
        let r = &loaded.secrets.api_keys["deepgram"];
        assert_eq!(r.value.expose(), "dg-Zq81xkPa0vBn3Hk29dLq0Wm4");
        assert_eq!(r.source.to_string(), "env VOXRAY_API_KEYS");
    }

    #[test]
    fn flags_beat_env() {
        let mut o = opts(&[("VOXRAY_PORT", "9000")]);
        o.flags.push(("port", "port", Value::from(9100)));
        assert_eq!(load(&o).unwrap().config.port, 9100);
    }

    #[test]
    fn vad_turn_enums_are_typed() {
        use crate::config::schema::{InterruptionStrategy, TurnDetection, VadType};
        let loaded = load(&opts(&[])).unwrap();
        assert_eq!(loaded.config.vad_type, VadType::Energy);
        assert_eq!(loaded.config.turn_detection, TurnDetection::Silence);
        assert_eq!(
            loaded.config.interruption_strategy,
            InterruptionStrategy::None
        );
        let loaded = load(&opts(&[
            ("VOXRAY_VAD_TYPE", "earshot"),
            ("VOXRAY_TURN_DETECTION", "none"),
            ("VOXRAY_INTERRUPTION_STRATEGY", "keyword"),
        ]))
        .unwrap();
        assert_eq!(loaded.config.vad_type, VadType::Earshot);
        assert_eq!(loaded.config.turn_detection, TurnDetection::None);
        assert_eq!(
            loaded.config.interruption_strategy,
            InterruptionStrategy::MinWords
        );
        assert!(
            loaded.warnings.iter().any(|w| w
                == "interruption_strategy \"keyword\" (from env VOXRAY_INTERRUPTION_STRATEGY) is a deprecated alias: use \"min_words\""),
            "{:?}",
            loaded.warnings
        );
        for (word, want) in [
            ("none", InterruptionStrategy::None),
            ("", InterruptionStrategy::None),
            ("min_words", InterruptionStrategy::MinWords),
        ] {
            let loaded = load(&opts(&[("VOXRAY_INTERRUPTION_STRATEGY", word)])).unwrap();
            assert_eq!(loaded.config.interruption_strategy, want, "{word:?}");
            assert!(loaded.warnings.iter().all(|w| !w.contains("deprecated")));
        }
        let err = load(&opts(&[("VOXRAY_VAD_TYPE", "silero")])).unwrap_err();
        assert!(
            err.0[0].contains("vad_type: expected one of energy, earshot"),
            "{err}"
        );
    }

    #[test]
    fn turn_stop_below_vad_stop_is_an_error_and_long_stop_warns() {
        let err = load(&opts(&[
            ("VOXRAY_TURN_STOP_SECS", "0.3"),
            ("VOXRAY_VAD_STOP_SECS", "0.5"),
        ]))
        .unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|l| l.contains("turn_stop_secs: must be >= vad_stop_secs (0.5), got 0.3")),
            "{err}"
        );
        let loaded = load(&opts(&[
            ("VOXRAY_TURN_STOP_SECS", "0.5"),
            ("VOXRAY_VAD_STOP_SECS", "0.5"),
        ]))
        .unwrap();
        assert!(
            loaded
                .warnings
                .iter()
                .all(|w| !w.contains("turn_stop_secs"))
        );
        let loaded = load(&opts(&[("VOXRAY_TURN_STOP_SECS", "2")])).unwrap();
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.starts_with("turn_stop_secs is 2 s")),
            "{:?}",
            loaded.warnings
        );
        // Out of range is an error, never clamped.
        let err = load(&opts(&[("VOXRAY_VAD_CONFIDENCE", "1.5")])).unwrap_err();
        assert!(err.0[0].contains("vad_confidence"), "{err}");
    }
}
