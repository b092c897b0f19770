//! Deepgram live STT over WebSocket (`providers.md` §3).
//!
//! One socket per voice session, owned by one task: `GET {base}/v1/listen?model=…&encoding=
//! linear16&sample_rate=16000&channels=1&interim_results=true&punctuate=true&smart_format=true
//! &endpointing=300&utterance_end_ms=1000&vad_events=true&language=…` with `Authorization:
//! Token <key>`. Audio goes as binary PCM s16le 16 kHz mono messages; `{"type":"KeepAlive"}`
//! after 5 s without audio; `{"type":"Finalize"}` at each turn end; `{"type":"CloseStream"}`
//! at session end (then ≤ 1 s for the last results). Audio is buffered (≤ 5 s, oldest
//! dropped) while the socket is not open. A close voxray did not ask for reconnects after
//! 0.25, 0.5, 1, 2, 4 s, then gives up; a refused handshake with a 4xx is not retried.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use crate::metrics::Metrics;
use crate::services::config::Endpoint;
use crate::services::error::{ProviderMetrics, ServiceError, Stage};
use crate::services::http::{error_detail, retryable_status, tls_config};
use crate::services::{STT_SAMPLE_RATE, StreamingSpeechToText, SttEvent, SttSession};

/// Audio kept while the socket is not open: 5 s of PCM s16le 16 kHz mono, bytes.
pub const MAX_BUFFERED_BYTES: usize = 5 * STT_SAMPLE_RATE as usize * 2;

/// Timing knobs (defaults per §3; tests shorten them).
#[derive(Debug, Clone)]
pub struct DeepgramTiming {
    /// Waits before each reconnect attempt; after the last, give up.
    pub reconnect: Vec<Duration>,
    /// KeepAlive after this long without audio.
    pub keep_alive: Duration,
    /// Handshake limit.
    pub connect_timeout: Duration,
    /// Wait for the last results after `CloseStream`.
    pub close_wait: Duration,
}

impl Default for DeepgramTiming {
    fn default() -> Self {
        Self {
            reconnect: [250, 500, 1000, 2000, 4000]
                .into_iter()
                .map(Duration::from_millis)
                .collect(),
            keep_alive: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            close_wait: Duration::from_secs(1),
        }
    }
}

/// A Deepgram live client: [`StreamingSpeechToText::open`] starts one socket task.
pub struct DeepgramStt {
    endpoint: Endpoint,
    timing: DeepgramTiming,
    metrics: ProviderMetrics,
}

impl DeepgramStt {
    /// A client for `endpoint` (base `wss://api.deepgram.com`).
    pub fn new(endpoint: Endpoint, metrics: Option<&Metrics>) -> Self {
        let metrics = ProviderMetrics::new(metrics, Stage::Stt, &endpoint.provider);
        Self {
            endpoint,
            timing: DeepgramTiming::default(),
            metrics,
        }
    }

    /// Replace the timing (tests shorten the waits).
    pub fn with_timing(mut self, timing: DeepgramTiming) -> Self {
        self.timing = timing;
        self
    }

