//! OpenAI-compatible fake (`providers.md` §2): chat completions SSE, transcriptions, speech.

use bytes::Bytes;
use serde_json::{Value, json};

use super::{Answer, Fault, Recorded, Reply, Shared, StreamEnd, json_response, pieces, tone};

/// The reply when none is scripted.
pub const DEFAULT_REPLY: &str = "Hello there! How can I help?";
/// The transcript when none is scripted.
pub const DEFAULT_TRANSCRIPT: &str = "hello world";

fn error(
    status: u16,
    message: &str,
    kind: &str,
    code: Option<&str>,
    retry_after: Option<&str>,
) -> Answer {
    Answer::Full(json_response(
        status,
        json!({"error":{"message":message,"type":kind,"param":null,"code":code}}),
        retry_after,
    ))
}

/// The error body of a scripted status.
fn status_answer(status: u16, retry_after: Option<&str>) -> Answer {
    match status {
        401 => error(
            401,
            "Incorrect API key provided: sk-fake***. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
            None,
        ),
        429 => error(
            429,
            "Rate limit reached for requests. Please try again in 1s.",
            "requests",
            Some("rate_limit_exceeded"),
            retry_after,
        ),
        s if s >= 500 => error(
            s,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            retry_after,
        ),
        s => error(
            s,
            "Invalid request.",
            "invalid_request_error",
            None,
            retry_after,
        ),
    }
}

fn missing(field: &str) -> Answer {
    error(
        400,
        &format!("you must provide a {field} parameter"),
        "invalid_request_error",
        None,
        None,
    )
}

pub(super) fn answer(req: &Recorded, reply: &Reply, shared: &Shared) -> Answer {
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth != Some(format!("Bearer {}", shared.key).as_str()) {
        return status_answer(401, None);
    }
    if let Some(Fault::Status(s, ra)) = &reply.fault {
        return status_answer(*s, ra.as_deref());
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/chat/completions") => chat(req, reply),
        ("POST", "/v1/audio/transcriptions") => transcription(req, reply),
        ("POST", "/v1/audio/speech") => speech(req, reply),
        _ => error(
            404,
            &format!("Invalid URL ({} {})", req.method, req.path),
            "invalid_request_error",
            None,
            None,
        ),
    }
}

fn chunk(delta: Value, finish: Option<&str>) -> Bytes {
    let v = json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,
        "model":"gpt-4o-mini","choices":[{"index":0,"delta":delta,"finish_reason":finish}]});
    Bytes::from(format!("data: {v}\n\n"))
}

fn chat(req: &Recorded, reply: &Reply) -> Answer {
    let Some(body) = &req.json else {
        return error(
            400,
            "We could not parse the JSON body of your request.",
            "invalid_request_error",
            None,
            None,
        );
    };
    if body
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return missing("model");
    }
    if !body.get("messages").is_some_and(Value::is_array) {
        return missing("messages");
    }
    let text = reply
        .text
        .clone()
        .unwrap_or_else(|| DEFAULT_REPLY.to_string());
    let mut chunks = vec![chunk(json!({"role":"assistant","content":""}), None)];
    for p in pieces(&text) {
        chunks.push(chunk(json!({"content": p}), None));
    }
    let mut finish = "stop";
    if let Some((name, args)) = &reply.tool_call {
        finish = "tool_calls";
        chunks.push(chunk(
            json!({"tool_calls":[{"index":0,"id":"call_fake1","type":"function","function":{"name":name,"arguments":""}}]}),
            None,
        ));
        let third = args.len().div_ceil(3).max(1);
        for piece in args.as_bytes().chunks(third) {
            chunks.push(chunk(
                json!({"tool_calls":[{"index":0,"function":{"arguments":String::from_utf8_lossy(piece)}}]}),
                None,
            ));
        }
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
            chunks.push(Bytes::from(format!(
                "data: {}\n\n",
                json!({"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}})
            )));
            return Answer::Stream {
                content_type: "text/event-stream",
                chunks,
                end,
            };
        }
        _ => {}
    }
    chunks.push(chunk(json!({}), Some(finish)));
    if body.pointer("/stream_options/include_usage") == Some(&Value::Bool(true)) {
        let v = json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,
            "model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":21,"completion_tokens":7,"total_tokens":28}});
        chunks.push(Bytes::from(format!("data: {v}\n\n")));
    }
    chunks.push(Bytes::from_static(b"data: [DONE]\n\n"));
    Answer::Stream {
        content_type: "text/event-stream",
        chunks,
        end,
    }
}

fn transcription(req: &Recorded, reply: &Reply) -> Answer {
    if req.field("model").is_none_or(|m| m.is_empty()) {
        return missing("model");
    }
    let Some((_, _, wav)) = req.parts.get("file") else {
        return missing("file");
    };
    if wav.len() < 44 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return error(
            400,
            "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
            "invalid_request_error",
            None,
            None,
        );
    }
    let text = reply
        .text
        .clone()
        .unwrap_or_else(|| DEFAULT_TRANSCRIPT.to_string());
    Answer::Full(json_response(
        200,
        json!({"text": format!(" {text} "), "usage":{"type":"duration","seconds":2}, "x_groq":{"id":"req_1"}}),
        None,
    ))
}

/// Audio length the fake synthesises per character of input, ms.
pub const MS_PER_CHAR: u32 = 10;

fn speech(req: &Recorded, reply: &Reply) -> Answer {
    let Some(body) = &req.json else {
        return missing("input");
    };
    for f in ["model", "input", "voice"] {
        if body
            .get(f)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return missing(f);
        }
    }
    let input = body["input"].as_str().unwrap_or("");
    let format = body
        .get("response_format")
        .and_then(Value::as_str)
        .unwrap_or("mp3");
    let ms = MS_PER_CHAR * input.chars().count() as u32;
    let (content_type, audio) = match format {
        "pcm" => ("audio/pcm", tone(ms, 24_000)),
        "wav" => {
            // A streamed WAV at 48 kHz with unknown sizes.
            let mut w = Vec::new();
            w.extend_from_slice(b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0");
            w.extend_from_slice(&1u16.to_le_bytes());
            w.extend_from_slice(&1u16.to_le_bytes());
            w.extend_from_slice(&48_000u32.to_le_bytes());
            w.extend_from_slice(&96_000u32.to_le_bytes());
            w.extend_from_slice(&2u16.to_le_bytes());
            w.extend_from_slice(&16u16.to_le_bytes());
            w.extend_from_slice(b"data\xff\xff\xff\xff");
            w.extend_from_slice(&tone(ms, 48_000));
            ("audio/wav", w)
        }
        other => {
            return error(
                400,
                &format!("Unsupported response_format {other:?} for this fake"),
                "invalid_request_error",
                None,
                None,
            );
        }
    };
    // 100 ms chunks of an odd size so samples straddle chunks.
    let mut chunks: Vec<Bytes> = audio.chunks(4801).map(Bytes::copy_from_slice).collect();
    let mut end = StreamEnd::Clean;
    match reply.fault {
        Some(Fault::CutAfter(n)) => chunks.truncate(n),
        Some(Fault::AbortAfter(n)) | Some(Fault::ErrorAfter(n)) => {
            chunks.truncate(n);
            end = StreamEnd::Abort;
        }
        _ => {}
    }
    Answer::Stream {
        content_type,
        chunks,
        end,
    }
}
