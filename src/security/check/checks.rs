//! The checklist rows of `security-tools.md` §3, in table order.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{CheckDef, Context, Evidence, Outcome, Severity, Status};
use crate::config::secret::SecretSource;
pub use crate::secret_text::strength::{key_bits, shannon, weakness};
use crate::security::audit;
use crate::security::redact::redact;

/// Every check, in report order.
pub static CHECKS: &[CheckDef] = &[
    CheckDef {
        id: "VXP-CFG-001",
        title: "Configuration is valid",
        severity: Severity::High,
        basic: true,
        run: cfg_valid,
    },
    CheckDef {
        id: "VXP-CFG-002",
        title: "No unknown configuration keys",
        severity: Severity::Low,
        basic: true,
        run: cfg_unknown,
    },
    CheckDef {
        id: "VXP-CORS-001",
        title: "CORS origins are explicit",
        severity: Severity::High,
        basic: true,
        run: cors_explicit,
    },
    CheckDef {
        id: "VXP-CORS-002",
        title: "CORS origins use https",
        severity: Severity::Medium,
        basic: true,
        run: cors_https,
    },
    CheckDef {
        id: "VXP-HTTP-001",
        title: "Request body limit is sane",
        severity: Severity::Medium,
        basic: true,
        run: body_limit,
    },
    CheckDef {
        id: "VXP-HTTP-002",
        title: "Session count is bounded",
        severity: Severity::Medium,
        basic: false,
        run: max_sessions,
    },
    CheckDef {
        id: "VXP-TLS-001",
        title: "Public listener uses TLS",
        severity: Severity::High,
        basic: false,
        run: tls_on,
    },
    CheckDef {
        id: "VXP-TLS-002",
        title: "TLS certificate and key are usable",
        severity: Severity::High,
        basic: false,
        run: tls_material,
    },
    CheckDef {
        id: "VXP-AUTH-001",
        title: "Server API keys are set and strong",
        severity: Severity::Critical,
        basic: false,
        run: server_keys,
    },
    CheckDef {
        id: "VXP-AUTH-002",
        title: "Dial-in webhook is authenticated",
        severity: Severity::High,
        basic: false,
        run: dialin_secret,
    },
    CheckDef {
        id: "VXP-AUTH-003",
        title: "Telephony routes are authenticated",
        severity: Severity::Medium,
        basic: false,
        run: telephony_auth,
    },
    CheckDef {
        id: "VXP-METRICS-001",
        title: "/metrics is not public",
        severity: Severity::High,
        basic: false,
        run: metrics_private,
    },
    CheckDef {
        id: "VXP-SECRETS-001",
        title: "No literal secrets in the config file",
        severity: Severity::High,
        basic: false,
        run: no_literal_secrets,
    },
    CheckDef {
        id: "VXP-SECRETS-002",
        title: "Config file permissions are tight",
        severity: Severity::Medium,
        basic: false,
        run: config_file_mode,
    },
    CheckDef {
        id: "VXP-GIT-001",
        title: "Config file is not committed",
        severity: Severity::High,
        basic: false,
        run: git_config,
    },
    CheckDef {
        id: "VXP-GIT-002",
        title: "Example config holds placeholders only",
        severity: Severity::High,
        basic: false,
        run: git_example,
    },
    CheckDef {
        id: "VXP-GIT-003",
        title: "No secrets in git history",
        severity: Severity::High,
        basic: false,
        run: git_history,
    },
    CheckDef {
        id: "VXP-RUN-001",
        title: "Runs as a non-root user",
        severity: Severity::High,
        basic: false,
        run: non_root,
    },
    CheckDef {
        id: "VXP-RUN-002",
        title: "Config file is read-only to the server",
        severity: Severity::Low,
        basic: false,
        run: config_read_only,
    },
    CheckDef {
        id: "VXP-NET-001",
        title: "Network egress is restricted",
        severity: Severity::Medium,
        basic: false,
        run: egress,
    },
    CheckDef {
        id: "VXP-DB-001",
        title: "Database connections use TLS",
        severity: Severity::Medium,
        basic: false,
        run: db_tls,
    },
    CheckDef {
        id: "VXP-LOG-001",
        title: "Log level is not debug or trace",
        severity: Severity::Low,
        basic: false,
        run: log_level,
    },
    CheckDef {
        id: "VXP-DOCS-001",
        title: "API docs are not public",
        severity: Severity::Low,
        basic: false,
        run: docs_public,
    },
    CheckDef {
        id: "VXP-MODELS-001",
        title: "Local voice agent models are installed and intact",
        severity: Severity::Medium,
        basic: true,
        run: local_models,
    },
];

fn ev(
    path: impl Into<String>,
    actual: impl Into<String>,
    expected: impl Into<String>,
    source: impl Into<String>,
) -> Evidence {
    Evidence {
        path: path.into(),
        actual: actual.into(),
        expected: expected.into(),
        source: source.into(),
    }
}

