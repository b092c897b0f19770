//! RTVI request handling shared by every agent (`wire.md` §1.6): `client-ready` → `bot-ready`,
//! unsupported types → `error-response`.

use serde_json::{Value, json};

/// The RTVI protocol version voxray speaks.
pub const RTVI_VERSION: &str = "2.2.0";

/// An RTVI message `{"label":"rtvi-ai","type":<kind>,"data":<data>}` with an optional `id`.
pub fn message(kind: &str, id: Option<&Value>, data: Value) -> Value {
    let mut m = json!({"label": "rtvi-ai", "type": kind, "data": data});
    if let Some(id) = id {
        m["id"] = id.clone();
    }
    m
}

/// The reply to `client-ready`: `bot-ready` with the same `id`. A 1.x client gets its own
/// version echoed; everyone else gets [`RTVI_VERSION`].
pub fn bot_ready(request: &Value) -> Value {
    let client_version = request["data"]["version"].as_str().unwrap_or("");
    let version = if client_version.starts_with("1.") {
        client_version
    } else {
        RTVI_VERSION
    };
    message(
        "bot-ready",
        request.get("id"),
        json!({"version": version, "about": {"library": "voxray", "library_version": env!("CARGO_PKG_VERSION")}}),
    )
}

/// `error-response` for a request that failed, echoing its `id`.
pub fn error_response(request: &Value, error: &str) -> Value {
    message("error-response", request.get("id"), json!({"error": error}))
}

/// A non-fatal or fatal `error` event.
pub fn error_event(error: &str, fatal: bool) -> Value {
    message("error", None, json!({"error": error, "fatal": fatal}))
}

/// What every agent answers to an RTVI request it does not handle itself (`wire.md` §1.6):
/// `client-ready` → `bot-ready`; `send-text` → the typed text as a user text frame (with its
/// options); `dtmf` → one `InputDtmf` per button; anything else → `error-response`.
pub fn request_frames(msg: &Value) -> Vec<crate::pipeline::Frame> {
    use crate::pipeline::Frame;
    match msg["type"].as_str().unwrap_or("") {
        "client-ready" => vec![Frame::UrgentMessage(bot_ready(msg))],
        "send-text" => match msg["data"]["content"].as_str() {
            Some(text) => {
                let options = &msg["data"]["options"];
                vec![Frame::UserText {
                    text: text.to_string(),
                    run_immediately: options["run_immediately"].as_bool().unwrap_or(true),
                    audio_response: options["audio_response"].as_bool().unwrap_or(true),
                }]
            }
            None => vec![Frame::UrgentMessage(error_response(
                msg,
                "send-text needs data.content",
            ))],
        },
        "dtmf" => msg["data"]["buttons"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|v| v.as_str()?.chars().next())
                    .filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
                    .take(32)
                    .map(|digit| Frame::InputDtmf { digit })
                    .collect()
            })
            .unwrap_or_default(),
        other => vec![Frame::UrgentMessage(error_response(
            msg,
            &format!(
                "unsupported message type: {}",
                other.chars().take(64).collect::<String>()
            ),
        ))],
    }
}
