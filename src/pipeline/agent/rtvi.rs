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

/// `bot-output` for one sentence as its audio starts playing (`wire.md` §1.6): the 1.x form
/// `{text, spoken:true, aggregated_by:"sentence"}` for a client that announced RTVI 1.x, else
/// `{text, output_type:"sentence", will_be_spoken:true, spoken_status:"completed"}`.
pub fn bot_output(text: &str, v1: bool) -> Value {
    let data = if v1 {
        json!({"text": text, "spoken": true, "aggregated_by": "sentence"})
    } else {
        json!({"text": text, "output_type": "sentence", "will_be_spoken": true, "spoken_status": "completed"})
    };
    message("bot-output", None, data)
}

/// The per-turn `metrics` event (`wire.md` §1.6, `pipeline.md` §9):
/// `{ttfb:[{processor, model?, value}], processing:[{processor, value}]}`, values in seconds.
pub fn metrics(ttfb: &[(&str, Option<&str>, f64)], processing: &[(&str, f64)]) -> Value {
    let entry = |processor: &str, model: Option<&str>, value: f64| {
        let mut e = json!({"processor": processor, "value": value});
        if let Some(m) = model.filter(|m| !m.is_empty()) {
            e["model"] = json!(m);
        }
        e
    };
    message(
        "metrics",
        None,
        json!({
            "ttfb": ttfb.iter().map(|(p, m, v)| entry(p, *m, *v)).collect::<Vec<_>>(),
            "processing": processing.iter().map(|(p, v)| entry(p, None, *v)).collect::<Vec<_>>(),
        }),
    )
}

/// `bot-interruption-resumed`: a barge-in heard no words within
/// `false_interruption_timeout_secs`, so the bot resumes the unheard rest of its reply
/// (`data.text`). A voxray event (not in Pipecat's RTVI set).
pub fn interruption_resumed(text: &str) -> Value {
    message("bot-interruption-resumed", None, json!({"text": text}))
}

/// Whether an RTVI `client-ready` announces a 1.x client.
pub fn is_v1_client(request: &Value) -> bool {
    request["data"]["version"]
        .as_str()
        .is_some_and(|v| v.starts_with("1."))
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