/// Where a key's value came from.
fn source(ctx: &Context<'_>, path: &str) -> String {
    ctx.loaded
        .sources
        .get(path)
        .map_or_else(|| "default".to_string(), ToString::to_string)
}

/// Split a problem line `<path>: <message> (from <source>)`.
fn split_problem(line: &str) -> (String, String, String) {
    let (path, rest) = line.split_once(": ").unwrap_or(("config", line));
    match rest.rsplit_once(" (from ") {
        Some((msg, src)) => (path.into(), msg.into(), src.trim_end_matches(')').into()),
        None => (path.into(), rest.into(), "config".into()),
    }
}

fn worst(evidence_status: &[Status]) -> Status {
    evidence_status
        .iter()
        .copied()
        .max()
        .unwrap_or(Status::Pass)
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn cfg_valid(ctx: &Context<'_>) -> Outcome {
    if ctx.problems.is_empty() {
        return Outcome::pass(vec![]);
    }
    let evidence = ctx
        .problems
        .iter()
        .map(|p| {
            let (path, msg, src) = split_problem(p);
            ev(path, msg, "a valid value (see config.md §5)", src)
        })
        .collect();
    Outcome::flag(
        Status::Fail,
        evidence,
        "Fix each configuration error; `voxray serve` refuses to start until they are gone.",
    )
}

fn cfg_unknown(ctx: &Context<'_>) -> Outcome {
    let evidence: Vec<Evidence> = ctx
        .loaded
        .warnings
        .iter()
        .filter_map(|w| w.strip_prefix("unknown config key "))
        .map(|rest| {
            let key = rest.split('"').nth(1).unwrap_or(rest).to_string();
            let src = rest
                .split(" (from ")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .unwrap_or("config");
            let hint = rest
                .split("did you mean ")
                .nth(1)
                .map_or("a known key".to_string(), |h| {
                    h.trim_end_matches('?').to_string()
                });
            ev(key, "unknown key", hint, src)
        })
        .collect();
    Outcome::unless_empty(
        Status::Warn,
        evidence,
        "Rename or remove unknown keys; a misspelt key silently keeps its default.",
    )
}

fn cors_explicit(ctx: &Context<'_>) -> Outcome {
    let evidence: Vec<Evidence> = ctx
        .problems
        .iter()
        .filter(|p| p.starts_with("cors_allowed_origins"))
        .map(|p| {
            let (path, msg, src) = split_problem(p);
            let actual = msg.split('"').nth(1).map_or(msg.clone(), String::from);
            ev(
                path,
                actual,
                "exact origins such as https://app.example.com",
                src,
            )
        })
        .collect();
    Outcome::unless_empty(
        Status::Fail,
        evidence,
        "Replace wildcards and \"null\" with every origin that serves your front-end: \"cors_allowed_origins\": [\"https://app.example.com\"].",
    )
}

fn cors_https(ctx: &Context<'_>) -> Outcome {
    let origins = &ctx.loaded.config.cors_allowed_origins;
    let src = source(ctx, "cors_allowed_origins");
    if origins.is_empty() {
        return Outcome::flag(
            Status::Info,
            vec![ev(
                "cors_allowed_origins",
                "[]",
                "the origins of your front-ends",
                src,
            )],
            "Leave the list empty for same-origin use only; list each front-end origin to allow cross-origin calls: \"cors_allowed_origins\": [\"https://app.example.com\"].",
        );
    }
    let mut evidence = Vec::new();
    for (i, origin) in origins.iter().enumerate() {
        let host = url::Url::parse(origin)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if origin.starts_with("http://") || is_loopback_host(host) {
            evidence.push(ev(
                format!("cors_allowed_origins[{i}]"),
                origin.clone(),
                "an https:// origin that is not loopback",
                src.clone(),
            ));
        }
    }
    Outcome::unless_empty(
        Status::Warn,
        evidence,
        "Serve front-ends over https and list only those origins; drop development origins in production.",
    )
}

fn body_limit(ctx: &Context<'_>) -> Outcome {
    let limit = ctx.loaded.config.max_request_body_bytes;
    let src = source(ctx, "max_request_body_bytes");
    let kind = if src == "default" {
        "default"
    } else {
        "explicit"
    };
    let e = ev(
        "max_request_body_bytes",
        format!("{limit} ({kind})"),
        "1024..=10485760; 1048576 suits large SDP offers",
        src,
    );
    if limit > 10 * 1024 * 1024 {
        return Outcome::flag(
            Status::Warn,
            vec![e],
            "Lower the body limit: \"max_request_body_bytes\": 1048576.",
        );
    }
    Outcome::pass(vec![e])
}

fn max_sessions(ctx: &Context<'_>) -> Outcome {
    if ctx.loaded.config.max_sessions == 0 {
        return Outcome::flag(
            Status::Warn,
            vec![ev(
                "max_sessions",
                "0 (unlimited)",
                ">= 1",
                source(ctx, "max_sessions"),
            )],
            "Bound concurrent sessions to what the machine can serve: \"max_sessions\": 200.",
        );
    }
    Outcome::pass(vec![])
}

fn tls_on(ctx: &Context<'_>) -> Outcome {
    let c = &ctx.loaded.config;
    if c.tls_enable {
        return Outcome::pass(vec![]);
    }
    if c.tls_terminated_upstream || ctx.behind_proxy {
        return Outcome::flag(
            Status::Warn,
            vec![ev(
                "tls_terminated_upstream",
                "true",
                "a proxy that enforces HTTPS",
                source(ctx, "tls_terminated_upstream"),
            )],
            "Confirm the reverse proxy terminates TLS and redirects plain HTTP; this cannot be verified from the config.",
        );
    }
    let e = ev(
        "tls_enable",
        "false",
        "true, or TLS terminated by a proxy",
        source(ctx, "tls_enable"),
    );
    if is_loopback_host(&c.host) {
        return Outcome::flag(
            Status::Warn,
            vec![e],
            "A loopback listener is fine behind a local proxy; otherwise enable TLS: \"tls_enable\": true, \"tls_acme_domains\": [\"voice.example.com\"].",
        );
    }
    Outcome::flag(
        Status::Fail,
        vec![e],
        "Enable on-server TLS or terminate TLS at a proxy: \"tls_enable\": true, \"tls_cert_file\": \"/etc/voxray/cert.pem\", \"tls_key_file\": \"/etc/voxray/key.pem\".",
    )
}

fn tls_material(ctx: &Context<'_>) -> Outcome {
    let c = &ctx.loaded.config;
    if !c.tls_enable {
        return Outcome::skip("TLS is off (tls_enable: false)");
    }
    let mut flagged: Vec<(Status, Evidence)> = Vec::new();
    if c.tls_acme_domains.is_empty() {
        let (cert, key) = (Path::new(&c.tls_cert_file), Path::new(&c.tls_key_file));
        if let Err(e) = crate::pki::load_certified_key(cert, key) {
            flagged.push((
                Status::Fail,
                ev(
                    e.key,
                    e.problem.clone(),
                    "a readable PEM certificate and its key",
                    e.path.clone(),
                ),
            ));
        } else if let Ok(not_after) = crate::pki::leaf_not_after(cert) {
            let now = SystemTime::now();
            let shown = chrono::DateTime::<chrono::Utc>::from(not_after)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            if not_after <= now {
                flagged.push((
                    Status::Fail,
                    ev(
                        "tls_cert_file",
                        format!("expired {shown}"),
                        "a valid certificate",
                        c.tls_cert_file.clone(),
                    ),
                ));
            } else if not_after < now + Duration::from_secs(30 * 86_400) {
                flagged.push((
                    Status::Warn,
                    ev(
                        "tls_cert_file",
                        format!("expires {shown}"),
                        "more than 30 days of validity",
                        c.tls_cert_file.clone(),
                    ),
                ));
            }
        }
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(key) {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o006 != 0 {
                flagged.push((
                    Status::Fail,
                    ev(
                        "tls_key_file",
                        format!("mode {mode:04o}"),
                        "0600 or 0400",
                        c.tls_key_file.clone(),
                    ),
                ));
            } else if mode & 0o040 != 0 {
                flagged.push((
                    Status::Warn,
                    ev(
                        "tls_key_file",
                        format!("mode {mode:04o}"),
                        "0600 or 0400",
                        c.tls_key_file.clone(),
                    ),
                ));
            }
        }
    } else {
        let dir = Path::new(&c.tls_acme_cache_dir);
        let probe = dir.join(".voxray-check-write-probe");
        let writable = std::fs::create_dir_all(dir).is_ok() && std::fs::write(&probe, b"").is_ok();
        let _ = std::fs::remove_file(&probe);
        if !writable {
            flagged.push((
                Status::Fail,
                ev(
                    "tls_acme_cache_dir",
                    "not writable",
                    "a writable directory (0700)",
                    source(ctx, "tls_acme_cache_dir"),
                ),
            ));
        }
        if c.tls_acme_directory_url != crate::config::Config::default().tls_acme_directory_url {
            flagged.push((
                Status::Warn,
                ev(
                    "tls_acme_directory_url",
                    c.tls_acme_directory_url.clone(),
                    "the Let's Encrypt production directory",
                    source(ctx, "tls_acme_directory_url"),
                ),
            ));
        }
        let no_contact = match &c.tls_acme_contact {
            serde_json::Value::String(s) => s.is_empty(),
            serde_json::Value::Array(a) => a.is_empty(),
            _ => true,
        };
        if no_contact {
            flagged.push((
                Status::Warn,
                ev(
                    "tls_acme_contact",
                    "none",
                    "an e-mail for expiry notices",
                    source(ctx, "tls_acme_contact"),
                ),
            ));
        }
    }
    if flagged.is_empty() {
        return Outcome::pass(vec![]);
    }
    let status = worst(&flagged.iter().map(|(s, _)| *s).collect::<Vec<_>>());
    Outcome::flag(
        status,
        flagged.into_iter().map(|(_, e)| e).collect(),
        "Install a valid certificate and its key with mode 0600, renew before expiry, and give ACME a contact: \"tls_acme_contact\": \"ops@example.com\".",
    )
}

fn server_keys(ctx: &Context<'_>) -> Outcome {
    let keys = &ctx.loaded.secrets.server_keys;
    let fix = "Generate a key with `voxray keygen`, supply it through VOXRAY_SERVER_API_KEY or a secret store, and rotate it on any suspected compromise.";
    // Keys the loader refused (placeholders, unresolvable references) count as weak keys.
    let mut evidence: Vec<Evidence> = ctx
        .problems
        .iter()
        .filter(|p| p.starts_with("server_api_key"))
        .map(|p| {
            let (path, msg, src) = split_problem(p);
            ev(path, msg, "a key from `voxray keygen`", src)
        })
        .collect();
    let mut status = if evidence.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    if keys.is_empty() && evidence.is_empty() {
        return Outcome::flag(
            Status::Fail,
            vec![ev(
                "server_api_key",
                "none",
                "a key from `voxray keygen`",
                source(ctx, "server_api_key"),
            )],
            fix,
        );
    }
    for (i, k) in keys.iter().enumerate() {
        let value = k.value.expose();
        let path = if i == 0 && source_is_single(ctx) {
            "server_api_key".to_string()
        } else {
            format!("server_api_keys[{i}]")
        };
        match weakness(value) {
            Some(why) => {
                status = Status::Fail;
                evidence.push(ev(
                    path,
                    format!("{} ({why})", redact(value)),
                    ">= 32 random characters, >= 128 bits",
                    k.source.to_string(),
                ));
            }
            None => evidence.push(ev(
                path,
                format!("{} (~{:.0} bits)", redact(value), key_bits(value)),
                ">= 128 bits",
                k.source.to_string(),
            )),
        }
    }
    if status == Status::Pass {
        return Outcome::pass(evidence);
    }
    Outcome::flag(status, evidence, fix)
}

fn source_is_single(ctx: &Context<'_>) -> bool {
    !ctx.loaded.config.server_api_key.is_empty() || ctx.env.contains_key("VOXRAY_SERVER_API_KEY")
}

fn dialin_secret(ctx: &Context<'_>) -> Outcome {
    let c = &ctx.loaded.config;
    if !c.dialin {
        return Outcome::skip("dial-in is off");
    }
    match &ctx.loaded.secrets.daily_dialin_webhook_secret {
        None => Outcome::flag(
            Status::Fail,
            vec![ev(
                "daily_dialin_webhook_secret",
                "unset",
                "a long random secret",
                source(ctx, "daily_dialin_webhook_secret"),
            )],
            "Set the webhook secret in Daily and here: VOXRAY_DAILY_DIALIN_WEBHOOK_SECRET=<value from `voxray keygen`>.",
        ),
        Some(r) => match weakness(r.value.expose()) {
            Some(why) => Outcome::flag(
                Status::Warn,
                vec![ev(
                    "daily_dialin_webhook_secret",
                    format!("{} ({why})", redact(r.value.expose())),
                    ">= 128 bits",
                    r.source.to_string(),
                )],
                "Use a long random webhook secret, e.g. one from `voxray keygen`.",
            ),
            None => Outcome::pass(vec![]),
        },
    }
}

fn telephony_auth(ctx: &Context<'_>) -> Outcome {
    let c = &ctx.loaded.config;
    let s = &ctx.loaded.secrets;
    match c.runner_transport.as_str() {
        "" | "daily" => Outcome::skip("no carrier transport configured"),
        "twilio" if s.twilio_auth_token.is_none() => Outcome::flag(
            Status::Fail,
            vec![ev(
                "twilio_auth_token",
                "unset",
                "the Twilio auth token (signature check)",
                source(ctx, "twilio_auth_token"),
            )],
            "Set TWILIO_AUTH_TOKEN so X-Twilio-Signature is verified on /telephony/ws and POST /.",
        ),
        "twilio" if c.twilio_account_sid.is_empty() => Outcome::flag(
            Status::Warn,
            vec![ev(
                "twilio_account_sid",
                "unset",
                "the account SID (REST hang-up)",
                source(ctx, "twilio_account_sid"),
            )],
            "Set TWILIO_ACCOUNT_SID so the bot can hang up calls.",
        ),
        "twilio" => Outcome::pass(vec![]),
        other => {
            let mut evidence = vec![ev(
                "runner_transport",
                other,
                "a carrier that signs its requests",
                source(ctx, "runner_transport"),
            )];
            let missing = match other {
                "telnyx" => s.telnyx_api_key.is_none().then_some("telnyx_api_key"),
                "plivo" => (c.plivo_auth_id.is_empty() || s.plivo_auth_token.is_none())
                    .then_some("plivo_auth_id/plivo_auth_token"),
                _ => None,
            };
            if let Some(key) = missing {
                evidence.push(ev(
                    key,
                    "unset",
                    "hang-up credentials",
                    source(ctx, key.split('/').next().unwrap_or(key)),
                ));
            }
            Outcome::flag(
                Status::Warn,
                evidence,
                "This carrier signs nothing voxray checks: allow POST / and /telephony/ws only from the carrier's published signalling and media IP ranges (firewall, security group or reverse-proxy allow list); set its REST credentials so voxray can hang up calls.",
            )
        }
    }
}

fn metrics_private(ctx: &Context<'_>) -> Outcome {
    let c = &ctx.loaded.config;
    if !c.metrics_enabled {
        return Outcome::pass(vec![]);
    }
    if c.metrics_listen.is_empty() {
        return Outcome::flag(
            Status::Warn,
            vec![ev(
                "metrics_listen",
                "\"\" (on the public listener)",
                "a loopback or private address",
                source(ctx, "metrics_listen"),
            )],
            "Serve metrics on their own listener, \"metrics_listen\": \"127.0.0.1:9091\", or firewall /metrics to the scrape CIDR.",
        );
    }
    match c.metrics_listen.parse::<std::net::SocketAddr>() {
        Ok(addr) if is_private(addr.ip()) => Outcome::pass(vec![]),
        _ => Outcome::flag(
            Status::Warn,
            vec![ev(
                "metrics_listen",
                c.metrics_listen.clone(),
                "a loopback or private address",
                source(ctx, "metrics_listen"),
            )],
            "Bind metrics to loopback or a private address, \"metrics_listen\": \"127.0.0.1:9091\", or firewall it to the scrape CIDR.",
        ),
    }
}

fn no_literal_secrets(ctx: &Context<'_>) -> Outcome {
    let s = &ctx.loaded.secrets;
    let mut evidence: Vec<Evidence> = s
        .all()
        .filter_map(|r| match &r.source {
            SecretSource::Literal(path) => Some(ev(
                path.clone(),
                redact(r.value.expose()),
                "a reference: env, keyring, file: or ${NAME}",
                source(ctx, path.split('[').next().unwrap_or(path)),
            )),
            _ => None,
        })
        .collect();
    // Audit's rules find literal secrets at keys the resolver does not own (DSNs, typos).
    if let Some(file) = &ctx.loaded.file
        && let Ok(bytes) = std::fs::read(file)
        && let Ok(findings) = audit::scan_buffer(&file.display().to_string(), &bytes, false)
    {
        for f in findings {
            let path = f
                .key_path
                .clone()
                .unwrap_or_else(|| format!("line {}", f.line.unwrap_or(0)));
            if !evidence.iter().any(|e| e.path == path) {
                evidence.push(ev(
                    path,
                    f.secret.unwrap_or_default(),
                    "no secret in the config file",
                    format!("{} ({})", file.display(), f.rule_id),
                ));
            }
        }
    }
    Outcome::unless_empty(
        Status::Fail,
        evidence,
        "Move each secret out of the file into the environment or a secret store, reference it as \"${OPENAI_API_KEY}\" or \"file:/run/secrets/openai\", and rotate it.",
    )
}

fn config_file_mode(ctx: &Context<'_>) -> Outcome {
    let Some(file) = &ctx.loaded.file else {
        return Outcome::skip("no config file");
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(file) else {
            return Outcome::skip("config file not readable");
        };
        let mode = meta.permissions().mode() & 0o777;
        let e = ev(
            file.display().to_string(),
            format!("mode {mode:04o}"),
            "0600 or 0640, not writable by others",
            "filesystem",
        );
        if mode & 0o022 != 0 {
            return Outcome::flag(
                Status::Fail,
                vec![e],
                "Restrict the config file: chmod 600 config.json (or mount it read-only).",
            );
        }
        let literal = ctx
            .loaded
            .secrets
            .all()
            .any(|r| matches!(r.source, SecretSource::Literal(_)));
        if mode & 0o004 != 0 && literal {
            return Outcome::flag(
                Status::Warn,
                vec![e],
                "The file holds literal secrets and is world-readable: chmod 600 it, and move the secrets out.",
            );
        }
        Outcome::pass(vec![])
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Outcome::skip("file modes are not POSIX here")
    }
}

/// The config file in use (an example file stands for the `config.json` beside it), or
/// `config.json` at the work-tree root.
fn config_candidate(ctx: &Context<'_>) -> Option<PathBuf> {
    if let Some(f) = &ctx.loaded.file {
        let is_example = f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".example."));
        return Some(if is_example {
            f.with_file_name("config.json")
        } else {
            f.clone()
        });
    }
    let root = audit::walk::git(&ctx.cwd, &["rev-parse", "--show-toplevel"])?;
    Some(PathBuf::from(root.trim()).join("config.json"))
}

