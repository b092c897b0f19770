//! The `/ws` transport (`wire.md` §1): one WebSocket = one session.
//!
//! One task per session reads client messages, decodes them with the session's
//! [`WireFormat`], pushes frames into the pipeline (audio without waiting: a full inbox drops
//! the new frame and counts it), and writes the pipeline's output back, paced by a virtual
//! playout clock (`pipeline.md` §3: a frame is written when `play_end − now ≤ 100 ms`). It
//! enforces the liveness (ping every 20 s, gone after 45 s of silence), idle, max-duration,
//! slow-consumer (4008 after 5 s blocked) and shutdown (1001) rules, and a message over
//! `ws_max_message_bytes` closes with 1009.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant as TokioInstant, sleep_until, timeout};

use crate::audio::{pcm, resample::StreamResampler};
use crate::metrics::Metrics;
use crate::pipeline::agent::{echo::Echo, rtvi};
use crate::pipeline::frame::{AudioFrame, Frame};
use crate::pipeline::{Pipeline, PipelineBuilder};
use crate::session::Slot;
use crate::transport::serializer::{self, Encoder, Inbound, Outgoing, WireFormat};
use crate::transport::session::{Control, SessionGuard, control_frame, push_audio};

/// Server ping interval.
const PING_EVERY: Duration = Duration::from_secs(20);
/// No inbound frame of any kind for this long: the peer is gone.
const LIVENESS: Duration = Duration::from_secs(45);
/// Writes blocked this long: close 4008 `slow consumer`.
const WRITE_STALL: Duration = Duration::from_secs(5);
/// Lead of the playout clock: the client never holds more than this plus one frame.
const PLAYOUT_LEAD: Duration = Duration::from_millis(100);
/// After our close frame, wait at most this long for the peer's.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// At most one malformed-message `error` event per second.
const ERROR_EVENT_EVERY: Duration = Duration::from_secs(1);

/// Per-connection settings from the query string and the config (`wire.md` §1.2).
#[derive(Debug, Clone)]
pub struct WsParams {
    /// Wire mode.
    pub format: WireFormat,
    /// Inbound rate in Hz when a message does not state it.
    pub sample_rate: u32,
    /// Outbound rate in Hz; `None` = the pipeline's (echo: the inbound rate).
    pub out_sample_rate: Option<u32>,
    /// `ws_idle_timeout_secs` (0 = off).
    pub idle_timeout: Option<Duration>,
    /// `rtc_max_duration_secs` (0 = off), from the first inbound audio.
    pub max_duration: Option<Duration>,
}

/// Why the session ended, with the close code and reason sent (`wire.md` §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed or vanished: no close frame of ours.
    ClientGone,
    /// We close with this code and reason.
    Close(u16, &'static str),
}

/// Resamples inbound audio to the session rate and outbound audio to `out_sample_rate`,
/// creating one stateful resampler per (source rate, direction) on demand.
#[derive(Default)]
struct Rates {
    inbound: Option<(u32, StreamResampler)>,
    outbound: Option<StreamResampler>,
}

/// Run one WebSocket session to its end. `slot` is the admission slot it holds.
pub async fn run(
    socket: WebSocket,
    params: WsParams,
    metrics: Metrics,
    mut close_signal: tokio::sync::watch::Receiver<bool>,
    slot: Slot,
) {
    let guard = SessionGuard::new(&metrics, "websocket", Some(slot));
    tracing::info!(format = ?params.format, sample_rate = params.sample_rate, "websocket session started");

    let pipeline = PipelineBuilder::default().then(Echo).start();
    let end = drive(socket, &params, &metrics, &mut close_signal, pipeline).await;

    match end {
        End::ClientGone => tracing::info!(
            secs = guard.elapsed_secs(),
            "websocket session ended: client disconnected"
        ),
        End::Close(code, reason) => {
            tracing::info!(
                code,
                reason,
                secs = guard.elapsed_secs(),
                "websocket session closed"
            )
        }
    }
}

