//! Request body limits and JSON parsing for body routes (`http.md` §3, §6).
//!
//! A declared `Content-Length` above the limit is refused before the body is read; a chunked
//! body is counted while it streams. Either way the rest of an oversize body is read and
//! discarded (up to [`DRAIN_CAP`] bytes beyond the limit) so the keep-alive connection stays
//! usable; past the cap, or with `Expect: 100-continue`, the 400 carries `Connection: close`.
//!
//! Slow bodies are cut (issue 10 item 6): the whole body must arrive within
//! [`BODY_READ_TIMEOUT`] and no gap between two chunks may exceed [`BODY_IDLE_TIMEOUT`];
//! otherwise 408 `request_timeout` with `Connection: close`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::time::Instant;

use super::error::ApiError;

/// How far past the limit an oversize body is drained before the connection is closed: 16 MiB.
pub const DRAIN_CAP: u64 = 16 * 1024 * 1024;

/// Longest time a whole request body may take to arrive (and to be drained): 20 s.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Longest gap between two chunks of a request body: 10 s (the header read timeout).
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The next frame of `body`, or `Err(())` when it does not come before `deadline` or within
/// [`BODY_IDLE_TIMEOUT`].
async fn next_frame(
    body: &mut Body,
    deadline: Instant,
) -> Result<Option<Result<hyper::body::Frame<axum::body::Bytes>, axum::Error>>, ()> {
    let until = deadline.min(Instant::now() + BODY_IDLE_TIMEOUT);
    tokio::time::timeout_at(until, body.frame())
        .await
        .map_err(|_| ())
}

fn too_large_closing(limit: u64) -> ApiError {
    ApiError::body_too_large(limit).header(header::CONNECTION, "close")
}

/// Discard up to `budget` more bytes of `body` before `deadline`; true when the body ended
/// within the budget and in time.
async fn drain(body: &mut Body, mut budget: u64, deadline: Instant) -> bool {
    while let Some(frame) = match next_frame(body, deadline).await {
        Ok(f) => f,
        Err(()) => return false,
    } {
        let Ok(frame) = frame else { return false };
        if let Some(data) = frame.data_ref() {
            let n = data.len() as u64;
            if n > budget {
                return false;
            }
            budget -= n;
        }
    }
    true
}

/// Read a body of at most `limit` bytes.
///
/// # Errors
/// 400 `body_too_large` when it is longer (with `Connection: close` past the drain cap or on
/// `Expect: 100-continue`); 400 `bad_request` when the stream fails; 408 `request_timeout`
/// when the body stalls or trickles past [`BODY_IDLE_TIMEOUT`] / [`BODY_READ_TIMEOUT`].
pub async fn read_limited(
    headers: &HeaderMap,
    mut body: Body,
    limit: u64,
) -> Result<Vec<u8>, ApiError> {
    let deadline = Instant::now() + BODY_READ_TIMEOUT;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = declared
        && len > limit
    {
        let expects_continue = headers
            .get(header::EXPECT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects_continue || len > limit + DRAIN_CAP {
            return Err(too_large_closing(limit));
        }
        return if drain(&mut body, len, deadline).await {
            Err(ApiError::body_too_large(limit))
        } else {
            Err(too_large_closing(limit))
        };
    }
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    while let Some(frame) = next_frame(&mut body, deadline)
        .await
        .map_err(|()| ApiError::request_timeout())?
    {
        let frame = frame
            .map_err(|_| ApiError::bad_json("body: the request body could not be read".into()))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        if (buf.len() + data.len()) as u64 > limit {
            return if drain(&mut body, DRAIN_CAP, deadline).await {
                Err(ApiError::body_too_large(limit))
            } else {
                Err(too_large_closing(limit))
            };
        }
        buf.extend_from_slice(data);
    }
    Ok(buf)
}

/// Parse a body as a JSON object: empty → `{}`; invalid JSON → 400 `bad_request` with the
/// parser's position only; any other JSON value → 400 `request body must be a JSON object`.
///
/// # Errors
/// As described.
pub fn parse_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::not_object()),
        Err(e) => Err(ApiError::bad_json(format!(
            "invalid JSON at line {} column {}",
            e.line(),
            e.column()
        ))),
    }
}

/// [`read_limited`] then [`parse_object`].
///
/// # Errors
/// As those two.
pub async fn read_json(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    parse_object(&read_limited(headers, body, limit).await?)
}