fn in_work_tree(dir: &Path) -> bool {
    audit::walk::git(dir, &["rev-parse", "--is-inside-work-tree"])
        .is_some_and(|o| o.trim() == "true")
}

fn git_config(ctx: &Context<'_>) -> Outcome {
    let Some(path) = config_candidate(ctx) else {
        return Outcome::skip("not in a git work tree");
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| ctx.cwd.clone(), Path::to_path_buf);
    if !in_work_tree(&dir) {
        return Outcome::skip("not in a git work tree");
    }
    if !path.exists() {
        return Outcome::pass(vec![]);
    }
    match audit::walk::hygiene(&path) {
        Some(f) if f.rule_id == "git-config-tracked" => Outcome::flag(
            Status::Fail,
            vec![ev(
                path.display().to_string(),
                "tracked by git",
                "untracked and git-ignored",
                "git",
            )],
            format!(
                "Run `git rm --cached {}`, add it to .gitignore, and rotate every key it ever held.",
                path.display()
            ),
        ),
        Some(_) => Outcome::flag(
            Status::Warn,
            vec![ev(
                path.display().to_string(),
                "untracked, not ignored",
                "git-ignored",
                "git",
            )],
            "Add config.json to .gitignore so it is never committed.",
        ),
        None => Outcome::pass(vec![]),
    }
}

