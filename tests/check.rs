//! `voxray check` over the real binary: one PASS and one FAIL/WARN case per check ID,
//! asserting the JSON result; secrets never unredacted in any format; the shipped example's
//! expected FAILs; the 80-column text report; the JSON report's schema.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const STRONG: &str = "Zq81xkPa0vBn3Tt5Hk29dLq0Wm4Rr7Yy-_Jq84Lm2Pz";
const LITERAL_OPENAI: &str =
    "sk-proj-Fake0penAIKeyForTestsOnly0123456789abcdefghijklmnopqrstuvwxT3BlbkFJ0123456789";

/// Run `voxray check --production --format json --check ID` in `dir` with `config` written to
/// `config.json` there (unless `config` is null). Returns (exit code, that check's result).
fn run_in(
    dir: &Path,
    id: &str,
    config: &Value,
    env: &[(&str, &str)],
    extra: &[&str],
    as_uid: Option<u32>,
) -> (i32, Value) {
    if !config.is_null() {
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_voxray");
    let mut args: Vec<String> = vec![
        "check".into(),
        "--production".into(),
        "--format".into(),
        "json".into(),
        "--check".into(),
        id.into(),
    ];
    if !config.is_null() {
        args.extend(["--config".into(), "config.json".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut cmd = match as_uid {
        Some(uid) => {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
                bin.into(),
            ]);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(&args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("VOXRAY_KEYRING_BACKEND", "none");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{id}: not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["results"].as_array().unwrap().len(), 1, "{id}");
    (out.status.code().unwrap(), report["results"][0].clone())
}

fn status(id: &str, config: Value, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (_, r) = run_in(dir.path(), id, &config, env, &[], None);
    assert_eq!(r["id"], id);
    r["status"].as_str().unwrap().to_string()
}

fn self_signed(dir: &Path, days: i64) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    let until = chrono::Utc::now() + chrono::Duration::days(days);
    params.not_after = rcgen::date_time_ymd(
        chrono::Datelike::year(&until),
        chrono::Datelike::month(&until) as u8,
        chrono::Datelike::day(&until) as u8,
    );
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
    (c.display().to_string(), k.display().to_string())
}

#[test]
fn config_and_cors_checks() {
    assert_eq!(status("VXP-CFG-001", json!({}), &[]), "PASS");
    assert_eq!(status("VXP-CFG-001", json!({"port": "x"}), &[]), "FAIL");
    assert_eq!(status("VXP-CFG-002", json!({}), &[]), "PASS");
    assert_eq!(status("VXP-CFG-002", json!({"prot": 1}), &[]), "WARN");
    assert_eq!(
        status(
            "VXP-CORS-001",
            json!({"cors_allowed_origins": ["https://a.example"]}),
            &[]
        ),
        "PASS"
    );
    assert_eq!(
        status(
            "VXP-CORS-001",
            json!({"cors_allowed_origins": ["https://a.example", "*"]}),
            &[]
        ),
        "FAIL"
    );
    assert_eq!(
        status(
            "VXP-CORS-001",
            json!({}),
            &[("VOXRAY_CORS_ORIGINS", "null")]
        ),
        "FAIL"
    );
    assert_eq!(
        status(
            "VXP-CORS-002",
            json!({"cors_allowed_origins": ["https://a.example"]}),
            &[]
        ),
        "PASS"
    );
    assert_eq!(
        status(
            "VXP-CORS-002",
            json!({"cors_allowed_origins": ["http://a.example"]}),
            &[]
        ),
        "WARN"
    );
    assert_eq!(
        status(
            "VXP-CORS-002",
            json!({"cors_allowed_origins": ["https://localhost:3000"]}),
            &[]
        ),
        "WARN"
    );
    assert_eq!(status("VXP-CORS-002", json!({}), &[]), "INFO");
    assert_eq!(status("VXP-HTTP-001", json!({}), &[]), "PASS");
    assert_eq!(
        status(
            "VXP-HTTP-001",
            json!({"max_request_body_bytes": 20_000_000}),
            &[]
        ),
        "WARN"
    );
    assert_eq!(status("VXP-HTTP-002", json!({}), &[]), "PASS");
    assert_eq!(
        status("VXP-HTTP-002", json!({"max_sessions": 0}), &[]),
        "WARN"
    );
}

#[test]
fn cors_evidence_names_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (code, r) = run_in(
        dir.path(),
        "VXP-CORS-001",
        &json!({"cors_allowed_origins": ["https://a.example", "*"]}),
        &[],
        &[],
        None,
    );
    assert_eq!(code, 1);
    assert_eq!(r["evidence"][0]["path"], "cors_allowed_origins[1]");
    assert_eq!(r["evidence"][0]["actual"], "*");
    assert!(
        r["remediation"]
            .as_str()
            .unwrap()
            .contains("cors_allowed_origins")
    );
}

#[test]
fn tls_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), 365);
    let tls =
        json!({"host": "0.0.0.0", "tls_enable": true, "tls_cert_file": cert, "tls_key_file": key});
    let (_, r) = run_in(dir.path(), "VXP-TLS-001", &tls, &[], &[], None);
    assert_eq!(r["status"], "PASS");
    let (_, r) = run_in(dir.path(), "VXP-TLS-002", &tls, &[], &[], None);
    assert_eq!(r["status"], "PASS", "{r}");
    assert_eq!(
        status("VXP-TLS-001", json!({"host": "0.0.0.0"}), &[]),
        "FAIL"
    );
    assert_eq!(
        status("VXP-TLS-001", json!({}), &[]),
        "WARN",
        "loopback host without TLS"
    );
    assert_eq!(
        status(
            "VXP-TLS-001",
            json!({"host": "0.0.0.0", "tls_terminated_upstream": true}),
            &[]
        ),
        "WARN"
    );
    assert_eq!(status("VXP-TLS-002", json!({}), &[]), "SKIP");

    // Expiring within 30 days → WARN; world-readable key → FAIL; mismatched key → FAIL.
    let soon = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(soon.path(), 10);
    let (_, r) = run_in(
        soon.path(),
        "VXP-TLS-002",
        &json!({"tls_enable": true, "tls_cert_file": cert, "tls_key_file": key}),
        &[],
        &[],
        None,
    );
    assert_eq!(r["status"], "WARN", "{r}");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, r) = run_in(
        soon.path(),
        "VXP-TLS-002",
        &json!({"tls_enable": true, "tls_cert_file": cert, "tls_key_file": key}),
        &[],
        &[],
        None,
    );
    assert_eq!(r["status"], "FAIL", "{r}");
    let other = tempfile::tempdir().unwrap();
    let (_, other_key) = self_signed(other.path(), 365);
    let (_, r) = run_in(
        soon.path(),
        "VXP-TLS-002",
        &json!({"tls_enable": true, "tls_cert_file": cert, "tls_key_file": other_key}),
        &[],
        &[],
        None,
    );
    assert_eq!(r["status"], "FAIL");
    assert!(
        r["evidence"][0]["actual"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
}

#[test]
fn auth_checks() {
    let key = voxray::security::keygen::generate();
    assert_eq!(
        status(
            "VXP-AUTH-001",
            json!({}),
            &[("VOXRAY_SERVER_API_KEY", &key)]
        ),
        "PASS"
    );
    assert_eq!(status("VXP-AUTH-001", json!({}), &[]), "FAIL");
    assert_eq!(
        status(
            "VXP-AUTH-001",
            json!({}),
            &[("VOXRAY_SERVER_API_KEY", "myvoxray-live-7")]
        ),
        "FAIL"
    );
    assert_eq!(
        status(
            "VXP-AUTH-001",
            json!({"server_api_keys": [STRONG]}),
            &[("VOXRAY_SERVER_API_KEY", &"a".repeat(40))]
        ),
        "FAIL"
    );
    assert_eq!(
        status(
            "VXP-AUTH-001",
            json!({"server_api_key": "YOUR_SERVER_API_KEY_HERE"}),
            &[]
        ),
        "FAIL"
    );

    let dialin = json!({"runner_transport": "daily", "dialin": true});
    assert_eq!(
        status(
            "VXP-AUTH-002",
            dialin.clone(),
            &[("VOXRAY_DAILY_DIALIN_WEBHOOK_SECRET", STRONG)]
        ),
        "PASS"
    );
    assert_eq!(status("VXP-AUTH-002", dialin.clone(), &[]), "FAIL");
    assert_eq!(
        status(
            "VXP-AUTH-002",
            dialin,
            &[("VOXRAY_DAILY_DIALIN_WEBHOOK_SECRET", "hook-secret-1")]
        ),
        "WARN"
    );
    assert_eq!(status("VXP-AUTH-002", json!({}), &[]), "SKIP");

    let twilio = json!({"runner_transport": "twilio", "twilio_account_sid": "AC0123456789abcdef0123456789abcdef"});
    assert_eq!(
        status(
            "VXP-AUTH-003",
            twilio.clone(),
            &[("TWILIO_AUTH_TOKEN", "9f86d081884c7d659a2feaa0c55ad015")]
        ),
        "PASS"
    );
    assert_eq!(status("VXP-AUTH-003", twilio, &[]), "FAIL");
    assert_eq!(
        status("VXP-AUTH-003", json!({"runner_transport": "telnyx"}), &[]),
        "WARN"
    );
    assert_eq!(status("VXP-AUTH-003", json!({}), &[]), "SKIP");
    // Unsigned carriers: the fix says how to restrict them at the network level.
    for carrier in ["telnyx", "plivo", "exotel"] {
        let dir = tempfile::tempdir().unwrap();
        let (_, r) = run_in(
            dir.path(),
            "VXP-AUTH-003",
            &json!({"runner_transport": carrier}),
            &[],
            &[],
            None,
        );
        assert_eq!(r["status"], "WARN", "{carrier}");
        let fix = r["remediation"].as_str().unwrap();
        assert!(
            fix.contains("POST / and /telephony/ws only from the carrier's published"),
            "{carrier}: {fix}"
        );
    }
}

#[test]
fn metrics_secrets_and_file_checks() {
    assert_eq!(
        status(
            "VXP-METRICS-001",
            json!({"metrics_listen": "127.0.0.1:9091"}),
            &[]
        ),
        "PASS"
    );
    assert_eq!(
        status(
            "VXP-METRICS-001",
            json!({"metrics_listen": "10.1.2.3:9091"}),
            &[]
        ),
        "PASS"
    );
    assert_eq!(
        status("VXP-METRICS-001", json!({"metrics_enabled": false}), &[]),
        "PASS"
    );
    assert_eq!(status("VXP-METRICS-001", json!({}), &[]), "WARN");
    assert_eq!(
        status(
            "VXP-METRICS-001",
            json!({"metrics_listen": "0.0.0.0:9091"}),
            &[]
        ),
        "WARN"
    );

    assert_eq!(
        status(
            "VXP-SECRETS-001",
            json!({"api_keys": {"openai": "${OPENAI_API_KEY}"}}),
            &[("OPENAI_API_KEY", LITERAL_OPENAI)]
        ),
        "PASS"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, r) = run_in(
        dir.path(),
        "VXP-SECRETS-001",
        &json!({"api_keys": {"openai": LITERAL_OPENAI}}),
        &[],
        &[],
        None,
    );
    assert_eq!((code, r["status"].as_str().unwrap()), (1, "FAIL"));
    assert_eq!(r["evidence"][0]["path"], "api_keys.openai");
    assert!(!r.to_string().contains(LITERAL_OPENAI), "redacted");

    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    std::fs::set_permissions(
        dir.path().join("config.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let (_, r) = run_in(
        dir.path(),
        "VXP-SECRETS-002",
        &Value::Null,
        &[],
        &["--config", "config.json"],
        None,
    );
    assert_eq!(r["status"], "PASS");
    // World-readable while holding a literal secret: WARN.
    std::fs::write(
        dir.path().join("config.json"),
        format!(r#"{{"api_keys": {{"openai": "{LITERAL_OPENAI}"}}}}"#),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.path().join("config.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (_, r) = run_in(
        dir.path(),
        "VXP-SECRETS-002",
        &Value::Null,
        &[],
        &["--config", "config.json"],
        None,
    );
    assert_eq!(r["status"], "WARN", "{r}");
    std::fs::set_permissions(
        dir.path().join("config.json"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let (_, r) = run_in(
        dir.path(),
        "VXP-SECRETS-002",
        &Value::Null,
        &[],
        &["--config", "config.json"],
        None,
    );
    assert_eq!(r["status"], "FAIL");
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn git_checks() {
    // Not a work tree.
    assert_eq!(status("VXP-GIT-001", json!({}), &[]), "SKIP");
    assert_eq!(status("VXP-GIT-002", json!({}), &[]), "SKIP");
    assert_eq!(status("VXP-GIT-003", json!({}), &[]), "SKIP");

    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    git(d, &["init", "-q"]);
    std::fs::write(d.join(".gitignore"), "config.json\n").unwrap();
    std::fs::write(
        d.join("config.example.json"),
        r#"{"api_keys": {"openai": "YOUR_OPENAI_KEY_HERE"}}"#,
    )
    .unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "init"]);
    let (_, r) = run_in(d, "VXP-GIT-001", &json!({}), &[], &[], None);
    assert_eq!(r["status"], "PASS", "{r}");
    let (_, r) = run_in(d, "VXP-GIT-002", &json!({}), &[], &[], None);
    assert_eq!(r["status"], "PASS", "{r}");
    let (_, r) = run_in(d, "VXP-GIT-003", &json!({}), &[], &["--history"], None);
    assert_eq!(r["status"], "PASS", "{r}");

    // Tracked despite .gitignore → FAIL; a real-looking key in the example → FAIL; a secret
    // that was committed and later deleted → FAIL with --history.
    git(d, &["add", "-f", "config.json"]);
    std::fs::write(
        d.join("config.example.json"),
        format!(r#"{{"api_keys": {{"openai": "{LITERAL_OPENAI}"}}}}"#),
    )
    .unwrap();
    git(d, &["commit", "-qam", "oops"]);
    std::fs::write(
        d.join("config.example.json"),
        r#"{"api_keys": {"openai": "YOUR_OPENAI_KEY_HERE"}}"#,
    )
    .unwrap();
    let (_, r) = run_in(d, "VXP-GIT-001", &json!({}), &[], &[], None);
    assert_eq!(r["status"], "FAIL", "{r}");
    std::fs::write(
        d.join("config.example.json"),
        format!(r#"{{"openai": "{LITERAL_OPENAI}"}}"#),
    )
    .unwrap();
    let (_, r) = run_in(d, "VXP-GIT-002", &json!({}), &[], &[], None);
    assert_eq!(r["status"], "FAIL", "{r}");
    std::fs::write(
        d.join("config.example.json"),
        r#"{"api_keys": {"openai": "YOUR_OPENAI_KEY_HERE"}}"#,
    )
    .unwrap();
    git(d, &["commit", "-qam", "fix"]);
    let (_, r) = run_in(d, "VXP-GIT-003", &json!({}), &[], &["--history"], None);
    assert_eq!(r["status"], "FAIL", "{r}");
    assert!(!r.to_string().contains(LITERAL_OPENAI));

    // Untracked and not ignored → WARN.
    let repo2 = tempfile::tempdir().unwrap();
    git(repo2.path(), &["init", "-q"]);
    let (_, r) = run_in(repo2.path(), "VXP-GIT-001", &json!({}), &[], &[], None);
    assert_eq!(r["status"], "WARN", "{r}");
}

#[test]
fn runtime_checks() {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    std::fs::set_permissions(
        dir.path().join("config.json"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        // As root → FAIL; as uid 1001 → PASS, and the root-owned 0444 config is read-only to it.
        let (_, r) = run_in(
            dir.path(),
            "VXP-RUN-001",
            &Value::Null,
            &[],
            &["--config", "config.json"],
            None,
        );
        assert_eq!(r["status"], "FAIL");
        let (_, r) = run_in(
            dir.path(),
            "VXP-RUN-001",
            &Value::Null,
            &[],
            &["--config", "config.json"],
            Some(1001),
        );
        assert_eq!(r["status"], "PASS", "{r}");
        let (_, r) = run_in(
            dir.path(),
            "VXP-RUN-002",
            &Value::Null,
            &[],
            &["--config", "config.json"],
            Some(1001),
        );
        assert_eq!(r["status"], "PASS", "{r}");
        let (_, r) = run_in(
            dir.path(),
            "VXP-RUN-002",
            &Value::Null,
            &[],
            &["--config", "config.json"],
            None,
        );
        assert_eq!(r["status"], "WARN", "root can write any file");
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM alpine:3.20\nUSER root\n",
        )
        .unwrap();
        let (_, r) = run_in(
            dir.path(),
            "VXP-RUN-001",
            &Value::Null,
            &[],
            &["--config", "config.json", "--dockerfile", "Dockerfile"],
            Some(1001),
        );
        assert_eq!(r["status"], "FAIL", "{r}");
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM rust AS build\nUSER root\nFROM alpine:3.20\nUSER voxray\n",
        )
        .unwrap();
        let (_, r) = run_in(
            dir.path(),
            "VXP-RUN-001",
            &Value::Null,
            &[],
            &["--config", "config.json", "--dockerfile", "Dockerfile"],
            Some(1001),
        );
        assert_eq!(r["status"], "PASS", "{r}");
    } else {
        let (_, r) = run_in(
            dir.path(),
            "VXP-RUN-001",
            &Value::Null,
            &[],
            &["--config", "config.json"],
            None,
        );
        assert_eq!(r["status"], "PASS");
    }
    assert_eq!(status("VXP-NET-001", json!({}), &[]), "WARN");
    let (_, r) = run_in(
        tempfile::tempdir().unwrap().path(),
        "VXP-NET-001",
        &json!({}),
        &[("KUBERNETES_SERVICE_HOST", "10.0.0.1")],
        &[],
        None,
    );
    assert!(
        r["remediation"]
            .as_str()
            .unwrap()
            .contains("kubectl get networkpolicy")
    );
}

#[test]
fn db_log_docs_checks() {
    let pg = |dsn: &str| json!({"transcripts": {"enable": true, "driver": "postgres", "dsn": dsn}});
    assert_eq!(
        status(
            "VXP-DB-001",
            pg("postgres://app:pw@db.internal:5432/voice?sslmode=verify-full"),
            &[]
        ),
        "PASS"
    );
    assert_eq!(
        status(
            "VXP-DB-001",
            pg("postgres://app:pw@db.internal:5432/voice?sslmode=disable"),
            &[]
        ),
        "FAIL"
    );
    assert_eq!(
        status(
            "VXP-DB-001",
            pg("postgres://app:pw@db.internal:5432/voice"),
            &[]
        ),
        "WARN"
    );
    assert_eq!(
        status(
            "VXP-DB-001",
            pg("postgres://app:pw@127.0.0.1:5432/voice?sslmode=disable"),
            &[]
        ),
        "PASS"
    );
    assert_eq!(
        status(
            "VXP-DB-001",
            json!({"redis_url": "redis://cache.internal:6379"}),
            &[]
        ),
        "WARN"
    );
    assert_eq!(
        status(
            "VXP-DB-001",
            json!({"redis_url": "rediss://cache.internal:6379"}),
            &[]
        ),
        "WARN",
        "TLS but no password off loopback"
    );
    assert_eq!(
        status(
            "VXP-DB-001",
            json!({"redis_url": "rediss://:Zq81xkPa0vBn3Tt@cache.internal:6379"}), // voxray:allow synthetic test value
            &[]
        ),
        "PASS"
    );
    assert_eq!(
        status(
            "VXP-DB-001",
            json!({"redis_url": "redis://127.0.0.1:6379"}),
            &[]
        ),
        "PASS",
        "loopback"
    );
    assert_eq!(status("VXP-DB-001", json!({}), &[]), "SKIP");
    let dir = tempfile::tempdir().unwrap();
    let (_, r) = run_in(
        dir.path(),
        "VXP-DB-001",
        &pg("postgres://app:Sup3rS3cretPw@db.internal/voice?sslmode=disable"),
        &[],
        &[],
        None,
    );
    assert!(
        !r.to_string().contains("Sup3rS3cretPw"),
        "DSN password redacted: {r}"
    );
    assert_eq!(status("VXP-LOG-001", json!({}), &[]), "PASS");
    assert_eq!(
        status("VXP-LOG-001", json!({"log_level": "trace"}), &[]),
        "WARN"
    );
    assert_eq!(
        status("VXP-DOCS-001", json!({"docs_enabled": false}), &[]),
        "PASS"
    );
    assert_eq!(status("VXP-DOCS-001", json!({}), &[]), "INFO");
}

/// Run the full production check in `dir` with `args`; (code, stdout, stderr).
fn full(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    common::run_cli(&all, env, dir)
}

#[test]
fn secrets_never_appear_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let server_key = "myvoxray-live-7-literal-weak";
    let cfg = json!({"server_api_key": server_key, "api_keys": {"openai": LITERAL_OPENAI},
        "transcripts": {"enable": true, "driver": "postgres", "dsn": "postgres://app:Sup3rS3cretPw@db.internal/voice"}});
    std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    for format in ["text", "json", "sarif"] {
        let (code, out, err) = full(
            dir.path(),
            &[
                "--production",
                "--config",
                "config.json",
                "--format",
                format,
            ],
            &[("DEEPGRAM_API_KEY", STRONG)],
        );
        assert_eq!(code, 1, "{format}: {err}");
        for secret in [server_key, LITERAL_OPENAI, "Sup3rS3cretPw", STRONG] {
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{format} leaks a secret"
            );
        }
    }
}

#[test]
fn shipped_example_fails_on_key_and_tls() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo.join("config.example.json"),
        dir.path().join("config.json"),
    )
    .unwrap();
    let (code, out, _) = full(
        dir.path(),
        &[
            "--production",
            "--config",
            "config.json",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    let failed: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "FAIL")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        failed.contains(&"VXP-AUTH-001") && failed.contains(&"VXP-TLS-001"),
        "{failed:?}"
    );
    assert!(
        !failed.contains(&"VXP-SECRETS-001"),
        "placeholders are not literal secrets"
    );
    let s = &report["summary"];
    let total: u64 = ["pass", "fail", "warn", "info", "skip"]
        .iter()
        .map(|k| s[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        total as usize,
        voxray::security::check::checks::CHECKS.len(),
        "one result per row"
    );
}

#[test]
fn text_report_fits_80_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = json!({"host": "0.0.0.0", "cors_allowed_origins": ["*", "http://localhost:3000"], "max_sessions": 0,
        "server_api_key": "short", "log_level": "debug", "prot": 1});
    std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    let (code, out, _) = full(
        dir.path(),
        &[
            "--production",
            "--config",
            "config.json",
            "--skip",
            "VXP-RUN",
        ],
        &[],
    );
    assert_eq!(code, 1);
    for line in out.lines() {
        let long_word = line.split_whitespace().any(|w| w.chars().count() > 60);
        assert!(
            line.chars().count() <= 80 || long_word,
            "over 80 columns: {line}"
        );
    }
    assert!(out.starts_with("voxray check --production — config: config.json\n"));
    assert!(out.contains("[FAIL] VXP-CORS-001 CORS origins are explicit\n"));
    assert!(
        out.contains(
            "\n       evidence: cors_allowed_origins[0] = * (expected exact origins such as\n"
        ),
        "{out}"
    );
    assert!(out.contains("== Summary ==\npass "));
    assert!(!out.contains('\x1b'), "no colour when stdout is not a TTY");
}

#[test]
fn selection_strict_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let (code, out, _) = full(
        dir.path(),
        &["--config", "config.json", "--format", "json"],
        &[],
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "VXP-CFG-001",
            "VXP-CFG-002",
            "VXP-CORS-001",
            "VXP-CORS-002",
            "VXP-HTTP-001",
            "VXP-MODELS-001"
        ]
    );
    assert_eq!(code, 0, "INFO is not a failure");
    let (code, out, _) = full(
        dir.path(),
        &[
            "--config",
            "config.json",
            "--format",
            "json",
            "--check",
            "VXP-TLS",
            "--skip",
            "VXP-TLS-002",
        ],
        &[],
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), 1);
    assert_eq!(code, 0, "loopback without TLS is a WARN");
    let (code, _, _) = full(
        dir.path(),
        &[
            "--config",
            "config.json",
            "--check",
            "VXP-TLS-001",
            "--strict",
        ],
        &[],
    );
    assert_eq!(code, 1, "--strict makes WARN fail");
    let (code, _, err) = full(dir.path(), &["--check", "VXP-NOPE-001"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("VXP-NOPE-001"));
    let (code, _, err) = full(dir.path(), &["--config", "missing.json"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.json"));
    std::fs::write(dir.path().join("bad.json"), "{").unwrap();
    let (code, _, _) = full(dir.path(), &["--config", "bad.json"], &[]);
    assert_eq!(code, 2);
}

/// Validate `doc` against `schemas/<name>`.
fn validate(name: &str, doc: &Value) {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(name, schema).unwrap();
    let index = compiler.compile(name, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("report does not match {name}: {e}");
    }
}

#[test]
fn json_and_sarif_reports_match_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        "{\n  \"host\": \"0.0.0.0\",\n  \"cors_allowed_origins\": [\"*\"]\n}",
    )
    .unwrap();
    let (_, out, _) = full(
        dir.path(),
        &[
            "--production",
            "--config",
            "config.json",
            "--format",
            "json",
        ],
        &[],
    );
    validate("check-report.v1.json", &serde_json::from_str(&out).unwrap());
    let (_, out, _) = full(
        dir.path(),
        &[
            "--production",
            "--config",
            "config.json",
            "--format",
            "sarif",
        ],
        &[],
    );
    let sarif: Value = serde_json::from_str(&out).unwrap();
    validate("sarif-schema-2.1.0.json", &sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), voxray::security::check::checks::CHECKS.len());
    let cors = results
        .iter()
        .find(|r| r["ruleId"] == "VXP-CORS-001")
        .unwrap();
    assert_eq!(
        (cors["kind"].as_str(), cors["level"].as_str()),
        (Some("fail"), Some("error"))
    );
    assert_eq!(
        cors["locations"][0]["physicalLocation"]["region"]["startLine"], 3,
        "line of the offending key"
    );
    let docs = results
        .iter()
        .find(|r| r["ruleId"] == "VXP-DOCS-001")
        .unwrap();
    assert_eq!(docs["kind"], "informational");
}

