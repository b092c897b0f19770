//! `GET /openapi.json` and Swagger UI under `/swagger/` (`http.md` §7).
//!
//! The document is OpenAPI 3.1 and lists every route of `http.md` §2 with the error envelope
//! and the two security schemes (`bearerAuth`, `apiKeyAuth`). Swagger UI is vendored into the
//! binary by `utoipa-swagger-ui` (feature `vendored`), so it works offline.

use axum::Router;
use serde_json::{Value, json};
use utoipa_swagger_ui::SwaggerUi;

use crate::server::app::AppState;

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn op(summary: &str, protected: bool, ok_code: &str, ok: &str, body: Option<&str>) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(ok_code.into(), json!({"description": ok}));
    if body.is_some() {
        responses.insert(
            "400".into(),
            error_response("Invalid JSON or body too large"),
        );
        responses.insert("422".into(), error_response("Validation failed"));
    }
    if protected {
        responses.insert("401".into(), error_response("Missing or invalid API key"));
        responses.insert(
            "503".into(),
            error_response("Session limit reached or shutting down"),
        );
    }
    let mut o = json!({"summary": summary, "responses": responses});
    if protected {
        o["security"] = json!([{"bearerAuth": []}, {"apiKeyAuth": []}]);
    }
    if let Some(schema) = body {
        o["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    }
    o
}

/// `POST /` in telephony mode (`wire.md` §3.5): form in, XML (or Exotel's JSON) out.
fn carrier_webhook() -> Value {
    json!({
        "summary": "Carrier voice webhook (runner_transport twilio|telnyx|plivo|exotel): answers TwiML / Telnyx / Plivo XML pointing at /telephony/ws (Exotel: JSON note)",
        "parameters": [{"name": "X-Twilio-Signature", "in": "header", "required": false,
                        "description": "Required for Twilio when twilio_auth_token is set",
                        "schema": {"type": "string"}}],
        "requestBody": {"required": false, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
        "responses": {
            "200": {"description": "Stream instructions", "content": {
                "application/xml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object", "properties": {
                    "websocketUrl": {"type": "string"}, "note": {"type": "string"}}}}}},
            "400": error_response("Body too large"),
            "401": error_response("Missing or invalid X-Twilio-Signature")
        }
    })
}

/// `GET /telephony/ws` (`wire.md` §3.1–3.3).
fn telephony_ws() -> Value {
    json!({
        "summary": "Carrier media stream (runner_transport twilio|telnyx|plivo|exotel; WebSocket upgrade): the carrier is detected from its start message within 5 s",
        "parameters": [{"name": "X-Twilio-Signature", "in": "header", "required": false,
                        "description": "Required for Twilio when twilio_auth_token is set (HMAC-SHA1 over the wss:// URL)",
                        "schema": {"type": "string"}}],
        "responses": {
            "101": {"description": "Switching protocols"},
            "401": error_response("Missing or invalid X-Twilio-Signature"),
            "403": error_response("Origin not allowed"),
            "426": error_response("Not a WebSocket upgrade"),
            "503": error_response("Session limit reached or shutting down")
        }
    })
}

/// `POST /daily-dialin-webhook` (`http.md` §10).
fn daily_dialin() -> Value {
    json!({
        "summary": "Daily dial-in webhook (runner_transport daily, dialin true): creates the room and owner token",
        "parameters": [{"name": "X-Webhook-Secret", "in": "header", "required": false,
                        "description": "Required when daily_dialin_webhook_secret is set",
                        "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DialinWebhook"}}}},
        "responses": {
            "200": {"description": "Room created ({dailyRoom, dailyToken, sessionId}) or {status: OK} for the test ping"},
            "400": error_response("Invalid JSON or body too large"),
            "401": error_response("Missing or invalid X-Webhook-Secret"),
            "422": error_response("From, To, callId or callDomain missing"),
            "502": error_response("Daily REST API failed or timed out"),
            "503": error_response("Session limit reached or shutting down")
        }
    })
}

