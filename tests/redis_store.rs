//! Several voxray instances sharing one real `redis-server` (`session_store: "redis"`, issue 16):
//! `/start` on A is answered by B (WebSocket token, WebRTC offer), tokens work exactly once
//! across instances (also under a replay storm), a Redis outage flips `/ready` and refuses new
//! sessions with a 503 envelope while running sessions go on, both instances recover when Redis
//! returns, and a drained instance (SIGTERM) hands new sessions to the other one.
//!
//! Needs `redis-server` on PATH (Debian `redis-server`, installed by
//! scripts/install-test-deps.sh).
#![allow(dead_code)]

mod common;
#[path = "common/rtcpeer.rs"]
mod rtcpeer;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use futures_util::{SinkExt, StreamExt};
use rtcpeer::{Client, speech48};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const KEY: &str = "vxr_kT9mQ2xW7pL4nR8vB3cY6zH1jF5dS0aG3hBfQw";

/// A `redis-server` on a loopback port, no persistence; killed on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn redis_pong(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl Redis {
    fn start(port: u16) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/install-test-deps.sh)");
        let t0 = Instant::now();
        while !redis_pong(port) {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { child, port, dir }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A voxray instance named `name` on the shared Redis.
fn instance(redis: u16, name: &str, extra: Value) -> Server {
    let mut cfg = json!({
        "host": "127.0.0.1",
        "session_store": "redis",
        "redis_url": format!("redis://127.0.0.1:{redis}/0"),
        "server_api_key": KEY,
        "max_sessions": 200,
    });
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    Server::start(cfg, &[("VOXRAY_INSTANCE_ID", name)])
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn start(server: &Server, body: Value) -> (u16, Value) {
    let res = http()
        .post(server.url("/start"))
        .header("X-API-Key", KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn start_ws(server: &Server) -> String {
    let (status, body) = start(server, json!({"transport": "websocket"})).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Upgrade `/ws?token=…&format=raw`; `Err(status)` when refused.
async fn connect(server: &Server, token: &str) -> Result<Ws, u16> {
    let url = server.ws_url(&format!("/ws?format=raw&token={token}"));
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

/// The raw echo answers a binary message with the same bytes.
async fn assert_echoes(ws: &mut Ws) {
    ws.send(Message::Binary(vec![1, 2, 3, 4].into()))
        .await
        .unwrap();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("echo within 5 s")
            .expect("socket open")
            .expect("no error");
        match msg {
            Message::Binary(b) => {
                assert_eq!(b.as_ref(), &[1, 2, 3, 4]);
                return;
            }
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => continue,
        }
    }
}

async fn ready(server: &Server) -> (u16, Value) {
    let res = http().get(server.url("/ready")).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Poll `/ready` until it answers `want`; how long that took.
async fn wait_ready(server: &Server, want: u16, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let (status, _) = ready(server).await;
        if status == want {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < within,
            "/ready did not answer {want} within {within:?}; log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_token_from_a_works_once_on_b_and_replays_are_refused() {
    let redis = Redis::start(free_port());
    let a = instance(redis.port, "a", json!({}));
    let b = instance(redis.port, "b", json!({}));
    let (status, body) = ready(&a).await;
    assert_eq!(
        (status, &body["data"]["checks"]["session_store"]),
        (200, &json!("ok"))
    );

    let token = start_ws(&a).await;
    let mut ws = connect(&b, &token).await.expect("B redeems A's token");
    assert_echoes(&mut ws).await;
    assert_eq!(connect(&b, &token).await.err(), Some(401), "replay on B");
    assert_eq!(connect(&a, &token).await.err(), Some(401), "replay on A");
    // The session runs on B: B's instance gauge counts it, A's does not.
    assert_eq!(b.metric("voxray_instance_active_sessions").await, Some(1.0));
    assert_eq!(a.metric("voxray_instance_active_sessions").await, Some(0.0));
    assert_eq!(b.metric("voxray_instance_capacity_left").await, Some(199.0));
    assert_echoes(&mut ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_flips_ready_keeps_sessions_and_recovers() {
    let port = free_port();
    let mut redis = Redis::start(port);
    let a = instance(port, "a", json!({}));
    let b = instance(port, "b", json!({}));
    let token = start_ws(&a).await;
    let mut on_b = connect(&b, &token).await.unwrap();
    let token = start_ws(&b).await;
    let mut on_a = connect(&a, &token).await.unwrap();

    redis.kill();
    let (ta, tb) = tokio::join!(
        wait_ready(&a, 503, Duration::from_secs(2)),
        wait_ready(&b, 503, Duration::from_secs(2))
    );
    println!("figure: /ready 503 after Redis died: A {ta:?}, B {tb:?}");
    let (_, body) = ready(&a).await;
    assert_eq!(body["error"]["code"], "not_ready");
    assert_eq!(body["error"]["details"][0]["field"], "session_store");
    assert_eq!(
        b.metric("voxray_instance_session_store_up").await,
        Some(0.0)
    );

    // Running sessions go on.
    assert_echoes(&mut on_a).await;
    assert_echoes(&mut on_b).await;
    // New sessions are refused with a clear envelope, quickly.
    let t0 = Instant::now();
    let (status, body) = start(&a, json!({"transport": "websocket"})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "session_store_unavailable");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "/start answered in {:?}",
        t0.elapsed()
    );

    // Redis returns on the same port: both recover without a restart.
    let _redis = Redis::start(port);
    let (ta, tb) = tokio::join!(
        wait_ready(&a, 200, Duration::from_secs(10)),
        wait_ready(&b, 200, Duration::from_secs(10))
    );
    println!("figure: /ready 200 after Redis returned: A {ta:?}, B {tb:?}");
    let token = start_ws(&a).await;
    let mut ws = connect(&b, &token)
        .await
        .expect("works again after recovery");
    assert_echoes(&mut ws).await;
    assert_echoes(&mut on_a).await;
    assert_echoes(&mut on_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_storm_over_two_instances_admits_exactly_100() {
    let redis = Redis::start(free_port());
    // A redeeming connection holds an admission slot while its token is checked in Redis, so
    // a storm of 250 simultaneous attempts per instance needs room for all of them (the
    // default 200 would answer some with 503 instead of 401).
    let a = Arc::new(instance(redis.port, "a", json!({"max_sessions": 300})));
    let b = Arc::new(instance(redis.port, "b", json!({"max_sessions": 300})));
    let servers = [a.clone(), b.clone()];
    let mut tokens = Vec::new();
    for i in 0..100 {
        tokens.push(start_ws(&servers[i % 2]).await);
    }
    // Each token tried 5 times, alternating instances, all at once.
    let mut tasks = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        for k in 0..5 {
            let server = servers[(i + k) % 2].clone();
            let t = t.clone();
            tasks.push(tokio::spawn(async move { connect(&server, &t).await }));
        }
    }
    let mut open = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(ws) => open.push(ws),
            Err(401) => refused += 1,
            Err(other) => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(open.len(), 100, "exactly one connection per token");
    assert_eq!(refused, 400);
    let on_a = a.metric("voxray_instance_active_sessions").await.unwrap();
    let on_b = b.metric("voxray_instance_active_sessions").await.unwrap();
    println!("figure: sessions A {on_a}, B {on_b}");
    assert_eq!(on_a + on_b, 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_while_b_takes_new_sessions() {
    let redis = Redis::start(free_port());
    let mut a = instance(redis.port, "a", json!({"shutdown_timeout_secs": 3}));
    let b = instance(redis.port, "b", json!({}));
    let token = start_ws(&a).await;
    let mut held = connect(&a, &token).await.unwrap();
    // A pending session created on A before the signal.
    let pending = start_ws(&a).await;

    a.signal(libc::SIGTERM);
    wait_ready(&a, 503, Duration::from_secs(2)).await;
    let (_, body) = ready(&a).await;
    assert_eq!(body["error"]["details"][0]["message"], "draining");
    let (status, body) = start(&a, json!({"transport": "websocket"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("shutting_down"))
    );
    // Nothing B could take is refused: A's pending session and new ones land on B.
    let mut moved = connect(&b, &pending)
        .await
        .expect("B takes A's pending session");
    assert_echoes(&mut moved).await;
    let token = start_ws(&b).await;
    let mut fresh = connect(&b, &token).await.unwrap();
    assert_echoes(&mut fresh).await;
    // A still serves what it holds during the drain, then closes it with 1001 and exits 0.
    assert_echoes(&mut held).await;
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(10), held.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => break f.expect("close frame"),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(frame.code), 1001);
    assert_eq!(a.wait_exit(Duration::from_secs(10)), Some(0));
    assert_echoes(&mut fresh).await;
}

// ---- WebRTC: /start on A, offer on B, media flows; the owner rule for PATCH ----

async fn send(server: &Server, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    let res = http()
        .request(method, server.url(path))
        .header("X-API-Key", KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_start_on_a_offer_on_b_media_flows_and_a_answers_409() {
    let redis = Redis::start(free_port());
    let a = instance(redis.port, "a", json!({}));
    let b = instance(redis.port, "b", json!({}));
    let (status, started) = start(&a, json!({})).await;
    assert_eq!(status, 200, "{started}");
    let sid = started["sessionId"].as_str().unwrap().to_string();
    let path = format!("/sessions/{sid}/api/offer");

    let mut client = Client::new().await;
    let sdp = client.offer(true).await;
    let (status, answer) = send(
        &b,
        reqwest::Method::POST,
        &path,
        &json!({"sdp": sdp, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}; log B:\n{}", b.log());
    let pc_id = answer["pc_id"].as_str().unwrap().to_string();
    client
        .apply_answer(answer["sdp"].as_str().unwrap(), &pc_id)
        .await;
    client.wait_connected().await;

    // Single use across instances: the same session on A is consumed.
    let other = Client::new().await;
    let sdp2 = other.offer(true).await;
    let (status, _) = send(
        &a,
        reqwest::Method::POST,
        &path,
        &json!({"sdp": sdp2, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 404);

    // Media flows through B: the echo of real speech comes back.
    let speech = speech48("hello.wav");
    client.send_audio(&speech, Duration::from_millis(600)).await;
    let got = client.received();
    let loud = got.iter().filter(|s| s.unsigned_abs() > 300).count();
    assert!(
        loud > 4_800,
        "echo over B carries speech ({loud} loud samples)"
    );
    assert_eq!(b.metric("voxray_instance_active_sessions").await, Some(1.0));

    // Trickle PATCH and renegotiation for B's pc_id sent to A: 409 naming the owner.
    let (status, body) = send(
        &a,
        reqwest::Method::PATCH,
        &path,
        &json!({"pc_id": pc_id, "candidates": []}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "wrong_instance");
    assert_eq!(body["error"]["details"][0]["field"], "instance");
    assert_eq!(body["error"]["details"][0]["message"], "b");
    let (status, _) = send(
        &a,
        reqwest::Method::POST,
        &path,
        &json!({"pc_id": pc_id, "sdp": sdp, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 409);
    // On the owner the same PATCH works.
    let (status, body) = send(
        &b,
        reqwest::Method::PATCH,
        &path,
        &json!({"pc_id": pc_id, "candidates": []}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    client.close().await;
}
