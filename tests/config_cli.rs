//! Configuration errors at `voxray serve` (`config.md` §8): one line naming the key and the
//! source, exit 2, nothing bound; unknown keys warn with a suggestion.

mod common;

use common::run_cli;

fn serve_with(config: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    run_cli(&["serve", "--config", "config.json"], env, dir.path())
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
