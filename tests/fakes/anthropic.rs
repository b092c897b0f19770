//! Anthropic Messages fake (`providers.md` §6).

use bytes::Bytes;
use serde_json::{Value, json};

use super::{Answer, Fault, Recorded, Reply, Shared, StreamEnd, json_response, pieces};

/// The reply when none is scripted.
pub const DEFAULT_REPLY: &str = "Hello from Claude. What can I do?";

fn error(status: u16, kind: &str, message: &str, retry_after: Option<&str>) -> Answer {
    Answer::Full(json_response(
        status,
        json!({"type":"error","error":{"type":kind,"message":message},"request_id":"req_011fake"}),
        retry_after,
    ))
}

fn status_answer(status: u16, retry_after: Option<&str>) -> Answer {
    let (kind, msg) = match status {
        400 => ("invalid_request_error", "Invalid request"),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        529 => ("overloaded_error", "Overloaded"),
        _ => ("api_error", "Internal server error"),
    };
    error(status, kind, msg, retry_after)
}

fn event(name: &str, data: Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

pub(super) fn answer(req: &Recorded, reply: &Reply, shared: &Shared) -> Answer {
    let key = req.headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(shared.key.as_str()) {
        return status_answer(401, None);
    }
    if req.headers.get("anthropic-version").is_none() {
        return error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
            None,
        );
    }
    if let Some(Fault::Status(s, ra)) = &reply.fault {
        return status_answer(*s, ra.as_deref());
    }
    if req.method != "POST" || req.path != "/v1/messages" {
        return status_answer(404, None);
    }
    let Some(body) = &req.json else {
        return error(
            400,
            "invalid_request_error",
            "The request body is not valid JSON.",
            None,
        );
    };
    for f in ["model", "max_tokens", "messages"] {
        if body.get(f).is_none() {
            return error(
                400,
                "invalid_request_error",
                &format!("{f}: Field required"),
                None,
            );
        }
    }
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    if msgs.first().and_then(|m| m["role"].as_str()) != Some("user") {
        return error(
            400,
            "invalid_request_error",
            "messages: first message must use the \"user\" role",
            None,
        );
    }
    if msgs.windows(2).any(|w| w[0]["role"] == w[1]["role"]) {
        return error(
            400,
            "invalid_request_error",
            "messages: roles must alternate between \"user\" and \"assistant\"",
            None,
        );
    }
    let text = reply
        .text
        .clone()
        .unwrap_or_else(|| DEFAULT_REPLY.to_string());
    let mut chunks = vec![
        event(
            "message_start",
            json!({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":body["model"],"stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1}}}),
        ),
        event(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
        event("ping", json!({"type":"ping"})),
    ];
    for p in pieces(&text) {
        chunks.push(event(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":p}}),
        ));
    }
    let mut end = StreamEnd::Clean;
    match &reply.fault {
        Some(Fault::CutAfter(n)) => {
            chunks.truncate(*n);
            return Answer::Stream {
                content_type: "text/event-stream",
                chunks,
                end,
            };
        }
        Some(Fault::AbortAfter(n)) => {
            chunks.truncate(*n);
            end = StreamEnd::Abort;
            return Answer::Stream {
                content_type: "text/event-stream",
                chunks,
                end,
            };
        }
        Some(Fault::ErrorAfter(n)) => {
            chunks.truncate(*n);
            chunks.push(event(
                "error",
                json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
            ));
            return Answer::Stream {
                content_type: "text/event-stream",
                chunks,
                end,
            };
        }
        _ => {}
    }
    chunks.push(event(
        "content_block_stop",
        json!({"type":"content_block_stop","index":0}),
    ));
    chunks.push(event("message_delta", json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}})));
    chunks.push(event("message_stop", json!({"type":"message_stop"})));
    Answer::Stream {
        content_type: "text/event-stream; charset=utf-8",
        chunks,
        end,
    }
}
