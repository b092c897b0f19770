//! Deepgram live STT fake (`providers.md` §3, §8): `GET /v1/listen` upgraded to a WebSocket
//! after checking `Authorization: Token <key>` and the query. Sends an interim `Results` per
//! 0.5 s of audio that is not silence (scripted per user turn with [`DeepgramFake::push_interim`],
//! else `hello`), answers `Finalize` with a final `Results` flagged `from_finalize:true`,
//! records `KeepAlive`, answers `CloseStream` with `Metadata` then close 1000. Per-connection
//! scripts: refuse the handshake with a status, or drop the socket (1011) after N audio bytes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::Notify;

use super::json_response;

/// The final transcript when none is scripted.
pub const DEFAULT_TRANSCRIPT: &str = "hello world";

/// What one connection does.
#[derive(Debug, Clone)]
pub enum DgScript {
    /// Refuse the handshake with this status.
    Reject(u16),
    /// Close with 1011 after this many audio bytes.
    DropAfterBytes(usize),
    /// Answer the handshake only after this long (slow connect).
    SlowHandshake(Duration),
    /// Close with 1011 instead of answering the first `Finalize` (the turn's transcript is lost).
    DropOnFinalize,
}

/// One connection as the fake saw it.
#[derive(Debug, Clone, Default)]
pub struct DgConn {
    /// Raw query string.
    pub query: String,
    /// `Authorization` header.
    pub auth: Option<String>,
    /// Whether the handshake was accepted.
    pub accepted: bool,
    /// Audio bytes received.
    pub audio_bytes: usize,
    /// Control message `type`s received, in order.
    pub controls: Vec<String>,
    /// The socket ended (either side).
    pub ended: bool,
    /// Interim transcripts sent, with when.
    pub interims: Vec<(std::time::Instant, String)>,
}

pub struct DgState {
    key: String,
    script: Mutex<VecDeque<DgScript>>,
    transcripts: Mutex<VecDeque<String>>,
    /// Scripted interims `(finalizes received before it, text)`.
    interims: Mutex<VecDeque<(usize, String)>>,
    conns: Mutex<Vec<DgConn>>,
    /// Delay between `Finalize` and its final `Results` (the benchmark's STT latency).
    pub latency: Mutex<Duration>,
    changed: Notify,
}

/// A running Deepgram fake.
pub struct DeepgramFake {
    pub addr: SocketAddr,
    pub state: Arc<DgState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DeepgramFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DeepgramFake {
    /// Start on `127.0.0.1:0`, accepting `Token <key>`.
    pub async fn start(key: &str) -> Self {
        let state = Arc::new(DgState {
            key: key.into(),
            script: Mutex::new(VecDeque::new()),
            transcripts: Mutex::new(VecDeque::new()),
            interims: Mutex::new(VecDeque::new()),
            conns: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            changed: Notify::new(),
        });
        let app = axum::Router::new()
            .route("/v1/listen", axum::routing::get(listen))
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

    /// Delay between `Finalize` and its answer.
    pub fn set_latency(&self, d: Duration) {
        *self.state.latency.lock().unwrap() = d;
    }

    /// Script the next connection.
    pub fn push(&self, s: DgScript) {
        self.state.script.lock().unwrap().push_back(s);
    }

    /// The transcript of the next `Finalize`.
    pub fn push_transcript(&self, t: &str) {
        self.state.transcripts.lock().unwrap().push_back(t.into());
    }

    /// The text of an interim sent during user turn `turn` (0-based: the number of `Finalize`s
    /// received before it); scripted interims of a turn are sent in order, then `hello`.
    pub fn push_interim(&self, turn: usize, text: &str) {
        self.state
            .interims
            .lock()
            .unwrap()
            .push_back((turn, text.into()));
    }

    /// Every connection so far.
    pub fn conns(&self) -> Vec<DgConn> {
        self.state.conns.lock().unwrap().clone()
    }

    /// Wait (≤ 10 s) until `cond` holds for the connections.
    pub async fn wait_for(&self, cond: impl Fn(&[DgConn]) -> bool) -> Vec<DgConn> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.state.changed.notified();
            {
                let c = self.state.conns.lock().unwrap();
                if cond(&c) {
                    return c.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "deepgram fake: condition not reached; conns = {:?}",
                    self.conns()
                );
            }
        }
    }
}

