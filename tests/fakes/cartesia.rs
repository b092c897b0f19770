//! Cartesia WebSocket TTS fake (`providers.md` §5, §8): `GET /tts/websocket` upgraded after
//! checking `X-API-Key` and `Cartesia-Version`. Per generation request it validates the
//! fields, then streams base64 PCM `chunk`s for the context (one per 100 ms of audio, with a
//! configurable gap), `timestamps` when asked, and `done` once the context's input ended and
//! its audio was sent. Honours `cancel` (no more messages for that context) and records
//! every message. Scripts: refuse the handshake, or answer the next context with an `error`
//! in either documented shape.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::{json_response, tone};

/// Audio per transcript character, ms.
pub const MS_PER_CHAR: u32 = 10;

/// A scripted behaviour.
#[derive(Debug, Clone)]
pub enum CaScript {
    /// Refuse the next handshake with this status.
    Reject(u16),
    /// Answer the next new context with `{"type":"error",…,"status_code":…,"error":…}`.
    ErrorStatusForm,
    /// Answer the next new context with `{"type":"error",…,"title","message","error_code"}`.
    ErrorTitleForm,
    /// Close the socket (1011) after sending N chunks of the next context.
    DropAfterChunks(usize),
    /// Answer the next handshake only after this long (slow connect).
    SlowHandshake(Duration),
}

pub struct CaState {
    key: String,
    script: Mutex<VecDeque<CaScript>>,
    /// Every message received, in order, with its connection index.
    pub messages: Mutex<Vec<(usize, Value)>>,
    /// Handshakes attempted (accepted or not).
    pub handshakes: Mutex<usize>,
    /// Pause between audio chunks.
    pub gap: Mutex<Duration>,
    /// Delay from a context's first text to its first message (the benchmark's TTS TTFB).
    pub latency: Mutex<Duration>,
    changed: Notify,
}

/// A running Cartesia fake.
pub struct CartesiaFake {
    pub addr: SocketAddr,
    pub state: Arc<CaState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CartesiaFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CartesiaFake {
    /// Start on `127.0.0.1:0`, accepting `X-API-Key: <key>`.
    pub async fn start(key: &str) -> Self {
        let state = Arc::new(CaState {
            key: key.into(),
            script: Mutex::new(VecDeque::new()),
            messages: Mutex::new(Vec::new()),
            handshakes: Mutex::new(0),
            gap: Mutex::new(Duration::from_millis(5)),
            latency: Mutex::new(Duration::ZERO),
            changed: Notify::new(),
        });
        let app = axum::Router::new()
            .route("/tts/websocket", axum::routing::get(upgrade))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state, task }
    }

    /// `ws://127.0.0.1:P`.
    pub fn base_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Queue a scripted behaviour.
    pub fn push(&self, s: CaScript) {
        self.state.script.lock().unwrap().push_back(s);
    }

    /// Delay from a context's first text to its first audio.
    pub fn set_latency(&self, d: Duration) {
        *self.state.latency.lock().unwrap() = d;
    }

    /// Pause between audio chunks.
    pub fn set_gap(&self, d: Duration) {
        *self.state.gap.lock().unwrap() = d;
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Value> {
        self.state
            .messages
            .lock()
            .unwrap()
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Wait (≤ 10 s) until a received message satisfies `f`.
    pub async fn wait_message(&self, f: impl Fn(&Value) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.state.changed.notified();
            if self.messages().iter().any(&f) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("cartesia fake: no such message; got {:?}", self.messages());
            }
        }
    }
}

fn pop_script(state: &CaState, pred: impl Fn(&CaScript) -> bool) -> Option<CaScript> {
    let mut s = state.script.lock().unwrap();
    if s.front().is_some_and(pred) {
        s.pop_front()
    } else {
        None
    }
}

async fn upgrade(
    State(state): State<Arc<CaState>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let conn = {
        let mut h = state.handshakes.lock().unwrap();
        *h += 1;
        *h - 1
    };
    state.changed.notify_waiters();
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(state.key.as_str()) {
        return json_response(
            401,
            json!({"title":"Unauthorized","message":"Invalid API key.","error_code":"unauthorized","request_id":"fake"}),
            None,
        );
    }
    if headers.get("cartesia-version").is_none() {
        return json_response(
            400,
            json!({"title":"Bad Request","message":"Cartesia-Version header is required.","error_code":"missing_version"}),
            None,
        );
    }
    match pop_script(&state, |s| {
        matches!(s, CaScript::Reject(_) | CaScript::SlowHandshake(_))
    }) {
        Some(CaScript::Reject(status)) => {
            return json_response(
                status,
                json!({"title":"Error","message":"scripted refusal","error_code":"internal"}),
                None,
            );
        }
        Some(CaScript::SlowHandshake(d)) => tokio::time::sleep(d).await,
        _ => {}
    }
    ws.on_upgrade(move |socket| session(socket, state, conn))
        .into_response()
}

/// One context being voiced.
struct Context {
    id: String,
    /// Base64 chunks still to send.
    pending: VecDeque<String>,
    /// Word timestamps still to send (words, start s, end s).
    stamps: VecDeque<Value>,
    /// Audio seconds already queued (timestamps offset).
    queued_secs: f64,
    ended: bool,
    sent: usize,
    drop_after: Option<usize>,
    /// Nothing is sent for this context before this instant (latency).
    not_before: tokio::time::Instant,
}

