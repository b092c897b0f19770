//! Validation of configuration values (`config.md` §8): each problem becomes one line naming
//! the key path, the expected form and the layer the value came from. Values of secret keys are
//! never echoed in a message.

use serde_json::Value;

use super::keys::{KeySpec, Kind};
use super::schema::Config;

/// Where a value came from, for error messages and `config print --sources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The JSON config file at this path.
    File(String),
    /// An environment variable.
    Env(String),
    /// A command-line flag (`--port`).
    Flag(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {p}"),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(n) => write!(f, "flag --{n}"),
        }
    }
}

/// One config error line without the `voxray: config error: ` prefix.
pub fn error_line(path: &str, problem: &str, source: &Source) -> String {
    format!("{path}: {problem} (from {source})")
}

/// The JSON type of `value` as words (`a number`, `a list`, …): what error lines show in place
/// of a secret value.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a rejected value: the JSON text for non-secrets, the type otherwise.
fn shown(value: &Value, secret: bool) -> String {
    if secret {
        return json_type_name(value).into();
    }
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// Check one value against its key's type and range; `None` when it is acceptable.
pub fn check_value(spec: &KeySpec, value: &Value) -> Option<String> {
    let bad = || {
        format!(
            "expected {}, got {}",
            spec.kind.expected(),
            shown(value, spec.secret)
        )
    };
    match spec.kind {
        Kind::Str => (!value.is_string()).then(bad),
        Kind::Bool => (!value.is_boolean()).then(bad),
        Kind::Int { min, max } => match value.as_i64() {
            Some(n) if n >= min && n <= max => None,
            _ => match value.as_u64() {
                Some(n) if max == i64::MAX && n > i64::MAX as u64 => None,
                _ => Some(bad()),
            },
        },
        Kind::Float {
            min,
            max,
            exclusive_min,
        } => match value.as_f64() {
            Some(x) if (if exclusive_min { x > min } else { x >= min }) && x <= max => None,
            _ => Some(bad()),
        },
        Kind::Enum(words) => match value.as_str() {
            Some(s) if words.contains(&s) => None,
            _ => Some(bad()),
        },
        Kind::StrList => match value {
            Value::Array(items) if items.iter().all(Value::is_string) => None,
            _ => Some(bad()),
        },
        Kind::StrOrList => match value {
            Value::String(_) => None,
            Value::Array(items) if items.iter().all(Value::is_string) => None,
            _ => Some(bad()),
        },
        Kind::StrMap => match value {
            Value::Object(m) if m.values().all(Value::is_string) => None,
            _ => Some(bad()),
        },
        Kind::Any => None,
    }
}

/// Normalise a browser origin (`http.md` §5): lower-case scheme and host, default port
/// removed, one trailing `/` stripped.
///
/// # Errors
/// A reason when the text is not `http|https://host[:port]`: `*`, `null`, wildcard hosts,
/// paths, queries, fragments and userinfo are all rejected.
pub fn normalize_origin(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed == "*" {
        return Err("\"*\" is not allowed; list every browser origin explicitly, e.g. \"https://app.example.com\"".into());
    }
    if trimmed.eq_ignore_ascii_case("null") {
        return Err("\"null\" is not allowed; list every browser origin explicitly, e.g. \"https://app.example.com\"".into());
    }
    if trimmed.contains('*') {
        return Err(format!(
            "{trimmed:?}: wildcard origins are not supported; list each origin"
        ));
    }
    let text = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let url = url::Url::parse(text).map_err(|_| {
        format!("{text:?} is not an origin; expected http(s)://host[:port], e.g. \"https://app.example.com\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?}: scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?}: an origin has no user info"));
    }
    // `Url` adds a `/` path for special schemes; anything beyond it is a path.
    let after_authority = text.splitn(4, '/').nth(3);
    if after_authority.is_some_and(|rest| !rest.is_empty())
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "{text:?}: an origin has no path, query or fragment"
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("{text:?}: missing host"))?;
    Ok(match url.port() {
        Some(port) => format!("{}://{}:{port}", url.scheme(), host.to_ascii_lowercase()),
        None => format!("{}://{}", url.scheme(), host.to_ascii_lowercase()),
    })
}

