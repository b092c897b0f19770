//! `POST /daily-dialin-webhook` (`http.md` §10) against the real binary and a loopback fake of
//! the Daily REST API (`POST /v1/rooms`, `POST /v1/meeting-tokens`, Daily's JSON shapes).

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use common::Server;
use serde_json::{Value, json};

const SECRET: &str = "Zq81xkPa0vBn3-dialin-webhook-4f7c2e9a";
const DAILY_KEY: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const UNAUTHORIZED: &str = r#"{"error":{"code":"unauthorized","message":"Unauthorized"}}"#;
const UPSTREAM: &str = r#"{"error":{"code":"upstream_error","message":"upstream service failed"}}"#;

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    auth: String,
    content_type: String,
    body: Value,
}

/// What the fake does.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Answer like Daily.
    Ok,
    /// `POST /rooms` answers 500 with Daily's error body.
    RoomsFail,
    /// `POST /meeting-tokens` answers 400 with Daily's error body.
    TokenFail,
    /// Never answer (the 10 s deadline).
    Hang,
}

#[derive(Clone)]
struct FakeDaily {
    seen: Arc<Mutex<Vec<Seen>>>,
    modes: Arc<Mutex<VecDeque<Mode>>>,
}

impl FakeDaily {
    async fn start() -> (FakeDaily, String) {
        let fake = FakeDaily {
            seen: Arc::default(),
            modes: Arc::default(),
        };
        let state = fake.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { state.answer(method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, format!("http://{addr}/v1"))
    }

    fn push(&self, mode: Mode) {
        self.modes.lock().unwrap().push_back(mode);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn answer(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        let header = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        self.seen.lock().unwrap().push(Seen {
            method: method.clone(),
            path: uri.path().to_string(),
            auth: header("authorization"),
            content_type: header("content-type"),
            body: parsed.clone(),
        });
        let mode = {
            let mut modes = self.modes.lock().unwrap();
            match uri.path() {
                "/v1/rooms" => modes.front().copied().unwrap_or(Mode::Ok),
                _ => modes.pop_front().unwrap_or(Mode::Ok),
            }
        };
        if header("authorization") != format!("Bearer {DAILY_KEY}") {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "authentication-error", "info": "unauthorized"})),
            )
                .into_response();
        }
        match (method, uri.path(), mode) {
            (_, _, Mode::Hang) => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            (Method::POST, "/v1/rooms", Mode::RoomsFail) => {
                self.modes.lock().unwrap().pop_front();
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({"error": "server-error", "info": "internal error"})),
                )
                    .into_response()
            }
            (Method::POST, "/v1/rooms", _) => axum::Json(json!({
                "id": "5e3cf703-5547-47d6-a371-37b1f0b4427f",
                "name": "w2pp2cf4kltgFACPKXmX",
                "api_created": true,
                "privacy": "public",
                "url": "https://voxray-test.daily.co/w2pp2cf4kltgFACPKXmX",
                "created_at": "2026-12-03T10:00:00.000Z",
                "config": parsed["properties"].clone(),
            }))
            .into_response(),
            (Method::POST, "/v1/meeting-tokens", Mode::TokenFail) => (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({"error": "invalid-request-error", "info": "room_name not found"}),
                ),
            )
                .into_response(),
            (Method::POST, "/v1/meeting-tokens", _) => {
                axum::Json(json!({"token": "eyJhbGciOiJIUzI1NiJ9.test-owner-token.sig"}))
                    .into_response()
            }
            _ => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "not-found", "info": "no such endpoint"})),
            )
                .into_response(),
        }
    }
}