async fn session(mut socket: WebSocket, state: Arc<CaState>, conn: usize) {
    let mut contexts: Vec<Context> = Vec::new();
    // Contexts answered with an error or cancelled: later messages for them are ignored.
    let mut dead: Vec<String> = Vec::new();
    let gap = *state.gap.lock().unwrap();
    let latency = *state.latency.lock().unwrap();
    loop {
        let has_work = contexts
            .iter()
            .any(|c| !c.pending.is_empty() || !c.stamps.is_empty() || c.ended);
        tokio::select! {
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return };
                let Message::Text(t) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else { continue };
                state.messages.lock().unwrap().push((conn, v.clone()));
                state.changed.notify_waiters();
                let id = v["context_id"].as_str().unwrap_or("").to_string();
                if v["cancel"] == json!(true) {
                    contexts.retain(|c| c.id != id);
                    dead.push(id);
                    continue;
                }
                if dead.contains(&id) {
                    continue;
                }
                let missing = ["model_id", "transcript", "voice", "output_format", "context_id"]
                    .into_iter()
                    .find(|f| v.get(*f).is_none());
                let format_ok = v.pointer("/output_format/container") == Some(&json!("raw"))
                    && v.pointer("/output_format/encoding") == Some(&json!("pcm_s16le"));
                if missing.is_some() || !format_ok || v.pointer("/voice/id").is_none() {
                    let msg = format!("invalid request: {}", missing.unwrap_or("output_format or voice"));
                    let e = json!({"type":"error","context_id":id,"status_code":400,"done":true,"error":msg});
                    let _ = socket.send(Message::Text(e.to_string().into())).await;
                    continue;
                }
                if !contexts.iter().any(|c| c.id == id) {
                    match pop_script(&state, |s| {
                        !matches!(s, CaScript::Reject(_) | CaScript::SlowHandshake(_))
                    }) {
                        Some(CaScript::ErrorStatusForm) => {
                            dead.push(id.clone());
                            let e = json!({"type":"error","context_id":id,"status_code":500,"done":true,"error":"internal server error"});
                            let _ = socket.send(Message::Text(e.to_string().into())).await;
                            continue;
                        }
                        Some(CaScript::ErrorTitleForm) => {
                            dead.push(id.clone());
                            let e = json!({"type":"error","context_id":id,"done":true,"title":"Invalid voice","message":"The voice id does not exist.","error_code":"voice_not_found"});
                            let _ = socket.send(Message::Text(e.to_string().into())).await;
                            continue;
                        }
                        Some(CaScript::DropAfterChunks(n)) => contexts.push(Context::new(&id, Some(n), latency)),
                        _ => contexts.push(Context::new(&id, None, latency)),
                    }
                }
                let rate = v.pointer("/output_format/sample_rate").and_then(Value::as_u64).unwrap_or(24_000) as u32;
                let transcript = v["transcript"].as_str().unwrap_or("");
                let ctx = contexts.iter_mut().find(|c| c.id == id).unwrap();
                if !transcript.is_empty() {
                    let ms = MS_PER_CHAR * transcript.chars().count() as u32;
                    let audio = tone(ms, rate);
                    for c in audio.chunks(rate as usize / 10 * 2) {
                        ctx.pending.push_back(base64::engine::general_purpose::STANDARD.encode(c));
                    }
                    if v["add_timestamps"] == json!(true) {
                        let words: Vec<&str> = transcript.split_whitespace().collect();
                        let per = ms as f64 / 1000.0 / words.len().max(1) as f64;
                        let start: Vec<f64> = (0..words.len()).map(|i| ctx.queued_secs + per * i as f64).collect();
                        let end: Vec<f64> = start.iter().map(|s| s + per).collect();
                        ctx.stamps.push_back(json!({"words":words,"start":start,"end":end}));
                    }
                    ctx.queued_secs += ms as f64 / 1000.0;
                }
                if v["continue"] == json!(false) {
                    ctx.ended = true;
                }
            }
            _ = tokio::time::sleep(gap), if has_work => {
                let now = tokio::time::Instant::now();
                let Some(ctx) = contexts.iter_mut().find(|c| {
                    c.not_before <= now && (!c.pending.is_empty() || !c.stamps.is_empty() || c.ended)
                }) else {
                    continue;
                };
                let out = if let Some(stamps) = ctx.stamps.pop_front() {
                    json!({"type":"timestamps","context_id":ctx.id,"status_code":206,"done":false,"word_timestamps":stamps})
                } else if let Some(data) = ctx.pending.pop_front() {
                    ctx.sent += 1;
                    if ctx.drop_after.is_some_and(|n| ctx.sent > n) {
                        let _ = socket.send(Message::Close(Some(axum::extract::ws::CloseFrame{code:1011, reason:"internal".into()}))).await;
                        return;
                    }
                    json!({"type":"chunk","data":data,"done":false,"status_code":206,"step_time":12.5,"context_id":ctx.id})
                } else {
                    let id = ctx.id.clone();
                    contexts.retain(|c| c.id != id);
                    json!({"type":"done","done":true,"status_code":206,"context_id":id})
                };
                if socket.send(Message::Text(out.to_string().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl Context {
    fn new(id: &str, drop_after: Option<usize>, latency: Duration) -> Self {
        Self {
            not_before: tokio::time::Instant::now() + latency,
            id: id.into(),
            pending: VecDeque::new(),
            stamps: VecDeque::new(),
            queued_secs: 0.0,
            ended: false,
            sent: 0,
            drop_after,
        }
    }
}