/// The text report of a failing config, compared with `tests/snapshots/check-text.txt`
/// (set `VOXRAY_UPDATE_SNAPSHOTS=1` to rewrite it after an intended change).
#[test]
fn text_report_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = json!({"host": "0.0.0.0", "cors_allowed_origins": ["*", "http://localhost:3000"],
        "max_sessions": 0, "server_api_key": "short-key-7", "log_level": "debug", "prot": 1,
        "redis_url": "redis://:Sup3rS3cretPw@cache.internal:6379"});
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_string_pretty(&cfg).unwrap(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.path().join("config.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let (code, out, _) = full(
        dir.path(),
        &[
            "--production",
            "--config",
            "config.json",
            "--skip",
            "VXP-RUN",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(!out.contains("Sup3rS3cretPw") && !out.contains("short-key-7"));
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/check-text.txt");
    if std::env::var_os("VOXRAY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &out).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot)
        .expect("snapshot exists (VOXRAY_UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        out, expected,
        "text report changed; review and set VOXRAY_UPDATE_SNAPSHOTS=1 to accept"
    );
}

/// Issue 10 item 2 in `check --production`: a malformed or blank server key is reported under
/// VXP-AUTH-001 with its key path and source (not as "no key"), never with its value.
#[test]
fn unusable_server_key_configuration_is_named_by_auth_001() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value, path) in [
        (
            "VOXRAY_SERVER_API_KEYS",
            "[\"vxr_Zq81xkPa0vBn3Hk29dLq0Wm4\", ",
            "server_api_keys",
        ),
        ("VOXRAY_SERVER_API_KEY", " \t ", "server_api_key"),
    ] {
        let (_, r) = run_in(
            dir.path(),
            "VXP-AUTH-001",
            &json!({}),
            &[(var, value)],
            &[],
            None,
        );
        assert_eq!(r["status"], "FAIL", "{r}");
        let text = r.to_string();
        assert!(
            text.contains(path) && text.contains(&format!("env {var}")),
            "{text}"
        );
        assert!(!text.contains("Zq81xkPa0vBn3"), "{text}");
    }
}
