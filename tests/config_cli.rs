//! Configuration errors at `voxray serve` (`config.md` §8): one line naming the key and the
//! source, exit 2, nothing bound; unknown keys warn with a suggestion.

mod common;

use common::run_cli;

fn serve_with(config: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    run_cli(&["serve", "--config", "config.json"], env, dir.path())
}

/// Run a prepared `voxray` command that is expected to exit; a process still running after
/// `within` (e.g. a server that started when it should have refused) is killed and reported
/// as exit code -1 with what it printed so far.
fn run_bounded(
    mut cmd: std::process::Command,
    within: std::time::Duration,
) -> (i32, String, String) {
    use std::io::Read;
    use std::process::Stdio;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + within;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let lossy = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (
        code,
        lossy(out_t.join().unwrap()),
        lossy(err_t.join().unwrap()),
    )
}

/// `voxray serve --config config.json` (holding `config`) with `env`, bounded by 20 s.
fn serve_bounded(config: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_voxray"));
    cmd.args(["serve", "--config", "config.json"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VOXRAY_KEYRING_BACKEND", "none")
        // Should the server start after all, it must not take a fixed port.
        .env("VOXRAY_PORT", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_bounded(cmd, std::time::Duration::from_secs(20))
}

#[test]
fn bad_values_exit_2_naming_the_key() {
    let cases: &[(&str, &[(&str, &str)], &str)] = &[
        (
            r#"{"port": "80a"}"#,
            &[],
            "voxray: config error: port: expected an integer from 0 to 65535, got \"80a\" (from file config.json)",
        ),
        (
            "{}",
            &[("VOXRAY_PORT", "80a")],
            "voxray: config error: port: expected an integer from 0 to 65535, got \"80a\" (from env VOXRAY_PORT)",
        ),
        (
            r#"{"cors_allowed_origins": ["https://a.example", "*"]}"#,
            &[],
            "voxray: config error: cors_allowed_origins[1]: \"*\" is not allowed; list every browser origin explicitly, e.g. \"https://app.example.com\" (from file config.json)",
        ),
        (
            r#"{"cors_allowed_origins": ["null"]}"#,
            &[],
            "cors_allowed_origins[0]: \"null\" is not allowed",
        ),
        (
            r#"{"cors_allowed_origins": [null]}"#,
            &[],
            "cors_allowed_origins: expected a list of strings",
        ),
        (
            r#"{"max_request_body_bytes": 10}"#,
            &[],
            "max_request_body_bytes: expected an integer from 1024 to 104857600, got 10",
        ),
        (
            r#"{"transport": "carrier"}"#,
            &[],
            "transport: expected one of websocket, smallwebrtc, webrtc, both",
        ),
        (
            "{\n  \"port\": 1,\n}",
            &[],
            "voxray: config error: config.json:3:1: trailing comma",
        ),
        (
            r#"{"server_api_key": "${NOT_SET_ANYWHERE}"}"#,
            &[],
            "server_api_key: environment variable NOT_SET_ANYWHERE referenced by \"${NOT_SET_ANYWHERE}\" is not set",
        ),
        (
            r#"{"server_api_key": "YOUR_SERVER_API_KEY_HERE"}"#,
            &[],
            "server_api_key: value looks like a placeholder; set VOXRAY_SERVER_API_KEY or run \"voxray keygen\"",
        ),
        (
            r#"{"llm_provider": "openai"}"#,
            &[],
            "api_keys.openai: no key found in VOXRAY_API_KEYS__OPENAI, OPENAI_API_KEY",
        ),
        (
            r#"{"llm_provider": "openai", "model": "gpt-4o-mini"}"#,
            &[("OPENAI_API_KEY", "sk-x")],
            "pipeline: the voice pipeline needs STT, LLM and TTS providers: set stt_provider, tts_provider",
        ),
    ];
    for (config, env, expected) in cases {
        let (code, stdout, stderr) = serve_with(config, env);
        assert_eq!(code, 2, "{config}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains(expected),
            "{config}\nexpected: {expected}\ngot: {stderr}"
        );
        assert!(!stderr.contains("listening"), "nothing is bound");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let (code, _, stderr) = serve_with(
        r#"{"port": -1, "max_sessions": "many", "log_level": "loud"}"#,
        &[],
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("voxray: config error: "))
            .count(),
        3,
        "{stderr}"
    );
}

#[test]
fn missing_named_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_cli(&["serve", "--config", "nope.json"], &[], dir.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("nope.json"), "{stderr}");
    let (code, _, stderr) = run_cli(
        &["serve"],
        &[("VOXRAY_CONFIG", "/nonexistent/voxray.json")],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/voxray.json"), "{stderr}");
}

#[test]
fn placeholder_secret_in_the_file_does_not_leak_into_errors() {
    let (code, _, stderr) = serve_with(
        r#"{"server_api_key": "${MY_KEY:-sk-proj-abcdefghijklmnopqrstuv}"}"#,
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("defaults are not supported in secret references"),
        "{stderr}"
    );
    assert!(!stderr.contains("abcdefghij"));
    let (code, _, stderr) = serve_with(r#"{"server_api_key": 12345678901234}"#, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("server_api_key: expected a string, got a number"),
        "{stderr}"
    );
    assert!(!stderr.contains("12345678901234"));
}

/// Issue 10 item 2: a server key that is present but unusable (malformed list, non-string
/// entries, blank values incl. tab and no-break space) is a config error naming the key and
/// the source, never "authentication is disabled"; the value is never echoed.
#[test]
fn unusable_server_keys_are_config_errors_not_auth_off() {
    const K: &str = "vxr_Zq81xkPa0vBn3Hk29dLq0Wm4Tj7Rc5Ye";
    let unclosed = format!("[\"{K}\"");
    let bare = format!("[{K}]");
    let env_cases: Vec<(&str, String, &str)> = vec![
        (
            "VOXRAY_SERVER_API_KEYS",
            unclosed,
            "server_api_keys: expected a JSON array of strings",
        ),
        (
            "VOXRAY_SERVER_API_KEYS",
            "[\"k\", ".into(),
            "server_api_keys: expected a JSON array",
        ),
        (
            "VOXRAY_SERVER_API_KEYS",
            bare,
            "server_api_keys: expected a JSON array",
        ),
        (
            "VOXRAY_SERVER_API_KEYS",
            "[1]".into(),
            "server_api_keys[0]: expected a string, got a number",
        ),
        (
            "VOXRAY_SERVER_API_KEYS",
            " , ".into(),
            "server_api_keys: the list holds no key",
        ),
        (
            "VOXRAY_SERVER_API_KEYS",
            "[\" \"]".into(),
            "server_api_keys[0]: value is blank",
        ),
        (
            "VOXRAY_SERVER_API_KEY",
            "   ".into(),
            "server_api_key: value is blank",
        ),
        (
            "VOXRAY_SERVER_API_KEY",
            "\t".into(),
            "server_api_key: value is blank",
        ),
        (
            "VOXRAY_SERVER_API_KEY",
            "\u{a0}".into(),
            "server_api_key: value is blank",
        ),
    ];
    for (var, value, expected) in &env_cases {
        let (code, stdout, stderr) = serve_bounded("{}", &[(var, value)]);
        assert_eq!(code, 2, "{var}={value:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(expected), "{var}={value:?}: {stderr}");
        assert!(stderr.contains(&format!("(from env {var})")), "{stderr}");
        assert!(!stderr.contains("authentication is disabled"), "{stderr}");
        assert!(!stderr.contains("listening"), "nothing is bound");
        assert!(!stderr.contains("Zq81xkPa0vBn3"), "value echoed: {stderr}");
    }
    let file_cases = [
        (
            r#"{"server_api_key": "   "}"#,
            "server_api_key: value is blank",
        ),
        (
            r#"{"server_api_key": "\t"}"#,
            "server_api_key: value is blank",
        ),
        (
            "{\"server_api_key\": \"\u{a0}\"}",
            "server_api_key: value is blank",
        ),
        (
            r#"{"server_api_keys": ["  "]}"#,
            "server_api_keys[0]: value is blank",
        ),
        (
            r#"{"server_api_key": "vxr_Zq81xkPa0vBn3Hk29dLq0Wm4Tj7Rc5Ye", "server_api_keys": [""]}"#,
            "server_api_keys[0]: value is blank",
        ),
    ];
    for (config, expected) in file_cases {
        let (code, _, stderr) = serve_bounded(config, &[]);
        assert_eq!(code, 2, "{config}: {stderr}");
        assert!(stderr.contains(expected), "{config}: {stderr}");
        assert!(!stderr.contains("authentication is disabled"), "{stderr}");
    }
}

/// Issue 10 item 4: the environment is read as `OsString`. An unrelated non-UTF-8 variable is
/// ignored; one voxray reads is a config error naming the variable, never its value; nothing
/// panics (exit 101) and no value reaches stderr or stdout.
#[test]
fn non_utf8_environment_is_reported_by_name_only() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let secret_body = "Zq81xkPa0vBn3Hk29dLq0Wm4Tj7Rc5Ye";
    let bad_key = [b"sk-proj-".as_slice(), secret_body.as_bytes(), b"\xff"].concat();
    let run = |args: &[&str], name: &str, value: &[u8]| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), r#"{"port": 0}"#).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_voxray"));
        cmd.args(args)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("VOXRAY_KEYRING_BACKEND", "none")
            .env(name, OsStr::from_bytes(value));
        run_bounded(cmd, std::time::Duration::from_secs(20))
    };
    for name in ["OPENAI_API_KEY", "VOXRAY_SERVER_API_KEY", "VOXRAY_PORT"] {
        let (code, stdout, stderr) = run(&["serve", "--config", "config.json"], name, &bad_key);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "config error: {name}: environment variable is not valid UTF-8"
            )),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains(secret_body) && !stdout.contains(secret_body));
        let (code, stdout, stderr) = run(&["check", "--config", "config.json"], name, &bad_key);
        assert_ne!(code, 101, "check panicked: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains(secret_body) && !stdout.contains(secret_body));
        assert!(
            stdout.contains(name) || stderr.contains(name),
            "check names {name}: {stdout}{stderr}"
        );
    }
    // An unrelated variable neither panics nor stops `check`; `serve` starts (below).
    let (code, stdout, stderr) = run(&["check", "--config", "config.json"], "FOO", b"\xff");
    assert_ne!(code, 101, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stdout.contains("FOO") && !stderr.contains("not valid UTF-8"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"port": 0}"#).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_voxray"));
    cmd.args(["serve", "--config", "config.json"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VOXRAY_KEYRING_BACKEND", "none")
        .env("FOO", OsStr::from_bytes(b"\xff"));
    let server = common::Server::spawn(cmd, dir);
    assert!(!server.log().contains("panicked"));
}

/// Issue 10 item 9: a weak server key is refused off loopback (naming `voxray keygen`, never
/// the key) and only warned about on loopback.
#[test]
fn weak_server_keys_are_refused_off_loopback() {
    let weak = "hunter2-Xq";
    let (code, stdout, stderr) =
        serve_bounded(r#"{"host": "0.0.0.0"}"#, &[("VOXRAY_SERVER_API_KEY", weak)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("the server key from env VOXRAY_SERVER_API_KEY is weak")
            && stderr.contains("voxray keygen"),
        "{stderr}"
    );
    assert!(!stderr.contains(weak), "{stderr}");
    assert!(!stderr.contains("listening"), "nothing is bound");
    let server = common::Server::start(
        serde_json::json!({"host": "127.0.0.1"}),
        &[("VOXRAY_SERVER_API_KEY", weak)],
    );
    let log = server.log();
    assert!(
        log.contains("the server key is weak") && log.contains("voxray keygen"),
        "{log}"
    );
    assert!(!log.contains(weak));
}