fn git_example(ctx: &Context<'_>) -> Outcome {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = ctx.loaded.file.as_ref().and_then(|f| f.parent()) {
        candidates.push(dir.join("config.example.json"));
    }
    if let Some(root) = audit::walk::git(&ctx.cwd, &["rev-parse", "--show-toplevel"]) {
        candidates.push(PathBuf::from(root.trim()).join("config.example.json"));
    }
    candidates.push(ctx.cwd.join("config.example.json"));
    let Some(example) = candidates.into_iter().find(|p| p.is_file()) else {
        return Outcome::skip("no config.example.json");
    };
    let findings = std::fs::read(&example)
        .ok()
        .and_then(|b| audit::scan_buffer(&example.display().to_string(), &b, false).ok())
        .unwrap_or_default();
    if findings.is_empty() {
        return Outcome::pass(vec![]);
    }
    let evidence = findings
        .into_iter()
        .map(|f| {
            ev(
                format!("{}:{}", example.display(), f.line.unwrap_or(0)),
                f.secret.unwrap_or_default(),
                "a placeholder such as \"YOUR_OPENAI_KEY_HERE\"",
                f.rule_id,
            )
        })
        .collect();
    Outcome::flag(
        Status::Fail,
        evidence,
        "Replace real values in config.example.json with placeholders and rotate the exposed keys.",
    )
}

