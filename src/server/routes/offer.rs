//! WebRTC offer routes (`http.md` §9.2–9.3): `POST /webrtc/offer` (+v1), `POST|PATCH
//! /api/offer`, `POST|PATCH /sessions/{id}/api/offer`, `POST|PATCH /api/v1/sessions/{id}/offer`.
//!
//! This build validates requests in the spec's order (body limit, JSON, session lookup,
//! validation) and then answers 501 `not_implemented`: the WebRTC media engine is not part
//! of it yet.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value};

use crate::server::app::AppState;
use crate::server::error::ApiError;
use crate::server::limit::read_json;

/// The offer routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webrtc/offer", post(offer))
        .route("/api/v1/webrtc/offer", post(offer))
        .route("/api/offer", post(offer).patch(offer))
        .route(
            "/sessions/{id}/api/offer",
            post(session_offer).patch(session_offer),
        )
        .route(
            "/api/v1/sessions/{id}/offer",
            post(session_offer).patch(session_offer),
        )
}

/// Extract the SDP of the accepted offer shapes: Pipecat `{sdp,type}` or Voxray `{"offer":
/// "<JSON text>"}` / `sdp` holding that JSON text.
fn offer_sdp(body: &Map<String, Value>) -> Result<String, ApiError> {
    let nested = |text: &str| -> Option<(String, Option<String>)> {
        let v: Value = serde_json::from_str(text.trim()).ok()?;
        Some((
            v.get("sdp")?.as_str()?.to_string(),
            v.get("type").and_then(Value::as_str).map(String::from),
        ))
    };
    let (sdp, kind) = match (
        body.get("offer").and_then(Value::as_str),
        body.get("sdp").and_then(Value::as_str),
    ) {
        (Some(text), _) => nested(text).unwrap_or_default(),
        (None, Some(sdp)) if sdp.trim_start().starts_with('{') => nested(sdp).unwrap_or_default(),
        (None, Some(sdp)) => (
            sdp.to_string(),
            body.get("type").and_then(Value::as_str).map(String::from),
        ),
        (None, None) => (String::new(), None),
    };
    if sdp.trim().is_empty() {
        return Err(ApiError::validation().detail("sdp", "is required"));
    }
    if kind.as_deref().is_some_and(|k| k != "offer") {
        return Err(ApiError::validation().detail("type", "must be \"offer\""));
    }
    if !sdp.starts_with("v=0")
        || !sdp.contains("m=audio")
        || !sdp.to_ascii_lowercase().contains("opus/48000")
    {
        return Err(ApiError::validation().detail("sdp", "not a valid SDP offer"));
    }
    Ok(sdp)
}

async fn handle(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request = read_json(headers, body, state.config.max_request_body_bytes).await?;
    if method == Method::PATCH {
        if request.get("pc_id").is_none_or(|v| !v.is_string()) {
            return Err(ApiError::validation().detail("pc_id", "is required"));
        }
        if request.get("candidates").is_none_or(|v| !v.is_array()) {
            return Err(ApiError::validation().detail("candidates", "is required"));
        }
        return Err(ApiError::not_found("peer connection not found"));
    }
    if request.get("pc_id").and_then(Value::as_str).is_some() {
        return Err(ApiError::not_found("peer connection not found"));
    }
    offer_sdp(&request)?;
    Err(ApiError::not_implemented(
        "WebRTC media is not available in this build",
    ))
}

async fn offer(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(&state, &method, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn session_offer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request = match read_json(&headers, body, state.config.max_request_body_bytes).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    // No session can be bound to a peer connection in this build, so only a pending session
    // is ever found; it is left pending (offers cannot be served yet).
    let known = uuid::Uuid::parse_str(&id)
        .ok()
        .is_some_and(|id| state.sessions.has_pending(id));
    if !known {
        return ApiError::not_found("session not found").into_response();
    }
    let body = Body::from(serde_json::to_vec(&Value::Object(request)).expect("serialises"));
    handle(&state, &method, &HeaderMap::new(), body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}