async fn listen(
    State(state): State<Arc<DgState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let query = query.unwrap_or_default();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let idx = {
        let mut c = state.conns.lock().unwrap();
        c.push(DgConn {
            query: query.clone(),
            auth: auth.clone(),
            ..DgConn::default()
        });
        c.len() - 1
    };
    state.changed.notify_waiters();
    let script = state.script.lock().unwrap().pop_front();
    if auth.as_deref() != Some(format!("Token {}", state.key).as_str()) {
        return json_response(
            401,
            json!({"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"fake-req-1"}),
            None,
        );
    }
    let has = |k: &str, v: Option<&str>| {
        query.split('&').any(|kv| match kv.split_once('=') {
            Some((a, b)) => a == k && v.is_none_or(|v| v == b) && !b.is_empty(),
            None => false,
        })
    };
    if !(has("model", None)
        && has("encoding", Some("linear16"))
        && has("sample_rate", Some("16000"))
        && has("channels", Some("1")))
    {
        return json_response(
            400,
            json!({"err_code":"Bad Request","err_msg":"Bad Request: failed to process audio: corrupt or unsupported data","request_id":"fake-req-2"}),
            None,
        );
    }
    let mut drop_after = None;
    let mut drop_on_finalize = false;
    match script {
        Some(DgScript::Reject(status)) => {
            return json_response(
                status,
                json!({"err_code":"INTERNAL","err_msg":"scripted refusal","request_id":"fake-req-3"}),
                None,
            );
        }
        Some(DgScript::DropAfterBytes(n)) => drop_after = Some(n),
        Some(DgScript::SlowHandshake(d)) => tokio::time::sleep(d).await,
        Some(DgScript::DropOnFinalize) => drop_on_finalize = true,
        None => {}
    }
    state.conns.lock().unwrap()[idx].accepted = true;
    ws.on_upgrade(move |socket| session(socket, state, idx, drop_after, drop_on_finalize))
        .into_response()
}

fn results(transcript: &str, is_final: bool, from_finalize: bool) -> Message {
    let v = json!({"type":"Results","channel_index":[0,1],"duration":1.02,"start":0.0,
        "is_final":is_final,"speech_final":is_final,"from_finalize":from_finalize,
        "channel":{"alternatives":[{"transcript":transcript,"confidence":0.98,"words":[]}]},
        "metadata":{"request_id":"fake-req","model_info":{"name":"general-nova-3","version":"2024","arch":"nova-3"},"model_uuid":"fake"}});
    Message::Text(v.to_string().into())
}

async fn session(
    mut socket: WebSocket,
    state: Arc<DgState>,
    idx: usize,
    drop_after: Option<usize>,
    drop_on_finalize: bool,
) {
    let mut since_interim = 0usize;
    let mut voiced = false;
    let mut finalizes = 0usize;
    let update = |f: &dyn Fn(&mut DgConn)| {
        f(&mut state.conns.lock().unwrap()[idx]);
        state.changed.notify_waiters();
    };
    while let Some(Ok(msg)) = socket.recv().await {
        match msg {
            Message::Binary(b) => {
                let n = b.len();
                update(&|c| c.audio_bytes += n);
                since_interim += n;
                voiced |= b
                    .chunks_exact(2)
                    .any(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs() > 500);
                let total = state.conns.lock().unwrap()[idx].audio_bytes;
                if drop_after.is_some_and(|d| total >= d) {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: 1011,
                            reason: "NET-0001".into(),
                        })))
                        .await;
                    break;
                }
                if since_interim >= 16_000 {
                    since_interim = 0;
                    if std::mem::take(&mut voiced) {
                        let text = {
                            let mut q = state.interims.lock().unwrap();
                            match q.front() {
                                Some((t, _)) if *t == finalizes => q.pop_front().map(|(_, s)| s),
                                _ => None,
                            }
                        };
                        let text = text.unwrap_or_else(|| "hello".into());
                        let at = std::time::Instant::now();
                        update(&|c| c.interims.push((at, text.clone())));
                        let _ = socket.send(results(&text, false, false)).await;
                    }
                }
            }
            Message::Text(t) => {
                let kind = serde_json::from_str::<serde_json::Value>(t.as_str())
                    .ok()
                    .and_then(|v| v["type"].as_str().map(str::to_string))
                    .unwrap_or_default();
                update(&|c| c.controls.push(kind.clone()));
                match kind.as_str() {
                    "Finalize" if drop_on_finalize => {
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame {
                                code: 1011,
                                reason: "NET-0000".into(),
                            })))
                            .await;
                        break;
                    }
                    "Finalize" => {
                        finalizes += 1;
                        let latency = *state.latency.lock().unwrap();
                        if !latency.is_zero() {
                            tokio::time::sleep(latency).await;
                        }
                        let t = state
                            .transcripts
                            .lock()
                            .unwrap()
                            .pop_front()
                            .unwrap_or_else(|| DEFAULT_TRANSCRIPT.to_string());
                        let _ = socket.send(results(&t, true, true)).await;
                    }
                    "CloseStream" => {
                        let meta = json!({"type":"Metadata","transaction_key":"deprecated","request_id":"fake-req","sha256":"0","created":"2026-01-01T00:00:00.000Z","duration":3.2,"channels":1});
                        let _ = socket.send(Message::Text(meta.to_string().into())).await;
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame {
                                code: 1000,
                                reason: "".into(),
                            })))
                            .await;
                        break;
                    }
                    _ => {}
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    update(&|c| c.ended = true);
}