fn git_history(ctx: &Context<'_>) -> Outcome {
    if !ctx.history {
        return Outcome::skip("run with --history to scan git history");
    }
    let opts = audit::AuditOptions {
        paths: vec![ctx.cwd.clone()],
        history: true,
        ..Default::default()
    };
    match audit::run(&opts) {
        Err(e) => Outcome::skip(format!("history not scanned: {e}")),
        Ok(report) => {
            let evidence: Vec<Evidence> = report
                .findings
                .into_iter()
                .filter(|f| f.commit.is_some())
                .map(|f| {
                    let commit = f
                        .commit
                        .as_ref()
                        .map(|c| c.sha.chars().take(12).collect::<String>())
                        .unwrap_or_default();
                    ev(
                        format!("{commit}:{}", f.file),
                        f.secret.unwrap_or_default(),
                        "no secret in any commit",
                        f.rule_id,
                    )
                })
                .collect();
            if evidence.is_empty() {
                Outcome::pass(vec![])
            } else {
                Outcome::flag(
                    Status::Fail,
                    evidence,
                    "Rotate every key found in history, even if it was later deleted; then purge it from history if policy requires.",
                )
            }
        }
    }
}

/// The `USER` of a Dockerfile's final stage, if any.
fn dockerfile_final_user(text: &str) -> Option<String> {
    let mut user = None;
    for line in text.lines() {
        let t = line.trim();
        let upper = t.to_ascii_uppercase();
        if upper.starts_with("FROM ") {
            user = None;
        } else if upper.starts_with("USER ") {
            user = Some(t[5..].trim().to_string());
        }
    }
    user
}