async fn drive(
    socket: WebSocket,
    params: &WsParams,
    metrics: &Metrics,
    close_signal: &mut tokio::sync::watch::Receiver<bool>,
    mut pipeline: Pipeline,
) -> End {
    let (mut sink, mut stream) = socket.split();
    let mut encoder = Encoder::default();
    let mut rates = Rates::default();
    let mut held: Option<Frame> = None;
    let mut play_end = TokioInstant::now();
    let mut last_inbound = TokioInstant::now();
    let mut last_data = TokioInstant::now();
    let mut first_audio: Option<TokioInstant> = None;
    let mut last_error_event: Option<Instant> = None;
    let mut ping = tokio::time::interval_at(TokioInstant::now() + PING_EVERY, PING_EVERY);
    let mut housekeeping = tokio::time::interval(Duration::from_millis(250));
    let in_flight_ms = |f: &Frame| match f {
        Frame::OutputAudio { audio, .. } => Some(Duration::from_secs_f64(audio.duration_secs())),
        _ => None,
    };

    let end = loop {
        // When may the held frame be written? Audio waits for the playout clock.
        let write_at = held.as_ref().map(|f| match in_flight_ms(f) {
            Some(_) if play_end > TokioInstant::now() + PLAYOUT_LEAD => play_end - PLAYOUT_LEAD,
            _ => TokioInstant::now(),
        });
        tokio::select! {
            biased;
            _ = close_signal.changed() => {
                if *close_signal.borrow() {
                    break End::Close(1001, "shutdown");
                }
            }
            msg = stream.next() => {
                let msg = match msg {
                    None => break End::ClientGone,
                    Some(Err(e)) => {
                        if is_capacity(&e) {
                            break End::Close(1009, "message too big");
                        }
                        tracing::debug!(error = %e, "websocket read failed");
                        break End::ClientGone;
                    }
                    Some(Ok(m)) => m,
                };
                let t_in = Instant::now();
                last_inbound = TokioInstant::now();
                let decoded = match msg {
                    Message::Binary(data) => {
                        last_data = last_inbound;
                        metrics.ws_messages.with_label_values(&["in"]).inc();
                        serializer::decode_binary(params.format, data, params.sample_rate)
                    }
                    Message::Text(text) => {
                        last_data = last_inbound;
                        metrics.ws_messages.with_label_values(&["in"]).inc();
                        serializer::decode_json_text(text.as_str())
                    }
                    Message::Close(_) => {
                        // tungstenite has queued the reply to the client's close (RFC 6455
                        // §5.5.1); flush it before the connection is dropped.
                        let _ = timeout(CLOSE_WAIT, sink.close()).await;
                        break End::ClientGone;
                    }
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                let inbound = match decoded {
                    Ok(v) => v,
                    Err(e) => {
                        metrics.ws_invalid_messages.inc();
                        tracing::debug!(error = %e, "dropped malformed websocket message");
                        if last_error_event.is_none_or(|t| t.elapsed() >= ERROR_EVENT_EVERY) {
                            last_error_event = Some(Instant::now());
                            let ev = Frame::UrgentMessage(rtvi::error_event(&e.to_string(), false));
                            if let Some(out) = encoder.encode(params.format, &ev)
                                && send(&mut sink, out).await.is_err()
                            {
                                break End::ClientGone;
                            }
                        }
                        continue;
                    }
                };
                for item in inbound {
                    let frame = match item {
                        Inbound::Audio { pcm: data, sample_rate, num_channels } => {
                            first_audio.get_or_insert(last_inbound);
                            let rate = if sample_rate == 0 { params.sample_rate } else { sample_rate };
                            let mono = pcm::downmix(&data, num_channels as usize);
                            let mono = if rate == params.sample_rate {
                                mono
                            } else {
                                match &mut rates.inbound {
                                    Some((from, r)) if *from == rate => r.process_pcm(&mono),
                                    slot => match StreamResampler::new(rate, params.sample_rate) {
                                        Ok(mut r) => {
                                            let out = r.process_pcm(&mono);
                                            *slot = Some((rate, r));
                                            out
                                        }
                                        Err(e) => {
                                            tracing::debug!(error = %e, "dropped audio at an unsupported rate");
                                            metrics.ws_invalid_messages.inc();
                                            continue;
                                        }
                                    },
                                }
                            };
                            let audio = AudioFrame { pcm: mono, sample_rate: params.sample_rate, num_channels: 1 };
                            if !push_audio(&pipeline.input, audio, t_in, metrics) {
                                break;
                            }
                            continue;
                        }
                        other => match control_frame(other) {
                            Control::Frame(f) => f,
                            Control::Skip => continue,
                            Control::Invalid => {
                                metrics.ws_invalid_messages.inc();
                                continue;
                            }
                        },
                    };
                    // Control messages are never dropped: they wait.
                    pipeline.input.send(frame).await;
                }
            }
            frame = pipeline.output.recv(), if held.is_none() => {
                match frame {
                    None | Some(Frame::End { .. }) => break End::Close(1000, "ended"),
                    Some(f) => held = Some(f),
                }
            }
            _ = sleep_until(write_at.unwrap_or_else(TokioInstant::now)), if held.is_some() => {
                let mut frame = held.take().expect("guarded by the branch condition");
                if let Some(dur) = in_flight_ms(&frame) {
                    let now = TokioInstant::now();
                    play_end = play_end.max(now) + dur;
                }
                if let (Some(out_rate), Frame::OutputAudio { audio, .. }) = (params.out_sample_rate, &mut frame)
                    && out_rate != audio.sample_rate
                {
                    let r = match &mut rates.outbound {
                        Some(r) => r,
                        slot => match StreamResampler::new(audio.sample_rate, out_rate) {
                            Ok(r) => slot.insert(r),
                            Err(_) => continue,
                        },
                    };
                    audio.pcm = r.process_pcm(&audio.pcm);
                    audio.sample_rate = out_rate;
                }
                let t_in = match &frame {
                    Frame::OutputAudio { t_in, .. } => *t_in,
                    _ => None,
                };
                let Some(out) = encoder.encode(params.format, &frame) else { continue };
                match timeout(WRITE_STALL, send(&mut sink, out)).await {
                    Err(_) => break End::Close(4008, "slow consumer"),
                    Ok(Err(_)) => break End::ClientGone,
                    Ok(Ok(())) => {
                        last_data = TokioInstant::now();
                        metrics.ws_messages.with_label_values(&["out"]).inc();
                        if let Some(t) = t_in {
                            metrics.audio_frame_latency.with_label_values(&["websocket"]).observe(t.elapsed().as_secs_f64());
                        }
                    }
                }
            }
            _ = ping.tick() => {
                match timeout(WRITE_STALL, sink.send(Message::Ping(Bytes::new()))).await {
                    Err(_) => break End::Close(4008, "slow consumer"),
                    Ok(Err(_)) => break End::ClientGone,
                    Ok(Ok(())) => {}
                }
            }
            _ = housekeeping.tick() => {
                let now = TokioInstant::now();
                if now.duration_since(last_inbound) >= LIVENESS {
                    break End::ClientGone;
                }
                if params.idle_timeout.is_some_and(|t| now.duration_since(last_data) >= t) {
                    break End::Close(1000, "idle timeout");
                }
                if let (Some(max), Some(first)) = (params.max_duration, first_audio)
                    && now.duration_since(first) >= max
                {
                    break End::Close(1000, "max duration reached");
                }
            }
        }
    };
    drop(pipeline);

    if let End::Close(code, reason) = end {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        if timeout(CLOSE_WAIT, sink.send(close))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            // Wait briefly for the peer's close frame, then drop the connection.
            let _ = timeout(CLOSE_WAIT, async {
                while let Some(Ok(m)) = stream.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
    end
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    out: Outgoing,
) -> Result<(), axum::Error> {
    match out {
        Outgoing::Binary(b) => sink.send(Message::Binary(b)).await,
        Outgoing::Text(t) => sink.send(Message::Text(t.into())).await,
    }
}

/// Whether a read error is tungstenite's "message too big".
fn is_capacity(e: &axum::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("capacity") || text.contains("too long") || text.contains("too big")
}
