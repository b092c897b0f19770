//! `POST /daily-dialin-webhook` (`http.md` §10): Daily's dial-in webhook.
//!
//! Order: `X-Webhook-Secret` when `daily_dialin_webhook_secret` is set (SHA-256 digests
//! compared in constant time; 401) → admission (503) → body limit (400) → JSON (400) →
//! verification ping (200 `{"status":"OK"}`) → required fields (422, one detail each) → room
//! and token through the Daily REST API (502 `upstream_error` on failure or after 10 s) →
//! a pending session holding the call data `{call_id, call_domain, From, To, sip_headers}`
//! (`PendingSession::body`) → 200 `{"dailyRoom","dailyToken","sessionId"}`.
//! Not API-key protected: Daily cannot send one.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::server::app::{AppState, client_addr};
use crate::server::error::ApiError;
use crate::server::limit::read_json;
use crate::session::PendingSession;
use crate::telephony::daily::{DailyClient, Dialin, SECRET_HEADER, parse};

/// Whether `presented` equals `secret`: SHA-256 of both compared in constant time, so
/// neither the length nor a prefix of the secret leaks through timing.
pub fn secret_matches(presented: &[u8], secret: &str) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(secret.as_bytes());
    a.ct_eq(&b).into()
}

/// The webhook handler.
pub async fn webhook(State(state): State<AppState>, req: Request) -> Response {
    let client = client_addr(&req);
    let (parts, body) = req.into_parts();
    match handle(&state, &client, &parts.headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    client: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let secrets = state.secrets();
    if let Some(secret) = &secrets.daily_dialin_webhook_secret {
        let presented = headers
            .get(SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or(b"");
        if !secret_matches(presented, secret.value.expose()) {
            state
                .metrics
                .auth_failures
                .with_label_values(&["daily_dialin_webhook"])
                .inc();
            tracing::warn!(route = "daily_dialin_webhook", client = %client, "rejected dial-in webhook: missing or invalid X-Webhook-Secret");
            return Err(ApiError::unauthorized());
        }
    }
    let slot = state.admit()?;
    let request = read_json(headers, body, state.config.max_request_body_bytes).await?;
    let call = match parse(&request) {
        Ok(Dialin::Test) => return Ok(Json(json!({"status": "OK"})).into_response()),
        Ok(Dialin::Call(call)) => call,
        Err(missing) => {
            return Err(missing
                .into_iter()
                .fold(ApiError::validation(), |e, field| {
                    e.detail(field, "is required")
                }));
        }
    };
    let Some(key) = secrets.daily_api_key() else {
        tracing::warn!("dial-in webhook: no Daily API key resolves (DAILY_API_KEY)");
        return Err(ApiError::upstream());
    };
    let client = DailyClient::new(&state.config.daily_api_url, key.value.clone()).map_err(|e| {
        tracing::warn!(error = %e, "dial-in webhook: Daily client");
        ApiError::upstream()
    })?;
    let now = i64::try_from(crate::session::registry::unix_now()).unwrap_or(i64::MAX / 2);
    let room = client.create_dialin_room(&call, now).await.map_err(|e| {
        tracing::warn!(error = %e, "dial-in webhook: Daily REST call failed");
        ApiError::upstream()
    })?;
    let id = uuid::Uuid::new_v4();
    state.sessions.insert_pending(PendingSession {
        id,
        expires_at: Instant::now() + Duration::from_secs(state.config.session_ttl_secs),
        body: call.session_data(),
        slot,
    });
    tracing::info!(session_id = %id, room = %room.name, "dial-in call: Daily room created");
    Ok(Json(json!({
        "dailyRoom": room.url,
        "dailyToken": room.token,
        "sessionId": id.to_string(),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::secret_matches;

    #[test]
    fn secret_comparison() {
        assert!(secret_matches(b"s3cret-value", "s3cret-value"));
        assert!(!secret_matches(b"s3cret-valuf", "s3cret-value"));
        assert!(!secret_matches(b"", "s3cret-value"));
        assert!(!secret_matches(b"s3cret-value ", "s3cret-value"));
    }
}