fn non_root(ctx: &Context<'_>) -> Outcome {
    let mut evidence = Vec::new();
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        if uid == 0 {
            evidence.push(ev(
                "process",
                "uid 0",
                "a non-root uid (e.g. 1001)",
                "check process",
            ));
        }
    }
    if let Some(path) = ctx.dockerfile {
        match std::fs::read_to_string(path) {
            Err(e) => evidence.push(ev(
                path.display().to_string(),
                format!("unreadable: {e}"),
                "a Dockerfile",
                "--dockerfile",
            )),
            Ok(text) => match dockerfile_final_user(&text) {
                None => evidence.push(ev(
                    path.display().to_string(),
                    "no USER in the final stage",
                    "USER voxray (uid 1001)",
                    "--dockerfile",
                )),
                Some(u)
                    if u == "root" || u == "0" || u.starts_with("root:") || u.starts_with("0:") =>
                {
                    evidence.push(ev(
                        path.display().to_string(),
                        format!("USER {u}"),
                        "USER voxray (uid 1001)",
                        "--dockerfile",
                    ))
                }
                Some(_) => {}
            },
        }
    }
    #[cfg(not(unix))]
    if ctx.dockerfile.is_none() {
        return Outcome::skip("not a Unix system");
    }
    Outcome::unless_empty(
        Status::Fail,
        evidence,
        "Run voxray as an unprivileged user: `USER voxray` in the image, `runAsNonRoot: true` in Kubernetes, `User=voxray` in systemd.",
    )
}