fn config(daily: &str, extra: Value) -> Value {
    let mut c = json!({"runner_transport": "daily", "dialin": true, "daily_api_url": daily});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn start(daily: &str, extra: Value) -> Server {
    Server::start(
        config(daily, extra),
        &[
            ("DAILY_API_KEY", DAILY_KEY),
            ("VOXRAY_DAILY_DIALIN_WEBHOOK_SECRET", SECRET),
        ],
    )
}

async fn post(server: &Server, secret: Option<&str>, body: &Value) -> (u16, Value, String) {
    let mut req = reqwest::Client::new()
        .post(server.url("/daily-dialin-webhook"))
        .json(body);
    if let Some(s) = secret {
        req = req.header("X-Webhook-Secret", s);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn call() -> Value {
    json!({
        "From": "+15551234567",
        "To": "+15559876543",
        "callId": "c0ffee00-1111-2222-3333-444455556666",
        "callDomain": "d0d0d0d0-aaaa-bbbb-cccc-ddddeeeeffff",
        "sipHeaders": {"X-Customer": "42"}
    })
}

#[tokio::test]
async fn test_ping_answers_ok_without_calling_daily() {
    let (fake, base) = FakeDaily::start().await;
    let server = start(&base, json!({}));
    for ping in [
        json!({"test": true}),
        json!({"Test": "1"}),
        json!({"test": 5}),
    ] {
        let (status, body, _) = post(&server, Some(SECRET), &ping).await;
        assert_eq!((status, body), (200, json!({"status": "OK"})));
    }
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn each_missing_field_is_one_detail() {
    let (fake, base) = FakeDaily::start().await;
    let server = start(&base, json!({}));
    for field in ["From", "To", "callId", "callDomain"] {
        for missing in [Value::Null, json!("")] {
            let mut body = call();
            if missing.is_null() {
                body.as_object_mut().unwrap().remove(field);
            } else {
                body[field] = missing;
            }
            let (status, got, _) = post(&server, Some(SECRET), &body).await;
            assert_eq!(status, 422, "{field}");
            assert_eq!(
                got,
                json!({"error": {"code": "validation_error", "message": "request validation failed",
                       "details": [{"field": field, "message": "is required"}]}}),
                "{field}"
            );
        }
    }
    let (status, got, _) = post(&server, Some(SECRET), &json!({"test": false})).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = got["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["From", "To", "callId", "callDomain"]);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn wrong_or_missing_secret_is_401() {
    let (fake, base) = FakeDaily::start().await;
    let server = start(&base, json!({}));
    for secret in [None, Some("wrong"), Some(&SECRET[..SECRET.len() - 1])] {
        let (status, _, text) = post(&server, secret, &call()).await;
        assert_eq!((status, text.as_str()), (401, UNAUTHORIZED), "{secret:?}");
    }
    assert!(fake.seen().is_empty());
    assert_eq!(
        server
            .metric("voxray_auth_failures_total{route=\"daily_dialin_webhook\"}")
            .await,
        Some(3.0)
    );
    // The API key does not replace the webhook secret, and is not needed.
    let log = server.log();
    assert!(!log.contains(SECRET) && !log.contains(DAILY_KEY));
}

/// Read one HTTP/1.1 response (status, lower-cased headers, body) from a keep-alive stream.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>, String) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).unwrap();
    (status, headers, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn oversized_body_is_400_and_the_connection_stays_usable() {
    let (fake, base) = FakeDaily::start().await;
    let server = start(&base, json!({"max_request_body_bytes": 4096}));
    let port = server.port;
    let fake2 = fake.clone();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut body = call();
        body["pad"] = json!("x".repeat(5000));
        let body = serde_json::to_vec(&body).unwrap();
        write!(
            stream,
            "POST /daily-dialin-webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Webhook-Secret: {SECRET}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        let (status, headers, text) = read_response(&mut reader);
        assert_eq!(status, 400);
        assert_eq!(
            text,
            r#"{"error":{"code":"body_too_large","message":"request body exceeds 4096 bytes"}}"#
        );
        assert!(!headers.iter().any(|(k, v)| k == "connection" && v == "close"));
        // Same connection: the ping still works.
        let ping = br#"{"test":true}"#;
        write!(
            stream,
            "POST /daily-dialin-webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Webhook-Secret: {SECRET}\r\nContent-Length: {}\r\n\r\n",
            ping.len()
        )
        .unwrap();
        stream.write_all(ping).unwrap();
        let (status, _, text) = read_response(&mut reader);
        assert_eq!((status, text.as_str()), (200, r#"{"status":"OK"}"#));
        assert!(fake2.seen().is_empty());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn daily_failures_are_502() {
    let (fake, base) = FakeDaily::start().await;
    let server = start(&base, json!({}));
    fake.push(Mode::RoomsFail);
    let (status, _, text) = post(&server, Some(SECRET), &call()).await;
    assert_eq!((status, text.as_str()), (502, UPSTREAM));
    fake.push(Mode::TokenFail);
    let (status, _, text) = post(&server, Some(SECRET), &call()).await;
    assert_eq!((status, text.as_str()), (502, UPSTREAM));
    let paths: Vec<String> = fake.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/v1/rooms", "/v1/rooms", "/v1/meeting-tokens"]);
    // Nothing answers on this port at all.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = start(&format!("http://127.0.0.1:{dead}/v1"), json!({}));
    let (status, _, text) = post(&server, Some(SECRET), &call()).await;
    assert_eq!((status, text.as_str()), (502, UPSTREAM));
    assert!(!server.log().contains(DAILY_KEY));
}

#[tokio::test]
async fn daily_timeout_is_502_after_10_s() {
    let (fake, base) = FakeDaily::start().await;
    let server = start(&base, json!({}));
    fake.push(Mode::Hang);
    let started = std::time::Instant::now();
    let (status, _, text) = post(&server, Some(SECRET), &call()).await;
    let took = started.elapsed();
    assert_eq!((status, text.as_str()), (502, UPSTREAM));
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(20),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn success_creates_room_token_and_a_session() {
    let (fake, base) = FakeDaily::start().await;
    // One slot: the dial-in session holds it afterwards.
    let server = start(&base, json!({"max_sessions": 1}));
    let before = chrono::Utc::now().timestamp();
    let (status, body, text) = post(&server, Some(SECRET), &call()).await;
    let after = chrono::Utc::now().timestamp();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        body["dailyRoom"],
        "https://voxray-test.daily.co/w2pp2cf4kltgFACPKXmX"
    );
    assert_eq!(
        body["dailyToken"],
        "eyJhbGciOiJIUzI1NiJ9.test-owner-token.sig"
    );
    let id = body["sessionId"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    assert_eq!(body.as_object().unwrap().len(), 3);

    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    let (rooms, token) = (&seen[0], &seen[1]);
    for s in &seen {
        assert_eq!(s.method, Method::POST);
        assert_eq!(s.auth, format!("Bearer {DAILY_KEY}"));
        assert_eq!(s.content_type, "application/json");
    }
    assert_eq!(rooms.path, "/v1/rooms");
    let p = &rooms.body["properties"];
    let exp = p["exp"].as_i64().unwrap();
    assert!((before + 7200..=after + 7200).contains(&exp), "exp {exp}");
    assert_eq!(p["eject_at_room_exp"], true);
    assert_eq!(
        p["sip"],
        json!({"display_name": "+15551234567", "video": false, "sip_mode": "dial-in", "num_endpoints": 1})
    );
    assert_eq!(token.path, "/v1/meeting-tokens");
    assert_eq!(
        token.body,
        json!({"properties": {"room_name": "w2pp2cf4kltgFACPKXmX", "is_owner": true, "exp": exp}})
    );

    // The pending dial-in session holds the only admission slot.
    let res = reqwest::Client::new()
        .post(server.url("/start"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    // The owner token is a secret: not logged.
    assert!(!server.log().contains("test-owner-token"));
    let res = reqwest::Client::new()
        .post(server.url("/daily-dialin-webhook"))
        .header("X-Webhook-Secret", SECRET)
        .json(&call())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "no slot left for a second call");
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[test]
fn dialin_without_a_daily_key_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        json!({"runner_transport": "daily", "dialin": true, "port": 0}).to_string(),
    )
    .unwrap();
    let (code, _, stderr) = common::run_cli(
        &["serve", "--config", path.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("dialin: the Daily dial-in webhook needs a Daily API key"),
        "{stderr}"
    );
}
