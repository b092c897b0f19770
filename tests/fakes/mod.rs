//! Loopback fakes of the cloud providers (`providers.md` §8), for integration tests.
//!
//! Each fake is an axum server on `127.0.0.1:0` that speaks the provider's real wire format:
//! it checks the auth header (401 with the provider's error body), the path and the required
//! body fields (400 with the provider's error body), records every request, and plays a
//! scripted scenario per request (normal reply, slow first byte, status codes with
//! `retry-after`, stream cut or provider error after N chunks, never answering, bytes split
//! across TCP writes).
//!
//! ```ignore
//! mod fakes;
//! let fake = fakes::Fake::openai("sk-test").await;      // base_url() = http://127.0.0.1:P/v1
//! fake.push(fakes::Reply::text("Hello there."));         // next request's answer
//! fake.push(fakes::Reply::fault(fakes::Fault::Status(429, Some("1".into()))));
//! let reqs = fake.requests();                            // what voxray sent
//! fake.wait_cancelled(0).await;                          // the client dropped request 0
//! ```
#![allow(dead_code)]

pub mod anthropic;
pub mod carrier;
pub mod cartesia;
pub mod deepgram;
pub mod elevenlabs;
pub mod openai;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::Notify;

/// Which provider a fake plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OpenAI-compatible: `/v1/chat/completions`, `/v1/audio/transcriptions`, `/v1/audio/speech`.
    OpenAi,
    /// Anthropic: `/v1/messages`.
    Anthropic,
    /// ElevenLabs: `/v1/text-to-speech/{voice}/stream`.
    ElevenLabs,
}

/// A scripted fault for one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with the provider's real error body; `retry-after` header when set.
    Status(u16, Option<String>),
    /// Wait this long before answering (slow first byte).
    Delay(Duration),
    /// Never answer.
    Never,
    /// End the body cleanly after N chunks (no completion marker).
    CutAfter(usize),
    /// Abort the connection after N chunks.
    AbortAfter(usize),
    /// Send the provider's in-stream error event after N chunks (SSE providers).
    ErrorAfter(usize),
}

/// The answer to one request.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    /// LLM reply text, STT transcript or (ignored) TTS; `None`: the fake's default.
    pub text: Option<String>,
    /// A fault to play instead of (or in the middle of) the normal reply.
    pub fault: Option<Fault>,
    /// An OpenAI tool call `(name, arguments JSON)` streamed in 3 argument pieces.
    pub tool_call: Option<(String, String)>,
}

impl Reply {
    /// A normal reply with `text`.
    pub fn text(text: &str) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }
    /// A fault.
    pub fn fault(fault: Fault) -> Self {
        Self {
            fault: Some(fault),
            ..Self::default()
        }
    }
}