fn config_read_only(ctx: &Context<'_>) -> Outcome {
    let Some(file) = &ctx.loaded.file else {
        return Outcome::skip("no config file");
    };
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(file.as_os_str().as_bytes()) else {
            return Outcome::skip("path not representable");
        };
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        let writable = unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0;
        if writable {
            return Outcome::flag(
                Status::Warn,
                vec![ev(
                    file.display().to_string(),
                    "writable by this process",
                    "read-only",
                    "filesystem",
                )],
                "Mount the config read-only (./config.json:/app/config.json:ro) or make it unwritable by the service user.",
            );
        }
    }
    Outcome::pass(vec![])
}

fn egress(ctx: &Context<'_>) -> Outcome {
    let mut fix = "Apply packaging/kubernetes/networkpolicy.yaml (egress TCP 443 only, private ranges blocked) or the equivalent firewall rules.".to_string();
    if ctx.env.contains_key("KUBERNETES_SERVICE_HOST") {
        fix.push_str(" Verify that a NetworkPolicy selects this pod: kubectl get networkpolicy.");
    }
    let mut evidence = vec![ev(
        "network",
        "not decidable from the config",
        "egress limited to provider APIs",
        "environment",
    )];
    // Provider endpoints reached over plain http/ws on a non-loopback host (`providers.md` §1).
    if let Ok(services) =
        crate::services::Services::from_config(&ctx.loaded.config, &ctx.loaded.secrets, None)
    {
        for (stage, provider, url) in services.plain_text_endpoints() {
            let key = format!("{}_base_url", stage.as_str());
            evidence.push(ev(
                key.clone(),
                format!("{url} ({provider}, plain text)"),
                "an https:// or wss:// provider endpoint, or a loopback host",
                source(ctx, &key),
            ));
        }
        if evidence.len() > 1 {
            fix.push_str(" Reach providers over https (or a loopback proxy): API keys and audio travel in clear over plain http.");
        }
    }
    Outcome::flag(Status::Warn, evidence, fix)
}

