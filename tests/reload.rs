//! Key rotation without a restart (`http.md` §8.3): start with key A, SIGHUP to {A, B}, then
//! to {B}; requests with each key succeed or fail at the right moments and an open WS session
//! survives every reload. A reload that fails keeps the old keys.

mod common;

use std::time::Duration;

use common::Server;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const A: &str = "rotation-key-A-Zq81xkPa0vBn3Tt5";
const B: &str = "rotation-key-B-Hk29dLq0Wm4Rr7Yy";

async fn status_with(server: &Server, key: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("/start"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn reload_to(server: &Server, config: serde_json::Value, expect_log: &str) {
    let path = server.dir.path().join("config.json");
    let mut cfg = config;
    cfg["port"] = 0.into();
    std::fs::write(&path, cfg.to_string()).unwrap();
    let before = server.log().matches(expect_log).count();
    server.signal(libc::SIGHUP);
    for _ in 0..100 {
        if server.log().matches(expect_log).count() > before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {expect_log:?} after SIGHUP; log:\n{}", server.log());
}

async fn echo_alive(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    byte: u8,
) {
    ws.send(Message::Binary(vec![byte; 640].into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply, Message::Binary(vec![byte; 640].into()));
}

#[tokio::test]
async fn sighup_rotates_keys_and_sessions_survive() {
    let secret_dir = tempfile::tempdir().unwrap();
    let key_file = secret_dir.path().join("server_key");
    std::fs::write(&key_file, format!("{A}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let file_ref = format!("file:{}", key_file.display());
    let server = Server::start(json!({"server_api_key": file_ref}), &[]);
    assert_eq!(status_with(&server, A).await, 200);
    assert_eq!(status_with(&server, B).await, 401);

    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = server
        .ws_url("/ws?format=raw")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("X-API-Key", A.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    echo_alive(&mut ws, 1).await;

    // {A, B}: both work.
    reload_to(
        &server,
        json!({"server_api_key": file_ref, "server_api_keys": [B]}),
        "server_keys=2",
    )
    .await;
    assert_eq!(status_with(&server, A).await, 200);
    assert_eq!(status_with(&server, B).await, 200);
    echo_alive(&mut ws, 2).await;

    // {B}: A stops working; the file secret is re-read too.
    std::fs::write(&key_file, format!("{B}\n")).unwrap();
    reload_to(
        &server,
        json!({"server_api_key": file_ref}),
        "server_keys=1",
    )
    .await;
    assert_eq!(status_with(&server, A).await, 401);
    assert_eq!(status_with(&server, B).await, 200);
    echo_alive(&mut ws, 3).await;

    // A failing reload keeps the old set and says why at ERROR.
    reload_to(
        &server,
        json!({"server_api_key": "${UNSET_ROTATION_VAR}"}),
        "reload failed",
    )
    .await;
    assert!(server.log().contains("ERROR"));
    assert_eq!(status_with(&server, B).await, 200);
    echo_alive(&mut ws, 4).await;
    assert!(
        !server.log().contains(A) && !server.log().contains(B),
        "keys never logged"
    );
}

#[tokio::test]
async fn readable_secret_file_warns() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, A).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let server = Server::start(
        json!({"server_api_key": format!("file:{}", key_file.display())}),
        &[],
    );
    assert!(
        server
            .log()
            .contains("is readable by group or others; chmod 600 it"),
        "{}",
        server.log()
    );
    assert_eq!(status_with(&server, A).await, 200);
}
