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