/// Problems of one DSN: `Some((status, actual))` when not TLS-protected.
fn dsn_tls(dsn: &str) -> Option<(Status, String)> {
    let url = url::Url::parse(dsn).ok()?;
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if is_loopback_host(&host) {
        return None;
    }
    let shown =
        crate::security::redact::redact_url_password(dsn).unwrap_or_else(|| dsn.to_string());
    match url.scheme() {
        "redis" if url.password().is_none() => Some((
            Status::Warn,
            format!("{shown} (plain redis://, no password)"),
        )),
        "redis" => Some((Status::Warn, format!("{shown} (plain redis://)"))),
        "rediss" if url.password().is_none() => {
            Some((Status::Warn, format!("{shown} (no password)")))
        }
        "rediss" => None,
        "postgres" | "postgresql" | "mysql" => {
            let mode = url
                .query_pairs()
                .find(|(k, _)| k == "sslmode" || k == "ssl-mode" || k == "tls")
                .map(|(_, v)| v.to_ascii_lowercase());
            match mode.as_deref() {
                Some("disable" | "disabled" | "false") => {
                    Some((Status::Fail, format!("{shown} (TLS disabled)")))
                }
                None | Some("prefer" | "preferred" | "allow") => {
                    Some((Status::Warn, format!("{shown} (TLS not required)")))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn db_tls(ctx: &Context<'_>) -> Outcome {
    let c = &ctx.loaded.config;
    let mut targets: Vec<(&str, &str)> = Vec::new();
    if c.transcripts.enable && c.transcripts.driver != "sqlite" {
        targets.push(("transcripts.dsn", &c.transcripts.dsn));
    }
    if !c.redis_url.is_empty() {
        targets.push(("redis_url", &c.redis_url));
    }
    if targets.is_empty() {
        return Outcome::skip("no database or Redis configured");
    }
    let flagged: Vec<(Status, Evidence)> = targets
        .into_iter()
        .filter_map(|(key, dsn)| {
            dsn_tls(dsn).map(|(s, actual)| {
                (
                    s,
                    ev(
                        key,
                        actual,
                        "TLS required (sslmode=verify-full, rediss://)",
                        source(ctx, key),
                    ),
                )
            })
        })
        .collect();
    if flagged.is_empty() {
        return Outcome::pass(vec![]);
    }
    let status = worst(&flagged.iter().map(|(s, _)| *s).collect::<Vec<_>>());
    Outcome::flag(
        status,
        flagged.into_iter().map(|(_, e)| e).collect(),
        "Require TLS to remote databases: add ?sslmode=verify-full to Postgres DSNs and use rediss:// with a password (requirepass/ACL user) for Redis.",
    )
}

fn log_level(ctx: &Context<'_>) -> Outcome {
    let level = &ctx.loaded.config.log_level;
    if level == "debug" || level == "trace" {
        return Outcome::flag(
            Status::Warn,
            vec![ev(
                "log_level",
                level.clone(),
                "info or quieter",
                source(ctx, "log_level"),
            )],
            "Log at info in production: \"log_level\": \"info\".",
        );
    }
    Outcome::pass(vec![])
}

fn docs_public(ctx: &Context<'_>) -> Outcome {
    if ctx.loaded.config.docs_enabled {
        return Outcome::flag(
            Status::Info,
            vec![ev(
                "docs_enabled",
                "true",
                "false in production, unless the API docs should be public",
                source(ctx, "docs_enabled"),
            )],
            "Turn off the public API docs if nobody needs them: \"docs_enabled\": false.",
        );
    }
    Outcome::pass(vec![])
}

/// `pipeline: auto` without a cloud LLM runs the local voice agent when its models are
/// installed (`providers.md` §9): missing models are INFO (echo runs), a corrupt or partial
/// install FAILs (re-hashes every installed file against its pinned sha256).
fn local_models(ctx: &Context<'_>) -> Outcome {
    use crate::models::{Manifest, ModelState, local_problems, models_dir, verify_model};
    let cfg = &ctx.loaded.config;
    if !crate::services::local::agent::wanted(cfg) {
        return Outcome::skip("pipeline is not auto or a cloud LLM is configured");
    }
    let manifest = Manifest::builtin();
    let problems = local_problems(cfg, &manifest);
    if problems.is_empty() {
        return Outcome::pass(vec![]);
    }
    let dir = models_dir(cfg);
    let damaged = manifest
        .models
        .iter()
        .any(|m| matches!(verify_model(&dir, m, true), ModelState::Broken(_)));
    let evidence = if damaged {
        problems
            .iter()
            .map(|p| {
                ev(
                    "models_dir",
                    p.clone(),
                    "installed, matching the pinned sha256",
                    source(ctx, "models_dir"),
                )
            })
            .collect()
    } else {
        let names: Vec<&str> = manifest.models.iter().map(|m| m.name.as_str()).collect();
        vec![ev(
            "models_dir",
            format!("{}: not installed", dir.display()),
            format!("the local models installed ({})", names.join(", ")),
            source(ctx, "models_dir"),
        )]
    };
    Outcome::flag(
        if damaged { Status::Fail } else { Status::Info },
        evidence,
        "Install the local voice agent's models with `voxray models pull` (air-gapped: \
         `voxray models pull --mirror URL|DIR`); `voxray models verify` re-checks them.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_strength_examples_from_the_spec() {
        assert!(weakness("myvoxray-live-7").is_some());
        assert!(weakness(&"a".repeat(40)).is_some());
        assert_eq!(
            weakness("9f86d081884c7d659a2feaa0c55ad015"),
            None,
            "32 random lower-case hex = 128 bits"
        );
        assert_eq!(
            weakness("Zq81xkPa0vBn3Tt5Hk29dLq0Wm4Rr7Yy-_Jq84Lm2Pz"),
            None,
            "43-char base64url"
        );
        assert!(
            weakness("dev-test-prod-secret-admin-default-key-1234").is_some(),
            "weak words only"
        );
        assert!((key_bits("vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL") - 190.0).abs() < 1e-9);
    }

    #[test]
    fn dockerfile_final_stage_user() {
        assert_eq!(dockerfile_final_user("FROM a\nUSER x\nFROM b\n"), None);
        assert_eq!(
            dockerfile_final_user("FROM a\nFROM b\nUSER voxray\n").as_deref(),
            Some("voxray")
        );
    }
}