    /// The listen URL (§3).
    pub fn url(&self) -> String {
        let language = if self.endpoint.language.is_empty() {
            "en"
        } else {
            &self.endpoint.language
        };
        format!(
            "{}/v1/listen?model={}&encoding=linear16&sample_rate={STT_SAMPLE_RATE}&channels=1&interim_results=true&punctuate=true&smart_format=true&endpointing=300&utterance_end_ms=1000&vad_events=true&language={}",
            self.endpoint.base_url.trim_end_matches('/'),
            enc(&self.endpoint.model),
            enc(language),
        )
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

enum Cmd {
    Audio(Bytes),
    Finalize,
    Close(oneshot::Sender<()>),
}

/// The session handle; dropping it ends the socket task.
struct DeepgramSession {
    cmds: mpsc::Sender<Cmd>,
    events: mpsc::Receiver<SttEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DeepgramSession {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[async_trait]
impl SttSession for DeepgramSession {
    fn send_audio(&mut self, pcm: &[i16]) {
        let mut bytes = Vec::with_capacity(pcm.len() * 2);
        for s in pcm {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        // A full queue means the task is far behind: drop this frame rather than block.
        let _ = self.cmds.try_send(Cmd::Audio(Bytes::from(bytes)));
    }
    fn finalize(&mut self) {
        let _ = self.cmds.try_send(Cmd::Finalize);
    }
    async fn next_event(&mut self) -> Option<SttEvent> {
        self.events.recv().await
    }
    async fn close(self: Box<Self>) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Close(tx)).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(3), rx).await;
        }
    }
}

#[async_trait]
impl StreamingSpeechToText for DeepgramStt {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }
    fn model(&self) -> &str {
        &self.endpoint.model
    }
    fn open(&self) -> Box<dyn SttSession> {
        let (cmd_tx, cmd_rx) = mpsc::channel(512);
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let task = SocketTask {
            url: self.url(),
            key: self.endpoint.key.clone(),
            timing: self.timing.clone(),
            metrics: self.metrics.clone(),
            cmds: cmd_rx,
            events: ev_tx,
            buffer: VecDeque::new(),
            buffered: 0,
            finalize_at: None,
        };
        Box::new(DeepgramSession {
            cmds: cmd_tx,
            events: ev_rx,
            task: tokio::spawn(task.run()),
        })
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct SocketTask {
    url: String,
    key: Option<crate::config::Secret>,
    timing: DeepgramTiming,
    metrics: ProviderMetrics,
    cmds: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<SttEvent>,
    buffer: VecDeque<Bytes>,
    buffered: usize,
    /// When the pending `Finalize` was sent (STT TTFB clock).
    finalize_at: Option<Instant>,
}

/// Why a connected phase ended.
enum Ended {
    /// Session closed (by `close` or the handle going away).
    Done,
    /// The socket was lost.
    Lost,
}

impl SocketTask {
    async fn run(mut self) {
        let mut failures = 0usize;
        loop {
            match self.connect().await {
                Ok(ws) => {
                    failures = 0;
                    match self.connected(ws).await {
                        Ended::Done => return,
                        Ended::Lost => {
                            let e = ServiceError::StreamCut { stage: Stage::Stt };
                            self.metrics.error(&e);
                            if self.finalize_at.take().is_some() {
                                let _ = self.events.send(SttEvent::Error(e)).await;
                            }
                        }
                    }
                }
                Err(e) => {
                    let fatal = matches!(e, ServiceError::Rejected { .. });
                    if fatal || failures >= self.timing.reconnect.len() {
                        self.metrics.error(&e);
                        let _ = self.events.send(SttEvent::Error(e)).await;
                        return;
                    }
                }
            }
            let Some(wait) = self.timing.reconnect.get(failures).copied() else {
                let e = ServiceError::Connect { stage: Stage::Stt };
                self.metrics.error(&e);
                let _ = self.events.send(SttEvent::Error(e)).await;
                return;
            };
            failures += 1;
            self.metrics.retry();
            // Keep taking audio (buffered) while waiting.
            let until = tokio::time::Instant::now() + wait;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => break,
                    cmd = self.cmds.recv() => match cmd {
                        Some(Cmd::Audio(b)) => self.buffer_audio(b),
                        Some(Cmd::Finalize) => {}
                        Some(Cmd::Close(done)) => {
                            let _ = done.send(());
                            return;
                        }
                        None => return,
                    }
                }
            }
        }
    }

    fn buffer_audio(&mut self, b: Bytes) {
        self.buffered += b.len();
        self.buffer.push_back(b);
        while self.buffered > MAX_BUFFERED_BYTES {
            match self.buffer.pop_front() {
                Some(old) => self.buffered -= old.len(),
                None => break,
            }
        }
    }

