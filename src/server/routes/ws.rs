//! `GET /ws` (`http.md` §4.3, §5; `wire.md` §1.1–1.2).
//!
//! Checks before the upgrade, in order: Origin (403), API key or one-time token (401),
//! a real upgrade (426), admission (503; a token reuses its pending session's slot), query
//! parameters (422). Token values are never logged.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::pipeline::agent::{self, Agent, AgentKind};
use crate::server::app::AppState;
use crate::server::error::ApiError;
use crate::server::{auth, cors};
use crate::session::registry::unix_now;
use crate::session::{Slot, token};
use crate::transport::serializer::WireFormat;
use crate::transport::websocket::{self, WsParams};

fn parse_rate(query: &HashMap<String, String>, name: &str) -> Result<Option<u32>, ApiError> {
    match query.get(name) {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(r) if crate::audio::CLIENT_SAMPLE_RATES.contains(&r) => Ok(Some(r)),
            _ => Err(ApiError::validation().detail(name, "must be an integer from 8000 to 48000")),
        },
    }
}

fn parse_params(
    state: &AppState,
    query: &HashMap<String, String>,
    pending_body: Option<&serde_json::Value>,
) -> Result<(WsParams, Agent), ApiError> {
    let format = match query.get("format").map(String::as_str) {
        Some("protobuf") => WireFormat::Protobuf,
        Some("json") => WireFormat::Json,
        Some("raw") => WireFormat::Raw,
        Some(_) => {
            return Err(ApiError::validation().detail("format", "must be protobuf, json or raw"));
        }
        None if query.get("rtvi").is_some_and(|v| !v.is_empty()) => WireFormat::Json,
        None => WireFormat::Protobuf,
    };
    // The client's choice: `?pipeline=`, else the `/start` body's `pipeline`, else the config.
    let requested = query
        .get("pipeline")
        .map(String::as_str)
        .or_else(|| pending_body.and_then(|b| b["pipeline"].as_str()));
    let kind = AgentKind::requested(requested, &state.config, &state.services)
        .map_err(|e| ApiError::validation().detail("pipeline", e.to_string()))?;
    let sample_rate = parse_rate(query, "sample_rate")?.unwrap_or(16_000);
    let cfg = &state.config;
    let params = WsParams {
        format,
        sample_rate,
        out_sample_rate: parse_rate(query, "out_sample_rate")?,
        idle_timeout: (cfg.ws_idle_timeout_secs > 0)
            .then(|| Duration::from_secs(cfg.ws_idle_timeout_secs)),
        max_duration: (cfg.rtc_max_duration_secs > 0.0)
            .then(|| Duration::from_secs_f64(cfg.rtc_max_duration_secs)),
    };
    let agent = agent::build(
        kind,
        cfg,
        &state.services,
        "websocket",
        sample_rate,
        params.out_sample_rate,
    )
    .map_err(|e| {
        tracing::error!(error = %e, "websocket session could not build its pipeline");
        ApiError::internal()
    })?;
    Ok((params, agent))
}

/// The upgrade handler.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match prepare(&state, client, &headers, &query, ws).await {
        Ok((ws, (params, agent), slot)) => {
            let metrics = state.metrics.clone();
            let close = state.sessions.close_signal();
            let limit = state.config.ws_max_message_bytes as usize;
            ws.max_message_size(limit)
                .max_frame_size(limit)
                .read_buffer_size(websocket::READ_BUFFER_BYTES)
                .write_buffer_size(websocket::WRITE_BUFFER_BYTES)
                .on_upgrade(move |socket| {
                    websocket::run(socket, params, metrics, close, slot, agent)
                })
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn prepare(
    state: &AppState,
    client: std::net::SocketAddr,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<(WebSocketUpgrade, (WsParams, Agent), Slot), ApiError> {
    if !cors::ws_origin_allowed(headers, &state.config.cors_allowed_origins) {
        tracing::warn!(%client, "websocket upgrade refused: origin not allowed");
        return Err(ApiError::forbidden_origin());
    }
    let secrets = state.secrets();
    let keys: Vec<_> = secrets
        .server_keys
        .iter()
        .map(|r| r.value.clone())
        .collect();
    let auth_on = !keys.is_empty();
    let header_ok = auth_on && auth::authorized(headers, keys.iter());
    let mut pending_slot = None;
    let mut pending_body = None;
    if let Some(t) = query.get("token").filter(|_| !header_ok) {
        let ephemeral = crate::config::Secret::new(state.ephemeral_token_key());
        let verify_keys: Vec<&crate::config::Secret> = if auth_on {
            keys.iter().collect()
        } else {
            vec![&ephemeral]
        };
        let redeemed = match token::verify(verify_keys, t, unix_now()) {
            // With a shared store the connection's slot is taken here, before the session is
            // consumed: a full instance refuses without destroying the session.
            Some(c) if state.store.is_shared() => {
                let slot = state.admit()?;
                state.store.redeem_token(&c, Some(slot)).await?
            }
            Some(c) => state.store.redeem_token(&c, None).await?,
            None => None,
        };
        match redeemed {
            Some(pending) => {
                pending_slot = Some(pending.slot);
                pending_body = Some(pending.body);
            }
            None if auth_on => return Err(reject(state, client)),
            None => {}
        }
    } else if auth_on && !header_ok {
        return Err(reject(state, client));
    }
    let ws = ws.map_err(|_| ApiError::upgrade_required())?;
    let slot = match pending_slot {
        Some(s) => s,
        None => state.admit()?,
    };
    let params = parse_params(state, query, pending_body.as_ref())?;
    Ok((ws, params, slot))
}

fn reject(state: &AppState, client: std::net::SocketAddr) -> ApiError {
    state.metrics.auth_failures.with_label_values(&["ws"]).inc();
    tracing::warn!(
        route = "ws",
        %client,
        "rejected websocket upgrade: missing or invalid API key or token"
    );
    ApiError::unauthorized()
}
