//! `POST /start` and `POST /api/v1/start` (`http.md` §9.1): create a pending session.
//!
//! Order: admission (503) → body limit (400) → JSON (400) → validation (422). The pending
//! session holds an admission slot until it is consumed or expires (`session_ttl_secs`).
//! With `"transport":"websocket"` the answer carries `wsUrl` and a one-time `token`.
//! The pending session goes to the configured [`crate::session::SessionStore`]; with Redis an
//! unreachable store is a 503 `session_store_unavailable`.

use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::envelope;
use crate::pipeline::agent::AgentKind;
use crate::server::app::{AppState, RequestId};
use crate::server::error::ApiError;
use crate::server::limit::read_json;
use crate::session::registry::unix_now;
use crate::session::token;
use crate::transport::webrtc::client_ice_servers;

/// Which session kind `/start` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Webrtc,
    Websocket,
}

async fn create(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Map<String, Value>, ApiError> {
    let slot = state.admit()?;
    let request = read_json(headers, body, state.config.max_request_body_bytes).await?;
    let transport = match request.get("transport") {
        None | Some(Value::Null)
            if request
                .get("createDailyRoom")
                .is_some_and(|v| v == &Value::Bool(true)) =>
        {
            None
        }
        None | Some(Value::Null) => Some(Transport::Webrtc),
        Some(Value::String(t)) if t == "webrtc" || t == "smallwebrtc" => Some(Transport::Webrtc),
        Some(Value::String(t)) if t == "websocket" => Some(Transport::Websocket),
        Some(_) => None,
    };
    let enabled = match transport {
        Some(Transport::Webrtc) => state.config.transport.webrtc(),
        Some(Transport::Websocket) => state.config.transport.websocket(),
        None => false,
    };
    let Some(transport) = transport.filter(|_| enabled) else {
        return Err(ApiError::validation().detail("transport", "unsupported transport"));
    };
    let default_ice = match request.get("enableDefaultIceServers") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(
                ApiError::validation().detail("enableDefaultIceServers", "must be a boolean")
            );
        }
    };

    // The pipeline the session will run may be chosen here (`body.pipeline`).
    let body = request.get("body").cloned().unwrap_or(Value::Null);
    if let Some(p) = body.get("pipeline") {
        let name = p.as_str().ok_or_else(|| {
            ApiError::validation().detail("body.pipeline", "must be echo, parrot or voice")
        })?;
        AgentKind::requested(Some(name), &state.config, &state.services)
            .map_err(|e| ApiError::validation().detail("body.pipeline", e.to_string()))?;
    }

    let id = uuid::Uuid::new_v4();
    let ttl = state.config.session_ttl_secs;
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(ttl as i64);
    let mut out = Map::new();
    out.insert("sessionId".into(), json!(id.to_string()));
    out.insert(
        "expiresAt".into(),
        json!(expires_at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    match transport {
        Transport::Webrtc => {
            let configured = &state.config.webrtc_ice_servers;
            if configured.as_array().is_some_and(|a| !a.is_empty()) {
                out.insert(
                    "iceConfig".into(),
                    json!({"iceServers": client_ice_servers(configured)}),
                );
            } else if default_ice {
                out.insert(
                    "iceConfig".into(),
                    json!({"iceServers": [{"urls": ["stun:stun.l.google.com:19302"]}]}),
                );
            }
        }
        Transport::Websocket => {
            let secrets = state.secrets();
            // With auth off the token is still issued (it binds the connection to this
            // session); it is then signed with a per-process random key.
            let signing = secrets
                .server_keys
                .first()
                .map(|r| r.value.expose().to_string())
                .unwrap_or_else(|| state.ephemeral_token_key());
            let exp = unix_now() + token::TOKEN_TTL_SECS.min(ttl);
            let t = token::issue(&signing, id, exp);
            let secure = state.tls
                || headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.eq_ignore_ascii_case("https"));
            let host = if state.config.proxy_host.is_empty() {
                headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost")
                    .to_string()
            } else {
                state.config.proxy_host.clone()
            };
            let scheme = if secure { "wss" } else { "ws" };
            out.insert(
                "wsUrl".into(),
                json!(format!("{scheme}://{host}/ws?token={t}")),
            );
            out.insert("token".into(), json!(t));
        }
    }
    state
        .store
        .put_pending(id, body, Duration::from_secs(ttl), slot)
        .await?;
    Ok(out)
}

/// `POST /start`: 200 with the bare Pipecat-shaped object.
pub async fn start_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match create(&state, &headers, body).await {
        Ok(out) => (StatusCode::OK, axum::Json(Value::Object(out))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/start`: 201 with the envelope.
pub async fn start_v1(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match create(&state, &headers, body).await {
        Ok(out) => (StatusCode::CREATED, envelope(Value::Object(out), &id)).into_response(),
        Err(e) => e.into_response(),
    }
}
