//! The keyless default is not reachable from web pages (issue 10 item 8): with auth off the
//! protected routes and `/ws` answer only loopback or configured `Host` values (DNS
//! rebinding → 403), JSON body routes need `Content-Type: application/json` (a `text/plain`
//! simple POST → 415), and a keyless server refuses to start off loopback.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, run_cli};
use serde_json::json;

/// Send a raw HTTP/1.1 request; the response text.
fn raw(server: &Server, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn foreign_hosts_and_simple_posts_are_refused_without_auth() {
    let server = Server::start(json!({"proxy_host": "voice.example.com"}), &[]);
    let post = |host: &str, ctype: Option<&str>| {
        let ct = ctype
            .map(|c| format!("Content-Type: {c}\r\n"))
            .unwrap_or_default();
        raw(
            &server,
            &format!(
                "POST /start HTTP/1.1\r\nHost: {host}\r\n{ct}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            ),
        )
    };
    // DNS rebinding: the page's own name in Host.
    let res = post("attacker.example:8080", Some("application/json"));
    assert!(res.starts_with("HTTP/1.1 403"), "{res}");
    assert!(
        res.contains(r#"{"error":{"code":"forbidden","message":"host not allowed"}}"#),
        "{res}"
    );
    assert!(res.to_ascii_lowercase().contains("x-request-id:"));
    let ws = raw(
        &server,
        "GET /ws HTTP/1.1\r\nHost: attacker.example\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert!(ws.starts_with("HTTP/1.1 403"), "{ws}");
    // A text/plain simple POST skips the preflight: 415.
    let res = post("127.0.0.1", Some("text/plain"));
    assert!(res.starts_with("HTTP/1.1 415"), "{res}");
    assert!(res.contains(
        r#"{"error":{"code":"unsupported_media_type","message":"Content-Type must be application/json"}}"#
    ));
    let res = post("127.0.0.1", None);
    assert!(
        res.starts_with("HTTP/1.1 415"),
        "a body without Content-Type: {res}"
    );
    // Loopback names and the configured proxy_host work; health stays open to any host.
    for host in ["127.0.0.1", "localhost:8080", "voice.example.com"] {
        let res = post(host, Some("application/json"));
        assert!(res.starts_with("HTTP/1.1 200"), "{host}: {res}");
    }
    let res = raw(
        &server,
        "POST /start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(
        res.starts_with("HTTP/1.1 200"),
        "an empty POST needs no type: {res}"
    );
    let res = raw(
        &server,
        "GET /health HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
    );
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
}

#[test]
fn keyed_servers_accept_any_host_but_still_need_json() {
    let key = "vxr_kT9mQ2xW7pL4nR8vB3cY6zH1jF5dS0aG3hBfQw";
    let server = Server::start(json!({"server_api_key": key}), &[]);
    let res = raw(
        &server,
        &format!(
            "POST /start HTTP/1.1\r\nHost: voice.example.org\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
    );
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let res = raw(
        &server,
        &format!(
            "POST /start HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
    );
    assert!(res.starts_with("HTTP/1.1 415"), "{res}");
}

#[test]
fn a_keyless_server_refuses_to_start_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"host": "0.0.0.0", "port": 0}"#,
    )
    .unwrap();
    // Bounded: on a build without the rule the server would start and never exit.
    let (tx, rx) = std::sync::mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(run_cli(&["serve", "--config", "config.json"], &[], &path));
    });
    let (code, stdout, stderr) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("serve exits instead of listening");
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("no server key is set and host 0.0.0.0 is not loopback")
            && stderr.contains("voxray keygen"),
        "{stderr}"
    );
}
