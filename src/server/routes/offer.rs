//! WebRTC offer routes (`http.md` §9.2–9.3, `wire.md` §2.1–2.2): `POST /webrtc/offer`
//! (+v1), `POST|PATCH /api/offer`, `POST|PATCH /sessions/{id}/api/offer`,
//! `POST|PATCH /api/v1/sessions/{id}/offer`.
//!
//! Order (`http.md` §3), after the gate's auth: admission 503 (only where a new slot is
//! needed: an offer without a known `pc_id` on the non-session paths; a `/start` session
//! brings its own slot) → body limit 400 → JSON 400 → session lookup 404 → validation 422 →
//! the peer connection. A `/start` session is consumed by its first successful offer and is
//! then bound to that offer's `pc_id`: afterwards only requests carrying that `pc_id` find it
//! (PATCH, renegotiation, `restart_pc`); anything else is 404 `session not found`.
//!
//! Answer shapes: the Pipecat paths (`/api/offer`, `/sessions/{id}/api/offer`) answer the bare
//! `{"sdp","type":"answer","pc_id"}`; `/api/v1/sessions/{id}/offer` wraps it in the
//! `{"data":…,"meta":…}` envelope; `/webrtc/offer` (+v1) adds `answer`, the JSON text
//! `{"type":"answer","sdp":…}` for clients written against the Go Voxray. PATCH answers
//! 200 `{"status":"success"}` on the legacy paths and 204 on the v1 path.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use super::envelope;
use crate::pipeline::agent::AgentKind;
use crate::server::app::{AppState, RequestId};
use crate::server::error::ApiError;
use crate::server::limit::read_json;
use crate::transport::webrtc::{Answer, Candidate, PeerManager, RtcError};

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

/// Which answer shape a path uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `/api/offer`, `/sessions/{id}/api/offer`: bare Pipecat objects.
    Pipecat,
    /// `/api/v1/sessions/{id}/offer`: envelope; PATCH 204.
    V1,
    /// `/webrtc/offer`, `/api/v1/webrtc/offer`: envelope with the Go Voxray `answer` text.
    Go,
}

impl Shape {
    fn of(uri: &Uri) -> Self {
        let path = uri.path();
        if path.ends_with("/webrtc/offer") {
            Self::Go
        } else if path.starts_with("/api/v1/") {
            Self::V1
        } else {
            Self::Pipecat
        }
    }

    fn answer(self, answer: &Answer, id: &RequestId) -> Response {
        let mut data = json!({"sdp": answer.sdp, "type": "answer", "pc_id": answer.pc_id});
        match self {
            Self::Pipecat => Json(data).into_response(),
            Self::V1 => envelope(data, id).into_response(),
            Self::Go => {
                data["answer"] = json!(json!({"type": "answer", "sdp": answer.sdp}).to_string());
                envelope(data, id).into_response()
            }
        }
    }

    fn patched(self) -> Response {
        match self {
            Self::V1 => StatusCode::NO_CONTENT.into_response(),
            _ => Json(json!({"status": "success"})).into_response(),
        }
    }
}

fn rtc_error(e: RtcError) -> ApiError {
    match e {
        RtcError::UnknownPc => ApiError::not_found("peer connection not found"),
        RtcError::NoUdpPort => ApiError::too_many_sessions(),
        RtcError::TooManyCandidates { max } => ApiError::validation().detail(
            "candidates",
            format!("too many ICE candidates: at most {max} per peer connection"),
        ),
        RtcError::Invalid { field, message } => {
            tracing::debug!(field, error = %message, "webrtc rejected the request");
            let text = if field == "sdp" {
                "not a valid SDP offer"
            } else {
                "invalid ICE candidate"
            };
            ApiError::validation().detail(field, text)
        }
        RtcError::Internal(message) => {
            tracing::error!(error = %message, "webrtc peer connection failed");
            ApiError::internal()
        }
    }
}

/// The PATCH body `{pc_id, candidates:[{candidate, sdp_mid, sdp_mline_index}]}`.
fn trickle(request: &Map<String, Value>) -> Result<(String, Vec<Candidate>), ApiError> {
    let pc_id = request.get("pc_id").and_then(Value::as_str);
    let list = request.get("candidates").and_then(Value::as_array);
    let mut err = ApiError::validation();
    if pc_id.is_none() {
        err = err.detail("pc_id", "is required");
    }
    if list.is_none() {
        err = err.detail("candidates", "is required");
    }
    let (Some(pc_id), Some(list)) = (pc_id, list) else {
        return Err(err);
    };
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let Some(candidate) = c.get("candidate").and_then(Value::as_str) else {
            return Err(
                ApiError::validation().detail("candidates", "each needs a candidate string")
            );
        };
        let mid = c.get("sdp_mid").or_else(|| c.get("sdpMid"));
        let index = c.get("sdp_mline_index").or_else(|| c.get("sdpMLineIndex"));
        out.push(Candidate {
            candidate: candidate.to_string(),
            sdp_mid: mid.and_then(Value::as_str).map(String::from),
            sdp_mline_index: index
                .and_then(Value::as_u64)
                .and_then(|i| u16::try_from(i).ok()),
        });
    }
    Ok((pc_id.to_string(), out))
}

