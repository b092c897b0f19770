//! `POST /` in telephony mode: the carrier's voice webhook (`wire.md` §3.5, `http.md` §11).
//!
//! Order: body limit (400) → form parameters → Twilio signature when `twilio_auth_token` is
//! set (401) → the carrier's answer pointing at `<wss|ws>://<proxy_host or Host>/telephony/ws`.
//! The server API key is not used on this route (carriers cannot send one).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::server::app::{AppState, client_addr};
use crate::server::error::ApiError;
use crate::server::limit::read_limited;
use crate::telephony::public::PublicOrigin;
use crate::telephony::webhook::{STREAM_PATH, answer};
use crate::telephony::{Carrier, signature};

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
