//! Secrets never reach the logs: a server with a server key and provider keys, exercised with
//! auth failures and errors at trace level, logs none of the key values.

mod common;

use common::Server;
use serde_json::json;

const SERVER_KEY: &str = "vxr_Secr3tServerKeyValue0123456789abcd1ggZdL";
const ROTATION_KEY: &str = "second-server-key-Hk29dLq0Wm4Rr7Tt";
const OPENAI: &str = "sk-proj-TestOnlyFakeOpenAIKeyValue_abcdefghijklmnopqrstuvwxyz0123";
const DEEPGRAM: &str = "0123456789abcdef0123456789abcdef01234567";

#[tokio::test]
async fn no_key_value_in_trace_logs() {
    let server = Server::start(
        json!({"server_api_keys": [ROTATION_KEY], "api_keys": {"openai": "${OPENAI_FROM_ENV}"}, "log_level": "trace"}),
        &[
            ("VOXRAY_SERVER_API_KEY", SERVER_KEY),
            ("OPENAI_FROM_ENV", OPENAI),
            ("DEEPGRAM_API_KEY", DEEPGRAM),
            ("VOXRAY_API_KEYS__DEEPGRAM", DEEPGRAM),
        ],
    );
    let client = reqwest::Client::new();
    // Wrong keys, partial keys, keys in the wrong place, errors of every kind.
    let half = &SERVER_KEY[..20];
    client
        .post(server.url("/start"))
        .bearer_auth(half)
        .send()
        .await
        .unwrap();
    client
        .post(server.url("/start"))
        .header("X-API-Key", OPENAI)
        .send()
        .await
        .unwrap();
    client
        .post(server.url(&format!("/start?api_key={SERVER_KEY}")))
        .send()
        .await
        .unwrap();
    client
        .post(server.url("/start"))
        .bearer_auth(SERVER_KEY)
        .header("content-type", "application/json")
        .body("{bad json")
        .send()
        .await
        .unwrap();
    client
        .post(server.url("/start"))
        .header("X-API-Key", ROTATION_KEY)
        .json(&json!({"transport": "x"}))
        .send()
        .await
        .unwrap();
    let start: serde_json::Value = client
        .post(server.url("/start"))
        .bearer_auth(SERVER_KEY)
        .json(&json!({"transport": "websocket"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = start["token"].as_str().unwrap();
    let (ws, _) = tokio_tungstenite::connect_async(start["wsUrl"].as_str().unwrap())
        .await
        .unwrap();
    drop(ws);
    let _ =
        tokio_tungstenite::connect_async(server.ws_url(&format!("/ws?token={SERVER_KEY}"))).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let log = server.log();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace level is on"
    );
    assert!(log.contains("missing or invalid API key"));
    for secret in [SERVER_KEY, ROTATION_KEY, OPENAI, DEEPGRAM, half, token] {
        assert!(
            !log.contains(secret),
            "secret leaked into the log: {}",
            &secret[..8]
        );
    }
}