    async fn connect(&mut self) -> Result<Ws, ServiceError> {
        let stage = Stage::Stt;
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|_| ServiceError::Connect { stage })?;
        if let Some(key) = &self.key {
            let value = format!("Token {}", key.expose());
            request.headers_mut().insert(
                "authorization",
                value.parse().map_err(|_| ServiceError::Connect { stage })?,
            );
        }
        request.headers_mut().insert(
            "user-agent",
            crate::services::http::USER_AGENT
                .parse()
                .expect("valid header"),
        );
        let connector = tokio_tungstenite::Connector::Rustls(Arc::new(tls_config(&[])));
        // Audio sent while connecting is buffered by the command loop below.
        let connecting =
            tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector));
        tokio::pin!(connecting);
        let deadline = tokio::time::sleep(self.timing.connect_timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                res = &mut connecting => {
                    return match res {
                        Ok((ws, _)) => Ok(ws),
                        Err(tungstenite::Error::Http(resp)) => {
                            let status = resp.status().as_u16();
                            let detail = resp.body().as_deref().and_then(error_detail);
                            Err(if (400..500).contains(&status) && !retryable_status(status) {
                                ServiceError::Rejected { stage, status, detail }
                            } else {
                                ServiceError::Status { stage, status, detail }
                            })
                        }
                        Err(_) => Err(ServiceError::Connect { stage }),
                    };
                }
                _ = &mut deadline => return Err(ServiceError::Timeout { stage }),
                cmd = self.cmds.recv() => match cmd {
                    Some(Cmd::Audio(b)) => self.buffer_audio(b),
                    Some(Cmd::Finalize) => {}
                    // Closing before the socket opened: nothing to flush.
                    Some(Cmd::Close(done)) => {
                        let _ = done.send(());
                        return Err(ServiceError::Connect { stage });
                    }
                    None => return Err(ServiceError::Connect { stage }),
                }
            }
        }
    }

    async fn connected(&mut self, mut ws: Ws) -> Ended {
        // Flush what was buffered while the socket was down.
        while let Some(b) = self.buffer.pop_front() {
            self.buffered -= b.len();
            if ws.send(Message::Binary(b)).await.is_err() {
                return Ended::Lost;
            }
        }
        let mut last_audio = Instant::now();
        let mut tick = tokio::time::interval(self.timing.keep_alive / 2);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = self.cmds.recv() => match cmd {
                    Some(Cmd::Audio(b)) => {
                        last_audio = Instant::now();
                        if ws.send(Message::Binary(b)).await.is_err() {
                            return Ended::Lost;
                        }
                    }
                    Some(Cmd::Finalize) => {
                        self.finalize_at = Some(Instant::now());
                        if ws.send(Message::text(r#"{"type":"Finalize"}"#)).await.is_err() {
                            return Ended::Lost;
                        }
                    }
                    Some(Cmd::Close(done)) => {
                        self.close_stream(&mut ws).await;
                        let _ = done.send(());
                        return Ended::Done;
                    }
                    None => {
                        self.close_stream(&mut ws).await;
                        return Ended::Done;
                    }
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => self.on_text(t.as_str()).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ended::Lost,
                    Some(Ok(_)) => {}
                },
                _ = tick.tick() => {
                    if last_audio.elapsed() >= self.timing.keep_alive {
                        if ws.send(Message::text(r#"{"type":"KeepAlive"}"#)).await.is_err() {
                            return Ended::Lost;
                        }
                        last_audio = Instant::now();
                    }
                }
            }
        }
    }

    async fn close_stream(&mut self, ws: &mut Ws) {
        if ws
            .send(Message::text(r#"{"type":"CloseStream"}"#))
            .await
            .is_ok()
        {
            let close_wait = self.timing.close_wait;
            let wait = async {
                while let Some(Ok(msg)) = ws.next().await {
                    match msg {
                        Message::Text(t) => self.on_text(t.as_str()).await,
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
            };
            let _ = tokio::time::timeout(close_wait, wait).await;
        }
        let _ = ws.close(None).await;
    }

    async fn on_text(&mut self, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        match v.get("type").and_then(Value::as_str) {
            Some("Results") => {
                let transcript = v
                    .pointer("/channel/alternatives/0/transcript")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim();
                let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
                let is_final = flag("is_final");
                let from_finalize = flag("from_finalize");
                if from_finalize && let Some(at) = self.finalize_at.take() {
                    self.metrics.ttfb(at.elapsed());
                }
                if transcript.is_empty() {
                    return;
                }
                let ev = if is_final {
                    SttEvent::Final {
                        text: transcript.to_string(),
                        speech_final: flag("speech_final"),
                        from_finalize,
                    }
                } else {
                    SttEvent::Interim(transcript.to_string())
                };
                let _ = self.events.send(ev).await;
            }
            Some("UtteranceEnd") => {
                let _ = self.events.send(SttEvent::UtteranceEnd).await;
            }
            Some("SpeechStarted") => {
                let _ = self.events.send(SttEvent::SpeechStarted).await;
            }
            _ => {} // Metadata and unknown types.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_keeps_the_last_five_seconds() {
        let (_cmd_tx, cmd_rx) = mpsc::channel(1);
        let (ev_tx, _ev_rx) = mpsc::channel(1);
        let mut t = SocketTask {
            url: String::new(),
            key: None,
            timing: DeepgramTiming::default(),
            metrics: ProviderMetrics::new(None, Stage::Stt, "deepgram"),
            cmds: cmd_rx,
            events: ev_tx,
            buffer: VecDeque::new(),
            buffered: 0,
            finalize_at: None,
        };
        // 6 s of 100 ms frames, each tagged with its index.
        for i in 0..60u8 {
            t.buffer_audio(Bytes::from(vec![i; 3200]));
        }
        assert_eq!(t.buffered, MAX_BUFFERED_BYTES);
        assert_eq!(t.buffer.len(), 50);
        assert_eq!(
            t.buffer.front().unwrap()[0],
            10,
            "the oldest second was dropped"
        );
    }

    #[test]
    fn listen_url_carries_model_and_language() {
        let stt = DeepgramStt::new(
            Endpoint {
                provider: "deepgram".into(),
                base_url: "wss://api.deepgram.com".into(),
                model: "nova-3".into(),
                language: "fr".into(),
                ..Endpoint::default()
            },
            None,
        );
        assert_eq!(
            stt.url(),
            "wss://api.deepgram.com/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000&channels=1&interim_results=true&punctuate=true&smart_format=true&endpointing=300&utterance_end_ms=1000&vad_events=true&language=fr"
        );
    }
}
