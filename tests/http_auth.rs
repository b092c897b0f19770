//! API-key authentication over real TCP (`http.md` §4): every protected route × {no key,
//! wrong key, Bearer, X-API-Key}; unprotected routes stay open with a key set.

mod common;

use common::Server;
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

const KEY: &str = "vxr_kT9mQ2xW7pL4nR8vB3cY6zH1jF5dS0aG3hBfQw";
const SECOND: &str = "rotation-key-Jq84Lm2Pz7Xc5Vb1Nk9";
const UNAUTHORIZED: &str = r#"{"error":{"code":"unauthorized","message":"Unauthorized"}}"#;

/// (method, path, status expected once authorised with an empty JSON object body).
fn protected(session: &str) -> Vec<(Method, String, StatusCode)> {
    vec![
        (Method::POST, "/start".into(), StatusCode::OK),
        (Method::POST, "/api/v1/start".into(), StatusCode::CREATED),
        (
            Method::POST,
            "/webrtc/offer".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v1/webrtc/offer".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/offer".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PATCH,
            "/api/offer".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/sessions/{session}/api/offer"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PATCH,
            format!("/sessions/{session}/api/offer"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/offer"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{session}/offer"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // Authorised but not an upgrade request.
        (Method::GET, "/ws".into(), StatusCode::UPGRADE_REQUIRED),
    ]
}

async fn pending_session(server: &Server, client: &Client) -> String {
    let res = client
        .post(server.url("/start"))
        .bearer_auth(KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<serde_json::Value>().await.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_protected_route_needs_a_key() {
    let server = Server::start(
        json!({"server_api_key": KEY, "server_api_keys": [SECOND]}),
        &[],
    );
    let client = Client::new();
    let session = pending_session(&server, &client).await;
    for (method, path, ok_status) in protected(&session) {
        let req = || {
            client
                .request(method.clone(), server.url(&path))
                .header("content-type", "application/json")
                .body("{}")
        };
        for (label, builder) in [
            ("no key", req()),
            ("wrong bearer", req().bearer_auth("wrong-key-0000000000000")),
            ("wrong x-api-key", req().header("X-API-Key", "vxr_wrong")),
            (
                "query key",
                client
                    .request(method.clone(), server.url(&format!("{path}?api_key={KEY}")))
                    .header("content-type", "application/json")
                    .body("{}"),
            ),
        ] {
            let res = builder.send().await.unwrap();
            assert_eq!(res.status(), 401, "{method} {path} with {label}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
            assert_eq!(res.headers()["cache-control"], "no-store");
            assert_eq!(
                res.text().await.unwrap(),
                UNAUTHORIZED,
                "{method} {path} with {label}"
            );
        }
        for (label, builder) in [
            ("bearer", req().bearer_auth(KEY)),
            ("x-api-key", req().header("X-API-Key", KEY)),
            ("second key", req().header("X-API-Key", SECOND)),
            (
                "wrong x-api-key + good bearer",
                req().header("X-API-Key", "nope").bearer_auth(KEY),
            ),
            (
                "lower-case scheme",
                req().header("Authorization", format!("bearer   {KEY}  ")),
            ),
        ] {
            let res = builder.send().await.unwrap();
            assert_eq!(res.status(), ok_status, "{method} {path} with {label}");
        }
    }
    let failures = server
        .metric("voxray_auth_failures_total{route=\"start\"}")
        .await
        .unwrap();
    assert_eq!(failures, 8.0);
    // The key is never in the log, only the fact of the failure.
    let log = server.log();
    assert!(log.contains("missing or invalid API key"));
    assert!(!log.contains(KEY) && !log.contains(SECOND));
}

#[tokio::test]
async fn unprotected_routes_stay_open_with_a_key_set() {
    let server = Server::start(json!({"server_api_key": KEY}), &[]);
    let client = Client::new();
    for path in [
        "/health",
        "/api/v1/health",
        "/ready",
        "/api/v1/ready",
        "/metrics",
        "/openapi.json",
        "/swagger/",
        "/",
    ] {
        let res = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers().contains_key("x-request-id"));
    }
    let res = client.head(server.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Preflight to a protected route without a key is answered before auth.
    let res = client
        .request(Method::OPTIONS, server.url("/start"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn auth_is_off_without_keys_and_envelopes_hold() {
    let server = Server::start(json!({}), &[]);
    let client = Client::new();
    let res = client.post(server.url("/start")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    uuid::Uuid::parse_str(body["sessionId"].as_str().unwrap()).unwrap();
    assert!(server.log().contains("API key authentication is disabled"));

    // 404 / 405 / 400 / 422 envelopes, and the request id echo rule.
    let res = client
        .get(server.url("/start/"))
        .header("X-Request-Id", "abc.DEF:12-_")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-request-id"], "abc.DEF:12-_");
    assert_eq!(
        res.text().await.unwrap(),
        r#"{"error":{"code":"not_found","message":"not found"}}"#
    );
    let res = client
        .get(server.url("/start"))
        .header("X-Request-Id", "bad id!")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST, OPTIONS");
    assert_ne!(res.headers()["x-request-id"], "bad id!");
    let res = client
        .post(server.url("/start"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(body["error"]["details"][0]["field"], "body");
    let res = client
        .post(server.url("/start"))
        .header("content-type", "application/json")
        .body("[1]")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"]["message"],
        "request body must be a JSON object"
    );
    let res = client
        .post(server.url("/api/v1/start"))
        .json(&json!({"transport": "carrier-pigeon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.text().await.unwrap(),
        r#"{"error":{"code":"validation_error","message":"request validation failed","details":[{"field":"transport","message":"unsupported transport"}]}}"#
    );
    let res = client
        .post(server.url(&format!("/sessions/{}/api/offer", uuid::Uuid::new_v4())))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"]["message"],
        "session not found"
    );
    let res = client.get(server.url("/swagger")).send().await;
    assert!(res.is_ok());
}

#[tokio::test]
async fn start_v1_websocket_answer_shape() {
    let server = Server::start(json!({"server_api_key": KEY}), &[]);
    let res = Client::new()
        .post(server.url("/api/v1/start"))
        .bearer_auth(KEY)
        .header("X-Forwarded-Proto", "https")
        .json(&json!({"transport": "websocket"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    let data = &body["data"];
    let token = data["token"].as_str().unwrap();
    assert!(token.starts_with("vxw1."));
    assert_eq!(
        data["wsUrl"],
        format!("wss://127.0.0.1:{}/ws?token={token}", server.port)
    );
    assert!(data["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert!(body["meta"]["requestId"].is_string());
}

/// Issue 10 item 2: configured keys are trimmed the way presented keys are, so a key file or
/// variable with a trailing newline still authenticates.
#[tokio::test]
async fn configured_key_with_trailing_newline_matches() {
    let with_newline = format!("{KEY}\n");
    let server = Server::start(
        json!({"server_api_keys": [format!(" {SECOND}\t")]}),
        &[("VOXRAY_SERVER_API_KEY", with_newline.as_str())],
    );
    let client = Client::new();
    for key in [KEY, SECOND] {
        let res = client
            .post(server.url("/start"))
            .bearer_auth(key)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "trimmed configured key matches");
    }
    let res = client
        .post(server.url("/start"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
