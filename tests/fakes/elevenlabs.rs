//! ElevenLabs HTTP streaming TTS fake (`providers.md` §4).

use bytes::Bytes;
use serde_json::{Value, json};

use super::{Answer, Fault, Recorded, Reply, Shared, StreamEnd, json_response, tone};

fn detail(status: u16, st: &str, message: &str, retry_after: Option<&str>) -> Answer {
    Answer::Full(json_response(
        status,
        json!({"detail":{"status":st,"message":message}}),
        retry_after,
    ))
}

fn status_answer(status: u16, retry_after: Option<&str>) -> Answer {
    match status {
        401 => detail(401, "invalid_api_key", "Invalid API key", None),
        422 => Answer::Full(json_response(
            422,
            json!({"detail":[{"loc":["body","text"],"msg":"field required","type":"value_error.missing"}]}),
            None,
        )),
        429 => detail(
            429,
            "too_many_concurrent_requests",
            "Too many concurrent requests.",
            retry_after,
        ),
        s => detail(
            s,
            "internal_error",
            "An internal error occurred.",
            retry_after,
        ),
    }
}

/// Audio length per input character, ms.
pub const MS_PER_CHAR: u32 = 10;

pub(super) fn answer(req: &Recorded, reply: &Reply, shared: &Shared) -> Answer {
    let key = req.headers.get("xi-api-key").and_then(|v| v.to_str().ok());
    if key != Some(shared.key.as_str()) {
        return status_answer(401, None);
    }
    if let Some(Fault::Status(s, ra)) = &reply.fault {
        return status_answer(*s, ra.as_deref());
    }
    let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let ["v1", "text-to-speech", voice, "stream"] = segs.as_slice() else {
        return Answer::Full(json_response(404, json!({"detail":"Not Found"}), None));
    };
    if voice.is_empty() {
        return Answer::Full(json_response(404, json!({"detail":"Not Found"}), None));
    }
    let rate: u32 = req
        .query
        .split('&')
        .find_map(|kv| kv.strip_prefix("output_format=pcm_"))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    if ![16_000, 22_050, 24_000, 44_100].contains(&rate) {
        return detail(
            400,
            "invalid_output_format",
            "This fake only serves pcm_* output formats.",
            None,
        );
    }
    let Some(body) = &req.json else {
        return status_answer(422, None);
    };
    if body
        .get("text")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return status_answer(422, None);
    }
    let ms = MS_PER_CHAR * body["text"].as_str().unwrap_or("").chars().count() as u32;
    let mut chunks: Vec<Bytes> = tone(ms, rate)
        .chunks(4801)
        .map(Bytes::copy_from_slice)
        .collect();
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
        content_type: "audio/pcm",
        chunks,
        end,
    }
}
