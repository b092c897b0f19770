//! Cartesia TTS over WebSocket (`providers.md` §5).
//!
//! One socket per voice session (`{base}/tts/websocket`, headers `X-API-Key` and
//! `Cartesia-Version: 2026-03-01`), opened on demand and reopened after a loss, owned by one
//! task. Each bot turn gets a fresh `context_id` (UUID v4); every sentence is sent as
//! `{"model_id","transcript","voice":{"mode":"id","id"},"output_format":{"container":"raw",
//! "encoding":"pcm_s16le","sample_rate":24000},"language","context_id","continue":true,
//! "add_timestamps":true}`, the end of the turn as the same object with `"transcript":""` and
//! `"continue":false`, barge-in as `{"context_id","cancel":true}`. Received `chunk` audio
//! (base64 PCM), `timestamps` (word timings, used to know what was heard) and `done` are
//! delivered for the current turn; `error` messages in both documented shapes end the turn;
//! messages for cancelled or unknown contexts are dropped. A refused handshake with 401/403
//! is not retried; connect errors and 429/5xx are retried per §7 before any output.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use super::PcmChunker;
use crate::metrics::Metrics;
use crate::services::config::Endpoint;
use crate::services::error::{ProviderMetrics, ServiceError, Stage, clean_detail};
use crate::services::http::{Policy, error_detail, retryable_status, tls_config};
use crate::services::{
    StreamingTextToSpeech, TTS_SAMPLE_RATE, TtsEvent, TtsSession, TtsTurnEvent, WordTiming,
};

/// The `Cartesia-Version` these shapes were checked against.
pub const CARTESIA_VERSION: &str = "2026-03-01";

/// A Cartesia client; [`StreamingTextToSpeech::open`] starts one session task.
pub struct CartesiaTts {
    endpoint: Endpoint,
    policy: Policy,
    metrics: ProviderMetrics,
}

impl CartesiaTts {
    /// A client for `endpoint` (base `wss://api.cartesia.ai`, `voice` = voice id).
    pub fn new(endpoint: Endpoint, metrics: Option<&Metrics>) -> Self {
        let metrics = ProviderMetrics::new(metrics, Stage::Tts, &endpoint.provider);
        Self {
            endpoint,
            policy: Policy::tts(),
            metrics,
        }
    }

    /// Replace the retry/timeout policy (tests shorten the timeouts).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }
}

enum Cmd {
    Text(u64, String),
    End(u64),
    Cancel(u64),
}

