//! The telephony routes (`wire.md` §3, `http.md` §11); the server API key is used on neither
//! (carriers cannot send one).
//!
//! - `POST /`, the carrier's voice webhook. Order: body limit (400) → form parameters →
//!   Twilio signature when `twilio_auth_token` is set (401) → the carrier's answer pointing
//!   at `<wss|ws>://<proxy_host or Host>/telephony/ws`.
//! - `GET /telephony/ws`, the call's media stream. Order: Origin (403) → Twilio signature
//!   over the `wss://` URL when `twilio_auth_token` is set (401) → a real upgrade (426) →
//!   admission (503); then [`crate::transport::telephony::run`] with the configured agent.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::pipeline::agent::{self, AgentKind};
use crate::server::app::{AppState, client_addr};
use crate::server::cors;
use crate::server::error::ApiError;
use crate::server::limit::read_limited;
use crate::telephony::hangup::{HangupClient, HangupSettings};
use crate::telephony::public::PublicOrigin;
use crate::telephony::webhook::{STREAM_PATH, answer};
use crate::telephony::{Carrier, signature};
use crate::transport::telephony::{self as call, CallSettings, PIPELINE_RATE};

/// Form parameters of an `application/x-www-form-urlencoded` body (any other body: none).
fn form_params(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Vec::new();
    }
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The webhook handler.
pub async fn webhook(State(state): State<AppState>, req: Request) -> Response {
    let client = client_addr(&req);
    let (parts, body) = req.into_parts();
    let (uri, headers) = (parts.uri, parts.headers);
    let Some(carrier) = Carrier::from_runner_transport(&state.config.runner_transport) else {
        return ApiError::not_found("not found").into_response();
    };
    let bytes = match read_limited(&headers, body, state.config.max_request_body_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let form = form_params(&headers, &bytes);
    let origin = PublicOrigin::from_request(&headers, &uri, state.tls, &state.config.proxy_host);
    if carrier == Carrier::Twilio
        && let Some(token) = state.secrets().twilio_auth_token.as_ref()
    {
        let valid = signature::verify_request(
            token.value.expose(),
            &headers,
            &uri,
            state.tls,
            &state.config.proxy_host,
            false,
            &form,
        );
        if !valid {
            state
                .metrics
                .auth_failures
                .with_label_values(&["telephony_webhook"])
                .inc();
            tracing::warn!(route = "telephony_webhook", client = %client, "rejected carrier webhook: missing or invalid X-Twilio-Signature");
            return ApiError::unauthorized().into_response();
        }
    }
    let a = answer(carrier, &origin.ws_url(STREAM_PATH), &form);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, a.content_type)],
        a.body,
    )
        .into_response()
}

/// Read buffer of a carrier socket, bytes.
const READ_BUFFER: usize = 4096;

/// The `/telephony/ws` upgrade handler.
pub async fn media(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(carrier) = Carrier::from_runner_transport(&state.config.runner_transport) else {
        return ApiError::not_found("not found").into_response();
    };
    if !cors::ws_origin_allowed(&headers, &state.config.cors_allowed_origins) {
        tracing::warn!(%client, "telephony upgrade refused: origin not allowed");
        return ApiError::forbidden_origin().into_response();
    }
    let secrets = state.secrets();
    if carrier == Carrier::Twilio
        && let Some(token) = secrets.twilio_auth_token.as_ref()
        && !signature::verify_request(
            token.value.expose(),
            &headers,
            &uri,
            state.tls,
            &state.config.proxy_host,
            true,
            &[],
        )
    {
        state
            .metrics
            .auth_failures
            .with_label_values(&["telephony_ws"])
            .inc();
        tracing::warn!(route = "telephony_ws", %client, "rejected telephony upgrade: missing or invalid X-Twilio-Signature");
        return ApiError::unauthorized().into_response();
    }
    let Ok(ws) = ws else {
        return ApiError::upgrade_required().into_response();
    };
    let slot = match state.admit() {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let cfg = state.config.clone();
    let hangup = match HangupClient::new(HangupSettings::from_config(&cfg, &secrets)) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "telephony: no REST client; calls will not be hung up");
            None
        }
    };
    let settings = CallSettings {
        carrier,
        idle_timeout: (cfg.ws_idle_timeout_secs > 0)
            .then(|| Duration::from_secs(cfg.ws_idle_timeout_secs)),
        max_duration: (cfg.rtc_max_duration_secs > 0.0)
            .then(|| Duration::from_secs_f64(cfg.rtc_max_duration_secs)),
        hangup,
    };
    let metrics = state.metrics.clone();
    let services = state.services.clone();
    let close = state.sessions.close_signal();
    let limit = cfg.ws_max_message_bytes as usize;
    // Carrier messages are small (a 20 ms media message is ~300 bytes): a small read buffer
    // saves tungstenite zeroing its 128 KiB default on every read (most of the per-call CPU).
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| {
            call::run(socket, settings, metrics, close, slot, move |wire_rate| {
                // The configured agent at the pipeline rate, answering at the call's rate in
                // 20 ms messages (echo included).
                let mut agent = agent::build(
                    AgentKind::configured(&cfg, &services),
                    &cfg,
                    &services,
                    "telephony",
                    PIPELINE_RATE,
                    Some(wire_rate),
                )?;
                agent.output.rechunk = true;
                Ok(agent)
            })
        })
        .into_response()
}