/// The agent an offer asks for (`pipeline` in the offer body, or in the `/start` body of its
/// session); the configured one when absent.
fn requested_agent(state: &AppState, value: Option<&Value>) -> Result<AgentKind, ApiError> {
    let name = match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(ApiError::validation().detail("pipeline", "must be a string")),
    };
    AgentKind::requested(name, &state.config, &state.services)
        .map_err(|e| ApiError::validation().detail("pipeline", e.to_string()))
}

fn manager(state: &AppState) -> Result<&PeerManager, ApiError> {
    state
        .webrtc
        .as_ref()
        .ok_or_else(|| ApiError::not_found("not found"))
}

/// Answer an offer on a live peer connection: renegotiate it, or with `restart_pc` replace it.
async fn on_known_pc(
    manager: &PeerManager,
    pc_id: &str,
    request: &Map<String, Value>,
) -> Result<Answer, ApiError> {
    let sdp = offer_sdp(request)?;
    let restart = request.get("restart_pc").and_then(Value::as_bool) == Some(true);
    let answer = if restart {
        manager.restart(pc_id, sdp).await
    } else {
        manager.renegotiate(pc_id, sdp).await
    };
    answer.map_err(rtc_error)
}

/// PATCH: validate the trickle body and hand its candidates to the peer connection.
async fn add_candidates(
    manager: &PeerManager,
    request: &Map<String, Value>,
    shape: Shape,
) -> Result<Response, ApiError> {
    let (pc_id, candidates) = trickle(request)?;
    manager
        .add_candidates(&pc_id, candidates)
        .await
        .map_err(rtc_error)?;
    Ok(shape.patched())
}

async fn handle(
    state: &AppState,
    method: &Method,
    shape: Shape,
    id: &RequestId,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let manager = manager(state)?;
    if method == Method::PATCH {
        let request = read_json(headers, body, state.config.max_request_body_bytes).await?;
        return add_candidates(manager, &request, shape).await;
    }
    // Admission comes first (http.md §3), but renegotiating a known pc_id needs no slot, so a
    // refusal only stands once the body shows that this offer needs one.
    let slot = state.admit();
    let request = match read_json(headers, body, state.config.max_request_body_bytes).await {
        Ok(r) => r,
        Err(e) => return Err(slot.err().unwrap_or(e)),
    };
    let pc_id = request.get("pc_id").and_then(Value::as_str);
    if let Some(pc_id) = pc_id.filter(|p| manager.has_pc(p)) {
        drop(slot);
        let answer = on_known_pc(manager, pc_id, &request).await?;
        return Ok(shape.answer(&answer, id));
    }
    let slot = slot?;
    if pc_id.is_some() {
        return Err(ApiError::not_found("peer connection not found"));
    }
    let sdp = offer_sdp(&request)?;
    let agent = requested_agent(state, request.get("pipeline"))?;
    let answer = manager
        .create(sdp, slot, None, agent)
        .await
        .map_err(rtc_error)?;
    Ok(shape.answer(&answer, id))
}

async fn offer(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(&state, &method, Shape::of(&uri), &id, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle_session(
    state: &AppState,
    session: &str,
    method: &Method,
    shape: Shape,
    id: &RequestId,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let manager = manager(state)?;
    let request = read_json(headers, body, state.config.max_request_body_bytes).await?;
    let gone = || ApiError::not_found("session not found");
    let session = uuid::Uuid::parse_str(session).map_err(|_| gone())?;
    let pc_id = request.get("pc_id").and_then(Value::as_str);
    match (manager.bound_pc(session), pc_id) {
        // Bound to a peer connection: only requests carrying its pc_id find the session.
        (Some(bound), Some(pc_id)) if bound == pc_id => {
            if method == Method::PATCH {
                return add_candidates(manager, &request, shape).await;
            }
            let answer = on_known_pc(manager, pc_id, &request).await?;
            Ok(shape.answer(&answer, id))
        }
        (Some(_), _) => Err(gone()),
        // Another instance holds the peer connection (shared store): 409 naming it.
        (None, Some(_)) => match state.store.other_owner(session).await {
            Some(owner) => Err(ApiError::wrong_instance(owner)),
            None => Err(gone()),
        },
        (None, None) => {
            if !state.store.has_pending(session).await? {
                return Err(gone());
            }
            if method == Method::PATCH {
                trickle(&request)?;
                return Err(gone());
            }
            let sdp = offer_sdp(&request)?;
            // Single use: one winner among concurrent offers (on every instance). With a
            // shared store this instance admits its own slot first.
            let slot = if state.store.is_shared() {
                Some(state.admit()?)
            } else {
                None
            };
            let pending = state
                .store
                .take_pending(session, slot)
                .await?
                .ok_or_else(gone)?;
            let agent = requested_agent(state, pending.body.get("pipeline"))?;
            let answer = manager
                .create(sdp, pending.slot, Some(session), agent)
                .await
                .map_err(rtc_error)?;
            state.store.set_owner(session, &answer.pc_id).await;
            Ok(shape.answer(&answer, id))
        }
    }
}

async fn session_offer(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    Path(session): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle_session(
        &state,
        &session,
        &method,
        Shape::of(&uri),
        &id,
        &headers,
        body,
    )
    .await
    .unwrap_or_else(IntoResponse::into_response)
}