struct CartesiaSession {
    cmds: mpsc::Sender<Cmd>,
    events: mpsc::Receiver<TtsTurnEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CartesiaSession {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[async_trait]
impl TtsSession for CartesiaSession {
    fn push_text(&mut self, turn: u64, sentence: &str) {
        let _ = self.cmds.try_send(Cmd::Text(turn, sentence.to_string()));
    }
    fn end_turn(&mut self, turn: u64) {
        let _ = self.cmds.try_send(Cmd::End(turn));
    }
    fn cancel_turn(&mut self, turn: u64) {
        let _ = self.cmds.try_send(Cmd::Cancel(turn));
    }
    async fn next_event(&mut self) -> Option<TtsTurnEvent> {
        self.events.recv().await
    }
}

impl StreamingTextToSpeech for CartesiaTts {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }
    fn sample_rate(&self) -> u32 {
        TTS_SAMPLE_RATE
    }
    fn open(&self) -> Box<dyn TtsSession> {
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let task = Task {
            endpoint: self.endpoint.clone(),
            policy: self.policy.clone(),
            metrics: self.metrics.clone(),
            cmds: cmd_rx,
            events: ev_tx,
            ws: None,
            ctx: None,
        };
        Box::new(CartesiaSession {
            cmds: cmd_tx,
            events: ev_rx,
            task: tokio::spawn(task.run()),
        })
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The context of the current bot turn.
struct Ctx {
    turn: u64,
    id: String,
    /// The end of input was sent.
    ended: bool,
    /// Text sent at, until the next audio (TTFB clock, then the idle limit).
    waiting_since: Option<Instant>,
    /// Audio arrived for this turn (TTFB recorded once).
    got_audio: bool,
    chunker: PcmChunker,
}

struct Task {
    endpoint: Endpoint,
    policy: Policy,
    metrics: ProviderMetrics,
    cmds: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<TtsTurnEvent>,
    ws: Option<Ws>,
    ctx: Option<Ctx>,
}

impl Task {
    async fn run(mut self) {
        loop {
            let deadline = self
                .ctx
                .as_ref()
                .and_then(|c| c.waiting_since)
                .map(|t| tokio::time::Instant::from_std(t + self.policy.ttfb));
            tokio::select! {
                cmd = self.cmds.recv() => match cmd {
                    Some(cmd) => self.on_cmd(cmd).await,
                    None => {
                        if let Some(ws) = self.ws.as_mut() {
                            let _ = ws.close(None).await;
                        }
                        return;
                    }
                },
                msg = next_msg(&mut self.ws) => match msg {
                    Some(Ok(Message::Text(t))) => self.on_text(t.as_str()).await,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        self.ws = None;
                        self.fail(ServiceError::StreamCut { stage: Stage::Tts }).await;
                    }
                    Some(Ok(_)) => {}
                },
                _ = sleep_until(deadline) => {
                    self.fail(ServiceError::Timeout { stage: Stage::Tts }).await;
                    // A context that missed its first byte is abandoned on the provider too.
                    self.ws = None;
                }
            }
        }
    }

    /// The current turn failed: report it once and forget its context.
    async fn fail(&mut self, e: ServiceError) {
        if let Some(ctx) = self.ctx.take() {
            self.metrics.error(&e);
            let _ = self.events.send(TtsTurnEvent::Error(ctx.turn, e)).await;
        }
    }

    fn message(&self, ctx_id: &str, transcript: &str, cont: bool) -> Message {
        let language = if self.endpoint.language.is_empty() {
            "en"
        } else {
            &self.endpoint.language
        };
        let v = json!({
            "model_id": self.endpoint.model,
            "transcript": transcript,
            "voice": {"mode": "id", "id": self.endpoint.voice},
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": TTS_SAMPLE_RATE},
            "language": language,
            "context_id": ctx_id,
            "continue": cont,
            "add_timestamps": true,
        });
        Message::text(v.to_string())
    }

    async fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Text(turn, text) => {
                if self.ctx.as_ref().is_some_and(|c| c.turn > turn) {
                    return; // A stale turn.
                }
                if self.ctx.as_ref().is_some_and(|c| c.turn < turn) {
                    // Still present means not done: cancel it on the provider.
                    let old = self.ctx.take().expect("checked");
                    self.send_cancel(&old.id).await;
                }
                if self.ctx.is_none() {
                    self.ctx = Some(Ctx {
                        turn,
                        id: uuid::Uuid::new_v4().to_string(),
                        ended: false,
                        waiting_since: None,
                        got_audio: false,
                        chunker: PcmChunker::new(1),
                    });
                }
                if self.ws.is_none()
                    && let Err(e) = self.connect().await
                {
                    self.fail(e).await;
                    return;
                }
                let ctx = self.ctx.as_mut().expect("set above");
                if ctx.waiting_since.is_none() {
                    ctx.waiting_since = Some(Instant::now());
                }
                let id = ctx.id.clone();
                let msg = self.message(&id, &text, true);
                self.send(msg).await;
            }
            Cmd::End(turn) => {
                let Some(ctx) = self.ctx.as_mut().filter(|c| c.turn == turn) else {
                    return;
                };
                ctx.ended = true;
                let id = ctx.id.clone();
                if self.ws.is_some() {
                    let msg = self.message(&id, "", false);
                    self.send(msg).await;
                } else {
                    // Nothing was ever sent for this turn.
                    self.ctx = None;
                    let _ = self.events.send(TtsTurnEvent::Done(turn)).await;
                }
            }
            Cmd::Cancel(turn) => {
                if let Some(ctx) = self.ctx.take_if(|c| c.turn <= turn) {
                    self.send_cancel(&ctx.id).await;
                }
            }
        }
    }

    async fn send_cancel(&mut self, id: &str) {
        let msg = Message::text(json!({"context_id": id, "cancel": true}).to_string());
        self.send(msg).await;
    }

    async fn send(&mut self, msg: Message) {
        if let Some(ws) = self.ws.as_mut()
            && ws.send(msg).await.is_err()
        {
            self.ws = None;
            self.fail(ServiceError::StreamCut { stage: Stage::Tts })
                .await;
        }
    }