/// Cross-key checks on the merged configuration (`config.md` §8). `source_of` names the layer
/// that set a key. Returns error lines (without prefix); `config.cors_allowed_origins` is
/// normalised in place.
pub fn check_semantics(config: &mut Config, source_of: &dyn Fn(&str) -> Source) -> Vec<String> {
    let mut errors = Vec::new();
    let mut origins: Vec<String> = Vec::new();
    for (i, origin) in config.cors_allowed_origins.iter().enumerate() {
        match normalize_origin(origin) {
            Ok(o) if !origins.contains(&o) => origins.push(o),
            Ok(_) => {}
            Err(problem) => errors.push(error_line(
                &format!("cors_allowed_origins[{i}]"),
                &problem,
                &source_of("cors_allowed_origins"),
            )),
        }
    }
    config.cors_allowed_origins = origins;

    if config.tls_enable {
        let files = !config.tls_cert_file.is_empty() || !config.tls_key_file.is_empty();
        let acme = !config.tls_acme_domains.is_empty();
        if files && acme {
            errors.push(error_line(
                "tls_enable",
                "set either tls_cert_file + tls_key_file or tls_acme_domains, not both",
                &source_of("tls_enable"),
            ));
        } else if !files && !acme {
            errors.push(error_line(
                "tls_enable",
                "needs tls_cert_file and tls_key_file, or tls_acme_domains",
                &source_of("tls_enable"),
            ));
        } else if files && (config.tls_cert_file.is_empty() || config.tls_key_file.is_empty()) {
            errors.push(error_line(
                "tls_enable",
                "tls_cert_file and tls_key_file must both be set",
                &source_of("tls_enable"),
            ));
        }
    }

    if !config.metrics_listen.is_empty() {
        match config.metrics_listen.parse::<std::net::SocketAddr>() {
            Err(_) => errors.push(error_line(
                "metrics_listen",
                &format!(
                    "expected host:port with an IP address, got {:?}",
                    config.metrics_listen
                ),
                &source_of("metrics_listen"),
            )),
            Ok(addr) => {
                let public = format!("{}:{}", config.host, config.port);
                if public.parse::<std::net::SocketAddr>().ok() == Some(addr) && config.port != 0 {
                    errors.push(error_line(
                        "metrics_listen",
                        "must differ from the public listener host:port",
                        &source_of("metrics_listen"),
                    ));
                }
            }
        }
    }

    if config.session_store == "redis" && url::Url::parse(&config.redis_url).is_err() {
        errors.push(error_line(
            "redis_url",
            "session_store \"redis\" needs a redis:// or rediss:// URL",
            &source_of("redis_url"),
        ));
    }

    if config.dialin && config.runner_transport != "daily" {
        errors.push(error_line(
            "dialin",
            "needs runner_transport \"daily\"",
            &source_of("dialin"),
        ));
    }

    for (key, value) in [
        ("daily_api_url", &config.daily_api_url),
        ("twilio_api_base_url", &config.twilio_api_base_url),
        ("telnyx_api_base_url", &config.telnyx_api_base_url),
        ("plivo_api_base_url", &config.plivo_api_base_url),
    ] {
        let ok = url::Url::parse(value).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.has_host() && u.query().is_none()
        });
        if !ok {
            errors.push(error_line(
                key,
                &format!("expected an http(s) URL without query, e.g. \"https://api.example.com\", got {value:?}"),
                &source_of(key),
            ));
        }
    }

    let table = &config.transcripts.table_name;
    if table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errors.push(error_line(
            "transcripts.table_name",
            "expected letters, digits and _ only",
            &source_of("transcripts.table_name"),
        ));
    }
    if config.transcripts.enable
        && config.transcripts.driver != "sqlite"
        && config.transcripts.dsn.is_empty()
    {
        errors.push(error_line(
            "transcripts.dsn",
            "required for the postgres and mysql drivers",
            &source_of("transcripts.dsn"),
        ));
    }

    // `pipeline.md` §6: the turn cannot end before the VAD's own hysteresis has.
    if config.turn_stop_secs < config.vad_stop_secs {
        errors.push(error_line(
            "turn_stop_secs",
            &format!(
                "must be >= vad_stop_secs ({}), got {}",
                config.vad_stop_secs, config.turn_stop_secs
            ),
            &source_of("turn_stop_secs"),
        ));
    }

    let (min, max) = (config.webrtc_udp_port_min, config.webrtc_udp_port_max);
    if (min == 0) != (max == 0) || min > max {
        errors.push(error_line(
            "webrtc_udp_port_min",
            "set both webrtc_udp_port_min and webrtc_udp_port_max, with min <= max",
            &source_of("webrtc_udp_port_min"),
        ));
    }
    for port_key in [
        "webrtc_udp_port_min",
        "webrtc_udp_port_max",
        "webrtc_udp_port",
    ] {
        let port = match port_key {
            "webrtc_udp_port_min" => min,
            "webrtc_udp_port_max" => max,
            _ => config.webrtc_udp_port,
        };
        if port != 0 && port < 1024 {
            errors.push(error_line(
                port_key,
                "expected 0 or a port from 1024 to 65535",
                &source_of(port_key),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalise() {
        assert_eq!(
            normalize_origin("HTTPS://App.Example.com:443/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            normalize_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            normalize_origin("http://a.example:80").unwrap(),
            "http://a.example"
        );
    }

    #[test]
    fn rest_base_urls_must_be_http_urls() {
        let mut c = Config::default();
        assert!(check_semantics(&mut c, &|_| Source::Default).is_empty());
        c.daily_api_url = "http://127.0.0.1:9/v1".into();
        c.twilio_api_base_url = "ftp://api.twilio.com".into();
        c.plivo_api_base_url = "api.plivo.com".into();
        c.telnyx_api_base_url = "https://api.telnyx.com?x=1".into();
        let errors = check_semantics(&mut c, &|_| Source::Default);
        assert_eq!(errors.len(), 3, "{errors:?}");
        for key in [
            "twilio_api_base_url",
            "plivo_api_base_url",
            "telnyx_api_base_url",
        ] {
            assert!(
                errors
                    .iter()
                    .any(|e| e.starts_with(&format!("{key}: expected an http(s) URL")))
            );
        }
    }

    #[test]
    fn origins_rejected() {
        for bad in [
            "*",
            "null",
            "https://*.example.com",
            "https://a.example/path",
            "ftp://a.example",
            "https://user:pw@a.example",
            "https://a.example?x=1",
            "app.example.com",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad} should be rejected");
        }
    }
}
