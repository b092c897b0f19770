//! Operations over real TCP: `/metrics` (counts, gauges, process metrics, separate listener,
//! disabled), `/ready`, docs, unknown-key warnings, and graceful shutdown on SIGTERM.

mod common;

use std::time::Duration;

use common::Server;
use futures_util::StreamExt;
use serde_json::json;

#[tokio::test]
async fn metrics_count_requests_and_show_the_sessions_gauge() {
    let server = Server::start(json!({}), &[]);
    let client = reqwest::Client::new();
    for _ in 0..3 {
        client.get(server.url("/health")).send().await.unwrap();
    }
    client.get(server.url("/nope")).send().await.unwrap();
    let res = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            "voxray_http_requests_total{method=\"GET\",route=\"health\",status=\"200\"} 3"
        ),
        "{text}"
    );
    assert!(text.contains(
        "voxray_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
    ));
    assert!(text.contains("voxray_sessions_active{transport=\"websocket\"} 0"));
    assert!(text.contains("voxray_build_info{version=\""));
    assert!(text.contains("voxray_http_request_duration_seconds_bucket"));
    assert!(text.contains("process_resident_memory_bytes"));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(
            name.starts_with("voxray_") || name.starts_with("process_"),
            "{name}"
        );
    }
    // A session moves the gauge.
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server
            .metric("voxray_sessions_active{transport=\"websocket\"}")
            .await,
        Some(1.0)
    );
    assert_eq!(
        server
            .metric("voxray_sessions_started_total{transport=\"websocket\"}")
            .await,
        Some(1.0)
    );
    drop(ws);
}

#[tokio::test]
async fn metrics_can_move_or_be_disabled() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = probe.local_addr().unwrap();
    drop(probe);
    let server = Server::start(json!({"metrics_listen": metrics_addr.to_string()}), &[]);
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let res = client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("voxray_build_info"));
    assert_eq!(
        client
            .get(format!("http://{metrics_addr}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let off = Server::start(
        json!({"metrics_enabled": false, "docs_enabled": false}),
        &[],
    );
    for path in ["/metrics", "/openapi.json", "/swagger/"] {
        assert_eq!(
            client.get(off.url(path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
}

#[tokio::test]
async fn openapi_lists_routes_and_security_schemes() {
    let server = Server::start(json!({}), &[]);
    let doc: serde_json::Value = reqwest::get(server.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/start",
        "/api/v1/start",
        "/webrtc/offer",
        "/sessions/{id}/api/offer",
        "/ws",
        "/health",
        "/ready",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["apiKeyAuth"]["name"],
        "X-API-Key"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    let ui = reqwest::get(server.url("/swagger/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ui.contains("swagger"), "Swagger UI page");
    assert!(!ui.contains("https://"), "no external host referenced");
}

#[tokio::test]
async fn unknown_keys_warn_with_a_suggestion() {
    let server = Server::start(
        json!({"cors_origins": ["https://a.example"], "_comment": "ignored", "prot": 1, "plugins": []}),
        &[("VOXRAY_MAX_SESION", "3")],
    );
    let log = server.log();
    let file = server.dir.path().join("config.json").display().to_string();
    assert!(log.contains(&format!("unknown config key \"cors_origins\" (from file {file}); did you mean \"cors_allowed_origins\"?")), "{log}");
    assert!(log.contains(&format!(
        "unknown config key \"prot\" (from file {file}); did you mean \"port\"?"
    )));
    assert!(log.contains("(from env VOXRAY_MAX_SESION); did you mean \"max_sessions\"?"));
    assert!(!log.contains("_comment"));
}

#[tokio::test]
async fn sigterm_drains_then_exits_0_with_sessions_closed() {
    let mut server = Server::start(json!({"shutdown_timeout_secs": 2}), &[]);
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(server.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    server.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = client.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
    assert_eq!(
        body["error"]["details"][0],
        json!({"field": "state", "message": "draining"})
    );
    assert_eq!(
        client
            .get(server.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = client.post(server.url("/start")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "shutting_down"
    );

    // The open session is closed with 1001 when the drain time is up.
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(msg) = ws.next().await {
            if let Ok(tokio_tungstenite::tungstenite::Message::Close(frame)) = msg {
                return frame;
            }
        }
        None
    })
    .await
    .expect("session closed within the drain time");
    let frame = close.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1001);
    assert_eq!(frame.reason.as_str(), "shutdown");
    let code = tokio::task::spawn_blocking(move || server.wait_exit(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
}