    async fn connect(&mut self) -> Result<(), ServiceError> {
        let started = Instant::now();
        let mut attempt = 1u32;
        loop {
            let err = match self.connect_once().await {
                Ok(ws) => {
                    self.ws = Some(ws);
                    return Ok(());
                }
                Err(e) => e,
            };
            let retry = match &err {
                ServiceError::Status { status, .. } => retryable_status(*status),
                ServiceError::Connect { .. } | ServiceError::Timeout { .. } => true,
                _ => false,
            };
            let wait = self.policy.backoff(attempt);
            if !retry
                || attempt >= self.policy.max_attempts
                || started.elapsed() + wait > self.policy.chain_cap
            {
                return Err(err);
            }
            self.metrics.retry();
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn connect_once(&self) -> Result<Ws, ServiceError> {
        let stage = Stage::Tts;
        let url = format!(
            "{}/tts/websocket",
            self.endpoint.base_url.trim_end_matches('/')
        );
        let mut request = url
            .into_client_request()
            .map_err(|_| ServiceError::Connect { stage })?;
        let h = request.headers_mut();
        if let Some(key) = &self.endpoint.key {
            h.insert(
                "x-api-key",
                key.expose()
                    .parse()
                    .map_err(|_| ServiceError::Connect { stage })?,
            );
        }
        h.insert(
            "cartesia-version",
            CARTESIA_VERSION.parse().expect("valid header"),
        );
        h.insert(
            "user-agent",
            crate::services::http::USER_AGENT
                .parse()
                .expect("valid header"),
        );
        let connector = tokio_tungstenite::Connector::Rustls(Arc::new(tls_config(&[])));
        let connecting =
            tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector));
        match tokio::time::timeout(self.policy.ttfb, connecting).await {
            Err(_) => Err(ServiceError::Timeout { stage }),
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let status = resp.status().as_u16();
                let detail = resp.body().as_deref().and_then(error_detail);
                Err(
                    if (400..500).contains(&status) && !retryable_status(status) {
                        ServiceError::Rejected {
                            stage,
                            status,
                            detail,
                        }
                    } else {
                        ServiceError::Status {
                            stage,
                            status,
                            detail,
                        }
                    },
                )
            }
            Ok(Err(_)) => Err(ServiceError::Connect { stage }),
        }
    }

    async fn on_text(&mut self, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let ctx_id = v.get("context_id").and_then(Value::as_str).unwrap_or("");
        let Some(ctx) = self.ctx.as_mut().filter(|c| c.id == ctx_id) else {
            return; // Cancelled or unknown context.
        };
        let turn = ctx.turn;
        match v.get("type").and_then(Value::as_str) {
            Some("chunk") => {
                let Some(data) = v.get("data").and_then(Value::as_str) else {
                    return;
                };
                let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(data) else {
                    let e = ServiceError::Protocol {
                        stage: Stage::Tts,
                        detail: "chunk data is not base64".into(),
                    };
                    self.fail(e).await;
                    return;
                };
                if let Some(since) = ctx.waiting_since.take()
                    && !ctx.got_audio
                {
                    self.metrics.ttfb(since.elapsed());
                }
                ctx.got_audio = true;
                if let Some(pcm) = ctx.chunker.push(Bytes::from(raw)) {
                    let ev = TtsEvent::Audio {
                        pcm,
                        sample_rate: TTS_SAMPLE_RATE,
                    };
                    let _ = self.events.send(TtsTurnEvent::Event(turn, ev)).await;
                }
            }
            Some("timestamps") => {
                let wt = v.get("word_timestamps");
                let list = |k: &str| {
                    wt.and_then(|w| w.get(k))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                };
                let (words, starts, ends) = (list("words"), list("start"), list("end"));
                let timings: Vec<WordTiming> = words
                    .iter()
                    .zip(starts.iter().zip(ends.iter()))
                    .filter_map(|(w, (s, e))| {
                        Some(WordTiming {
                            word: w.as_str()?.to_string(),
                            start_ms: s.as_f64()? * 1000.0,
                            end_ms: e.as_f64()? * 1000.0,
                        })
                    })
                    .collect();
                if !timings.is_empty() {
                    let ev = TtsEvent::Words(timings);
                    let _ = self.events.send(TtsTurnEvent::Event(turn, ev)).await;
                }
            }
            Some("done") if ctx.ended => {
                self.ctx = None;
                let _ = self.events.send(TtsTurnEvent::Done(turn)).await;
            }
            Some("error") => {
                let status = v.get("status_code").and_then(Value::as_u64).unwrap_or(0);
                let msg = v
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        let title = v.get("title").and_then(Value::as_str).unwrap_or("");
                        let message = v.get("message").and_then(Value::as_str).unwrap_or("");
                        let code = v.get("error_code").and_then(Value::as_str).unwrap_or("");
                        let s = format!("{title}: {message} ({code})");
                        (s != ":  ()").then_some(s)
                    })
                    .unwrap_or_else(|| "error message".into());
                let detail = if status > 0 {
                    clean_detail(&format!("{status}: {msg}"))
                } else {
                    clean_detail(&msg)
                };
                self.fail(ServiceError::Provider {
                    stage: Stage::Tts,
                    detail,
                })
                .await;
            }
            _ => {} // flush_done, phoneme_timestamps, unknown.
        }
    }
}

async fn next_msg(ws: &mut Option<Ws>) -> Option<Result<Message, tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