/// How a recorded request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still being answered.
    Pending,
    /// The whole answer was handed to the socket.
    Completed,
    /// The client went away before the answer was complete.
    Cancelled,
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`.
    pub method: String,
    /// Path (`/v1/chat/completions`).
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Headers, lower-case names.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
    /// The body as JSON when it was JSON.
    pub json: Option<serde_json::Value>,
    /// Multipart fields by name: `(file name, content type, bytes)`.
    pub parts: BTreeMap<String, (Option<String>, Option<String>, Bytes)>,
    outcome: Arc<Mutex<Outcome>>,
}

impl Recorded {
    /// How the request ended so far.
    pub fn outcome(&self) -> Outcome {
        *self.outcome.lock().unwrap()
    }
    /// A multipart text field.
    pub fn field(&self, name: &str) -> Option<String> {
        self.parts
            .get(name)
            .map(|(_, _, b)| String::from_utf8_lossy(b).to_string())
    }
}

/// State shared by a fake's handlers and the test.
pub struct Shared {
    pub kind: Kind,
    pub key: String,
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
    /// Delay before every answer (the benchmark's fixed provider latency).
    pub latency: Mutex<Duration>,
    /// Pause between body chunks.
    pub chunk_gap: Mutex<Duration>,
    /// Split every chunk into small pieces written separately.
    pub split: AtomicBool,
    changed: Notify,
}

impl Shared {
    fn next_reply(&self) -> Reply {
        self.script.lock().unwrap().pop_front().unwrap_or_default()
    }
}

/// A running fake; the server stops when it is dropped.
pub struct Fake {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// An OpenAI-compatible fake accepting `Authorization: Bearer <key>`.
    pub async fn openai(key: &str) -> Fake {
        Self::start(Kind::OpenAi, key).await
    }
    /// An Anthropic fake accepting `x-api-key: <key>`.
    pub async fn anthropic(key: &str) -> Fake {
        Self::start(Kind::Anthropic, key).await
    }
    /// An ElevenLabs fake accepting `xi-api-key: <key>`.
    pub async fn elevenlabs(key: &str) -> Fake {
        Self::start(Kind::ElevenLabs, key).await
    }

    async fn start(kind: Kind, key: &str) -> Fake {
        let shared = Arc::new(Shared {
            kind,
            key: key.into(),
            script: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            chunk_gap: Mutex::new(Duration::ZERO),
            split: AtomicBool::new(false),
            changed: Notify::new(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake { addr, shared, task }
    }

    /// The base URL voxray is given (`http://127.0.0.1:P/v1` for OpenAI-compatible, the root
    /// for the others).
    pub fn base_url(&self) -> String {
        match self.shared.kind {
            Kind::OpenAi => format!("http://{}/v1", self.addr),
            _ => format!("http://{}", self.addr),
        }
    }

    /// Queue the answer of the next unanswered request.
    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().unwrap().push_back(reply);
    }

    /// Fixed delay before every answer.
    pub fn set_latency(&self, d: Duration) {
        *self.shared.latency.lock().unwrap() = d;
    }

    /// Pause between body chunks.
    pub fn set_chunk_gap(&self, d: Duration) {
        *self.shared.chunk_gap.lock().unwrap() = d;
    }

    /// Split every chunk into small pieces written one by one.
    pub fn set_split(&self, on: bool) {
        self.shared.split.store(on, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Wait (≤ 10 s) until `n` requests arrived; returns them.
    pub async fn wait_requests(&self, n: usize) -> Vec<Recorded> {
        self.wait_for(|reqs| reqs.len() >= n).await;
        self.requests()
    }

    /// Wait (≤ 10 s) until request `i` was cancelled by the client.
    pub async fn wait_cancelled(&self, i: usize) {
        self.wait_for(|reqs| {
            reqs.get(i)
                .is_some_and(|r| r.outcome() == Outcome::Cancelled)
        })
        .await;
    }

    /// Wait (≤ 10 s) until request `i` ended one way or the other; returns how.
    pub async fn wait_outcome(&self, i: usize) -> Outcome {
        self.wait_for(|reqs| reqs.get(i).is_some_and(|r| r.outcome() != Outcome::Pending))
            .await;
        self.requests()[i].outcome()
    }

    async fn wait_for(&self, cond: impl Fn(&[Recorded]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.shared.changed.notified();
            if cond(&self.shared.requests.lock().unwrap()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("fake: condition not reached within 10 s");
            }
        }
    }
}

/// Marks a request cancelled when its answer is dropped before completion.
struct Guard {
    outcome: Arc<Mutex<Outcome>>,
    shared: Arc<Shared>,
}

impl Guard {
    fn complete(&self) {
        *self.outcome.lock().unwrap() = Outcome::Completed;
        self.shared.changed.notify_waiters();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut o = self.outcome.lock().unwrap();
        if *o == Outcome::Pending {
            *o = Outcome::Cancelled;
        }
        drop(o);
        self.shared.changed.notify_waiters();
    }
}

/// What a provider handler decided to send.
pub enum Answer {
    /// A complete response (status, headers, body).
    Full(Response),
    /// A 200 streamed body: these chunks, then `end`.
    Stream {
        content_type: &'static str,
        chunks: Vec<Bytes>,
        end: StreamEnd,
    },
}

/// How a streamed body ends.
pub enum StreamEnd {
    /// Normally.
    Clean,
    /// Abort the connection (after the chunks).
    Abort,
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let json = serde_json::from_slice(&body).ok();
    let multipart = parse_multipart(&parts.headers, &body);
    let outcome = Arc::new(Mutex::new(Outcome::Pending));
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers.clone(),
        body,
        json,
        parts: multipart,
        outcome: outcome.clone(),
    };
    shared.requests.lock().unwrap().push(recorded.clone());
    shared.changed.notify_waiters();
    let guard = Guard {
        outcome,
        shared: shared.clone(),
    };
    let reply = shared.next_reply();
    let latency = *shared.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match &reply.fault {
        Some(Fault::Never) => std::future::pending::<()>().await,
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let answer = match shared.kind {
        Kind::OpenAi => openai::answer(&recorded, &reply, &shared),
        Kind::Anthropic => anthropic::answer(&recorded, &reply, &shared),
        Kind::ElevenLabs => elevenlabs::answer(&recorded, &reply, &shared),
    };
    match answer {
        Answer::Full(resp) => {
            guard.complete();
            resp
        }
        Answer::Stream {
            content_type,
            chunks,
            end,
        } => {
            let gap = *shared.chunk_gap.lock().unwrap();
            let split = shared.split.load(Ordering::SeqCst);
            let pieces: VecDeque<Bytes> = if split {
                chunks
                    .into_iter()
                    .flat_map(|c| {
                        // Uneven pieces so lines, UTF-8 and PCM samples straddle writes.
                        let mut v = Vec::new();
                        let mut rest = c;
                        while rest.len() > 7 {
                            v.push(rest.split_to(7));
                        }
                        v.push(rest);
                        v
                    })
                    .collect()
            } else {
                chunks.into()
            };
            let gap = if split && gap.is_zero() {
                Duration::from_millis(1)
            } else {
                gap
            };
            let stream = futures_util::stream::unfold(
                (pieces, Some(guard), end, true),
                move |(mut pieces, guard, end, first)| async move {
                    let guard = guard?;
                    if !first && !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                    match pieces.pop_front() {
                        Some(p) => Some((
                            Ok::<_, std::io::Error>(p),
                            (pieces, Some(guard), end, false),
                        )),
                        None => match end {
                            StreamEnd::Clean => {
                                guard.complete();
                                None
                            }
                            StreamEnd::Abort => {
                                // Let hyper flush what was written, then cut the connection.
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                guard.complete();
                                Some((
                                    Err(std::io::Error::other("scripted abort")),
                                    (pieces, None, end, false),
                                ))
                            }
                        },
                    }
                },
            );
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", content_type)
                .header("x-request-id", "req_fake_1")
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

/// A JSON response with `status`, optional `retry-after`.
pub fn json_response(status: u16, body: serde_json::Value, retry_after: Option<&str>) -> Response {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-request-id", "req_fake_1");
    if let Some(ra) = retry_after {
        b = b.header("retry-after", ra);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

/// Split the reply text into streaming pieces: words with their leading space.
pub fn pieces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, w) in text.split(' ').enumerate() {
        out.push(if i == 0 {
            w.to_string()
        } else {
            format!(" {w}")
        });
    }
    out.retain(|p| !p.is_empty());
    out
}

/// `n` ms of a 440 Hz tone as PCM s16le mono at `rate` Hz.
pub fn tone(ms: u32, rate: u32) -> Vec<u8> {
    let n = (rate as u64 * ms as u64 / 1000) as usize;
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / rate as f32;
            (((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16).to_le_bytes()
        })
        .collect()
}

fn parse_multipart(
    headers: &HeaderMap,
    body: &[u8],
) -> BTreeMap<String, (Option<String>, Option<String>, Bytes)> {
    let mut out = BTreeMap::new();
    let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok()) else {
        return out;
    };
    let Some(boundary) = ct
        .strip_prefix("multipart/form-data")
        .and_then(|r| r.split("boundary=").nth(1))
    else {
        return out;
    };
    let boundary = boundary.trim_matches('"');
    let delim = format!("--{boundary}");
    let mut rest = body;
    while let Some(start) = find(rest, delim.as_bytes()) {
        rest = &rest[start + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let rest_part = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        let Some(end) = find(rest_part, delim.as_bytes()) else {
            break;
        };
        let part = &rest_part[..end];
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        if let Some(h_end) = find(part, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&part[..h_end]).to_string();
            let data = Bytes::copy_from_slice(&part[h_end + 4..]);
            let disposition = head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
                .unwrap_or("")
                .to_string();
            let attr = |name: &str| {
                disposition
                    .split(';')
                    .map(str::trim)
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .map(|v| v.trim_matches('"').to_string())
            };
            let ctype = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("content-type:")
                    .then(|| l[13..].trim().to_string())
            });
            if let Some(name) = attr("name") {
                out.insert(name, (attr("filename"), ctype, data));
            }
        }
        rest = &rest_part[end..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