/// The OpenAPI 3.1 document.
pub fn openapi() -> Value {
    let id_param = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
    let offer_post = op(
        "Send an SDP offer, receive the answer",
        true,
        "200",
        "SDP answer",
        Some("Offer"),
    );
    let offer_patch = op(
        "Trickle ICE candidates",
        true,
        "200",
        "Candidates added",
        Some("IceCandidates"),
    );
    let health = json!({"get": op("Liveness", false, "200", "Process is serving", None), "head": op("Liveness", false, "200", "Process is serving", None)});
    let ready = json!({"get": op("Readiness", false, "200", "Ready; 503 not_ready while starting or draining", None)});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "voxray", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Real-time voice-agent server. Errors use the envelope {\"error\":{\"code\",\"message\",\"details\"?}}."},
        "paths": {
            "/start": {"post": op("Create a pending session (Pipecat shape)", true, "200", "Session created", Some("StartRequest"))},
            "/api/v1/start": {"post": op("Create a pending session (envelope)", true, "201", "Session created", Some("StartRequest"))},
            "/webrtc/offer": {"post": offer_post.clone()},
            "/api/v1/webrtc/offer": {"post": offer_post.clone()},
            "/api/offer": {"post": offer_post.clone(), "patch": offer_patch.clone()},
            "/sessions/{id}/api/offer": {"parameters": id_param.clone(), "post": offer_post.clone(), "patch": offer_patch.clone()},
            "/api/v1/sessions/{id}/offer": {"parameters": id_param, "post": offer_post, "patch": offer_patch},
            "/telephony/ws": {"get": telephony_ws()},
            "/ws": {"get": op("WebSocket voice session (upgrade; ?token=, ?format=protobuf|json|raw)", true, "101", "Switching protocols", None)},
            "/health": health.clone(),
            "/api/v1/health": health,
            "/ready": ready.clone(),
            "/api/v1/ready": ready,
            "/metrics": {"get": op("Prometheus metrics (text format 0.0.4)", false, "200", "Metrics", None)},
            "/openapi.json": {"get": op("This document", false, "200", "OpenAPI document", None)},
            "/swagger/": {"get": op("Swagger UI", false, "200", "HTML", None)},
            "/": {
                "get": op("Built-in browser client", false, "200", "HTML", None),
                "post": carrier_webhook()
            },
            "/daily-dialin-webhook": {"post": daily_dialin()}
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "details": {"type": "array", "items": {"type": "object", "properties": {
                            "field": {"type": "string"}, "message": {"type": "string"}}}}}}}},
                "StartRequest": {"type": "object", "properties": {
                    "transport": {"type": "string", "enum": ["webrtc", "websocket"]},
                    "enableDefaultIceServers": {"type": "boolean"},
                    "body": {"type": "object"}}},
                "Offer": {"type": "object", "properties": {
                    "sdp": {"type": "string"}, "type": {"type": "string", "enum": ["offer"]},
                    "pc_id": {"type": "string"}, "restart_pc": {"type": "boolean"},
                    "requestData": {"type": "object"}, "offer": {"type": "string"}}},
                "DialinWebhook": {"type": "object", "properties": {
                    "From": {"type": "string"}, "To": {"type": "string"},
                    "callId": {"type": "string"}, "callDomain": {"type": "string"},
                    "sipHeaders": {"type": "object"},
                    "test": {"type": "boolean", "description": "truthy (true, non-empty string, non-zero number): Daily's verification ping"}}},
                "IceCandidates": {"type": "object", "required": ["pc_id", "candidates"], "properties": {
                    "pc_id": {"type": "string"},
                    "candidates": {"type": "array", "items": {"type": "object", "properties": {
                        "candidate": {"type": "string"}, "sdp_mid": {"type": "string"},
                        "sdp_mline_index": {"type": "integer"}}}}}}
            }
        }
    })
}

/// `/openapi.json` and `/swagger/…`.
pub fn router() -> Router<AppState> {
    let doc: utoipa::openapi::OpenApi =
        serde_json::from_value(openapi()).expect("the OpenAPI document matches utoipa's model");
    Router::new().merge(SwaggerUi::new("/swagger").url("/openapi.json", doc))
}
