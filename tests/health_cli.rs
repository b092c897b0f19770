//! `voxray health`, the container HEALTHCHECK probe: loads the config like `serve`, GETs
//! `/health` on the local port, exits 0 on 200, else 1 (never 2, which Docker reserves) with
//! one line on stderr.

mod common;

use common::{Server, run_cli};
use serde_json::json;

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Exactly one stderr line, exit 1.
fn assert_unhealthy(out: (i32, String, String), needle: &str) {
    let (code, stdout, stderr) = out;
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("voxray: health: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
}

#[test]
fn exits_0_when_the_server_answers_from_env_or_config_file() {
    let server = Server::start(json!({}), &[]);
    let dir = tempfile::tempdir().unwrap();
    let port = server.port.to_string();
    let (code, stdout, stderr) = run_cli(&["health"], &[("VOXRAY_PORT", &port)], dir.path());
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    // The port from the config file, found as ./config.json like serve finds it.
    std::fs::write(
        dir.path().join("config.json"),
        json!({"host": "0.0.0.0", "port": server.port}).to_string(),
    )
    .unwrap();
    let (code, _, stderr) = run_cli(&["health"], &[], dir.path());
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn exits_1_with_one_line_when_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port().to_string();
    assert_unhealthy(
        run_cli(&["health"], &[("VOXRAY_PORT", &port)], dir.path()),
        &format!("cannot connect to http://127.0.0.1:{port}/health"),
    );
}

#[test]
fn config_problems_exit_1_not_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_unhealthy(
        run_cli(&["health"], &[("VOXRAY_PORT", "80a")], dir.path()),
        "config error: port",
    );
    let missing = dir.path().join("missing.json");
    assert_unhealthy(
        run_cli(
            &["health", "--config", missing.to_str().unwrap()],
            &[],
            dir.path(),
        ),
        "missing.json",
    );
    assert_unhealthy(
        run_cli(&["health"], &[("VOXRAY_PORT", "0")], dir.path()),
        "port is 0",
    );
}

#[test]
fn tls_server_that_is_down_is_one_line_naming_the_https_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "x").unwrap();
    std::fs::write(dir.path().join("key.pem"), "x").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    assert_unhealthy(
        run_cli(
            &["health"],
            &[
                ("VOXRAY_PORT", &port),
                ("VOXRAY_TLS_ENABLE", "true"),
                ("VOXRAY_TLS_CERT_FILE", "cert.pem"),
                ("VOXRAY_TLS_KEY_FILE", "key.pem"),
            ],
            dir.path(),
        ),
        "https://127.0.0.1:",
    );
}
