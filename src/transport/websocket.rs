//! The `/ws` transport (`wire.md` §1): one WebSocket = one session, driven by one task.
//!
//! The input half never waits on the output half (`DESIGN.md`, "Transports"): inbound audio is
//! pushed without waiting (a full pipeline inbox drops the new frame and counts it); control
//! messages wait in a small bounded queue of their own, sent into the pipeline as room
//! appears, while the loop keeps draining the pipeline's output, answering pings and enforcing
//! the liveness, idle, max-duration, slow-consumer (4008 after 5 s blocked) and shutdown
//! (1001) rules. When that control queue is full the socket is simply not read (TCP pushes
//! back on the client) — nothing is lost and nothing deadlocks.
//!
//! Output goes through the shared [`OutputStage`]: frames that may be written now are written
//! at once (several due together go out in one flush); the loop sleeps only until the playout
//! clock's next deadline. A message over `ws_max_message_bytes` closes with 1009; a fatal
//! pipeline error sends RTVI `error` then closes with 1011.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::time::{Instant as TokioInstant, timeout};

use crate::metrics::Metrics;
use crate::pipeline::agent::{Agent, rtvi};
use crate::pipeline::context::SessionContext;
use crate::pipeline::frame::Frame;
use crate::session::Slot;
use crate::transport::input::AudioIn;
use crate::transport::output::OutputStage;
use crate::transport::serializer::{self, Inbound, Outgoing, Serializer, WireFormat, WireMessage};
use crate::transport::session::{Control, SessionGuard, control_frame, push_audio};
use crate::transport::telephony::PhoneCall;

/// Server ping interval.
const PING_EVERY: Duration = Duration::from_secs(20);
/// No inbound frame of any kind for this long: the peer is gone.
const LIVENESS: Duration = Duration::from_secs(45);
/// Writes blocked this long: close 4008 `slow consumer`.
const WRITE_STALL: Duration = Duration::from_secs(5);
/// After our close frame, wait at most this long for the peer's.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// At most one malformed-message `error` event per second.
const ERROR_EVENT_EVERY: Duration = Duration::from_secs(1);
/// Control messages (RTVI, text, DTMF) waiting for room in the pipeline; when full, the socket
/// is not read until one goes.
const MAX_PENDING_CONTROL: usize = 32;
/// When voxray ends a phone call, queued bot audio is played for at most this long before
/// the hang-up (`wire.md` §3.4).
const PLAY_OUT_MAX: Duration = Duration::from_secs(2);

/// Echo audio the output stage may hold before new inbound frames are dropped: the 2 s output
/// queue plus what the echo stage's two 64-frame channels held before echo audio skipped them
/// (`pipeline.md` §3: real-time audio is dropped, never delayed without bound).
const ECHO_BACKLOG: Duration = Duration::from_millis(4_500);

/// tungstenite's read buffer per connection, bytes (`pipeline.md` §10: buffers sized for
/// 20 ms frames). tungstenite's default of 128 KiB is zero-filled before every socket read and
/// re-allocated whenever a received payload is still alive (echo keeps it until it is sent
/// back): at 600 sessions that memset was the largest single cost, and it cost ~130 KiB of RSS
/// per session. 4 KiB holds a 20 ms frame at 48 kHz stereo (3.8 KiB); larger messages still
/// arrive whole (the buffer grows to the message's length).
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes queued by `feed` before tungstenite writes to the socket on its own; a batch of due
/// frames is written with one flush well below this.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Per-connection settings from the query string and the config (`wire.md` §1.2).
#[derive(Debug, Clone)]
pub struct WsParams {
    /// Wire mode.
    pub format: WireFormat,
    /// Inbound rate in Hz when a message does not state it; also the pipeline input rate.
    pub sample_rate: u32,
    /// Outbound rate in Hz; `None` = the pipeline's (echo and parrot: the inbound rate).
    pub out_sample_rate: Option<u32>,
    /// `ws_idle_timeout_secs` (0 = off).
    pub idle_timeout: Option<Duration>,
    /// `rtc_max_duration_secs` (0 = off), from the first inbound audio.
    pub max_duration: Option<Duration>,
}

/// Why the session ended, with the close code and reason sent (`wire.md` §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client closed or vanished: no close frame of ours.
    ClientGone,
    /// We close with this code and reason.
    Close(u16, &'static str),
}

/// What a transport plugs into the one driver: its metrics label, its per-session serializer
/// and, for a phone call, the call voxray hangs up when it ends the session itself.
pub struct Wire {
    /// `transport` label of the session metrics (`websocket`, `telephony`).
    pub transport: &'static str,
    /// The per-session wire format.
    pub serializer: Box<dyn Serializer>,
    /// The phone call carried by this socket (`/telephony/ws`), if any.
    pub call: Option<PhoneCall>,
}

/// Run one `/ws` session of `agent` to its end. `slot` is the admission slot it holds.
pub async fn run(
    socket: WebSocket,
    params: WsParams,
    metrics: Metrics,
    close_signal: tokio::sync::watch::Receiver<bool>,
    slot: Slot,
    agent: Agent,
) {
    let wire = Wire {
        transport: "websocket",
        serializer: serializer::for_format(params.format, params.sample_rate),
        call: None,
    };
    run_wire(socket, params, metrics, close_signal, slot, agent, wire).await;
}

/// Run one session of `agent` over `socket` in the wire format of `wire` to its end (the one
/// drive loop of `/ws` and `/telephony/ws`). `slot` is the admission slot it holds.
pub async fn run_wire(
    socket: WebSocket,
    params: WsParams,
    metrics: Metrics,
    mut close_signal: tokio::sync::watch::Receiver<bool>,
    slot: Slot,
    agent: Agent,
    wire: Wire,
) {
    let guard = SessionGuard::new(&metrics, wire.transport, Some(slot));
    let session = SessionContext::new(
        uuid::Uuid::new_v4().to_string(),
        agent.params,
        metrics.clone(),
    );
    tracing::info!(
        session = %session.id,
        transport = wire.transport,
        format = ?params.format,
        sample_rate = params.sample_rate,
        pipeline = session.params.pipeline,
        "websocket session started"
    );
    // Echo's audio goes from the input half straight to the output stage: no task hop and no
    // channel per frame. Everything else (text, RTVI) still passes through its pipeline.
    let inline_echo = agent.pipeline.is_audio_passthrough();
    let end = drive(
        socket,
        &params,
        &metrics,
        &mut close_signal,
        agent.pipeline,
        agent.output,
        wire,
        session.clone(),
        inline_echo,
    )
    .await;
    session.tasks.close();
    match end {
        End::ClientGone => tracing::info!(
            session = %session.id,
            secs = guard.elapsed_secs(),
            "websocket session ended: client disconnected"
        ),
        End::Close(code, reason) => tracing::info!(
            session = %session.id,
            code,
            reason,
            secs = guard.elapsed_secs(),
            "websocket session closed"
        ),
    }
}

/// What writing a batch of frames led to.
enum Wrote {
    Ok,
    End(End),
}

/// The per-session writer: encodes frames and writes them, one flush per batch.
struct Writer<'a> {
    serializer: Box<dyn Serializer>,
    messages_out: prometheus::IntCounter,
    latency: prometheus::Histogram,
    last_data: &'a mut TokioInstant,
}

impl Writer<'_> {
    /// Encode and write `frames` (drained), then flush once. A fatal error is written first,
    /// then ends the session with 1011; `End` ends it with 1000.
    async fn write(&mut self, socket: &mut WebSocket, frames: &mut Vec<Frame>) -> Wrote {
        if frames.is_empty() {
            return Wrote::Ok;
        }
        let mut end = None;
        let mut sent = 0usize;
        let mut t_ins: [Option<Instant>; 8] = [None; 8];
        let result = timeout(WRITE_STALL, async {
            for frame in frames.drain(..) {
                match &frame {
                    Frame::End { .. } | Frame::Cancel { .. } => {
                        end = Some(End::Close(1000, "ended"));
                        break;
                    }
                    Frame::Error { fatal: true, .. } => {
                        end = Some(End::Close(1011, "internal error"));
                    }
                    _ => {}
                }
                let Some(out) = self.serializer.encode(&frame) else {
                    continue;
                };
                if let Frame::OutputAudio { t_in: Some(t), .. } = frame
                    && sent < t_ins.len()
                {
                    t_ins[sent] = Some(t);
                }
                socket.feed(to_message(out)).await?;
                sent += 1;
                if end.is_some() {
                    break;
                }
            }
            socket.flush().await
        })
        .await;
        frames.clear();
        match result {
            Err(_) => return Wrote::End(End::Close(4008, "slow consumer")),
            Ok(Err(_)) => return Wrote::End(End::ClientGone),
            Ok(Ok(())) => {}
        }
        if sent > 0 {
            *self.last_data = TokioInstant::now();
            self.messages_out.inc_by(sent as u64);
            for t in t_ins.iter().flatten() {
                self.latency.observe(t.elapsed().as_secs_f64());
            }
        }
        match end {
            Some(e) => Wrote::End(e),
            None => Wrote::Ok,
        }
    }
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
async fn drive(
    mut socket: WebSocket,
    params: &WsParams,
    metrics: &Metrics,
    close_signal: &mut tokio::sync::watch::Receiver<bool>,
    builder: crate::pipeline::PipelineBuilder,
    output_opts: crate::transport::output::OutputOptions,
    wire: Wire,
    session: std::sync::Arc<SessionContext>,
    inline_echo: bool,
) -> End {
    let Wire {
        transport,
        serializer,
        call,
    } = wire;
    let mut pipeline = builder.start(session.clone());
    let mut output = OutputStage::new(session.clone(), output_opts, pipeline.feedback.clone());
    if call.as_ref().is_some_and(PhoneCall::confirms_playout) {
        output.confirm_by_marks();
    }
    // Echo runs at the client's rate; parrot and voice at the VAD's 16 kHz.
    let mut audio_in = AudioIn::new(session.params.in_sample_rate);
    let messages_in = metrics.ws_messages.with_label_values(&["in"]);
    let mut last_data = TokioInstant::now();
    let mut writer = Writer {
        serializer,
        messages_out: metrics.ws_messages.with_label_values(&["out"]),
        latency: metrics.audio_frame_latency.with_label_values(&[transport]),
        last_data: &mut last_data,
    };
    let mut pending: VecDeque<Frame> = VecDeque::with_capacity(MAX_PENDING_CONTROL);
    let mut inbound: Vec<Inbound> = Vec::with_capacity(4);
    let mut outbuf: Vec<Frame> = Vec::with_capacity(16);
    let mut last_inbound = TokioInstant::now();
    let mut first_audio: Option<TokioInstant> = None;
    let mut last_error_event: Option<Instant> = None;
    let mut pipeline_open = true;
    let mut ping = tokio::time::interval_at(TokioInstant::now() + PING_EVERY, PING_EVERY);
    let mut housekeeping = tokio::time::interval(Duration::from_millis(250));
    // One timer for the playout clock, re-armed only when its deadline changes, and one
    // shutdown future: nothing is built or registered per frame.
    let playout = tokio::time::sleep_until(TokioInstant::now());
    tokio::pin!(playout);
    let mut armed: Option<TokioInstant> = None;
    let shutdown = async {
        loop {
            if close_signal.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            if *close_signal.borrow() {
                return;
            }
        }
    };
    tokio::pin!(shutdown);

    let end = 'session: loop {
        // Whatever may be written now is written now: no timer for it.
        let now = Instant::now();
        let deadline = output.next_deadline(now);
        if deadline.is_some_and(|d| d <= now) || !outbuf.is_empty() {
            output.pop_due(now, &mut outbuf);
            if let Wrote::End(e) = writer.write(&mut socket, &mut outbuf).await {
                break e;
            }
            continue;
        }
        let wake = deadline.map(TokioInstant::from_std);
        if wake != armed {
            if let Some(w) = wake {
                playout.as_mut().reset(w);
            }
            armed = wake;
        }
        tokio::select! {
            biased;
            () = &mut shutdown => break End::Close(1001, "shutdown"),
            item = pipeline.output.recv_fresh(&session), if pipeline_open && output.has_room() => {
                let now = Instant::now();
                match item {
                    None => {
                        pipeline_open = false;
                        outbuf.push(Frame::End { reason: "pipeline ended".into() });
                    }
                    Some((_, frame)) => output.push(frame, now, &mut outbuf),
                }
                output.pop_due(now, &mut outbuf);
                if let Wrote::End(e) = writer.write(&mut socket, &mut outbuf).await {
                    break e;
                }
            }
            () = &mut playout, if armed.is_some() => {
                armed = None;
                output.pop_due(Instant::now(), &mut outbuf);
                if let Wrote::End(e) = writer.write(&mut socket, &mut outbuf).await {
                    break e;
                }
            }
            sent = async {
                let front = pending.front().expect("guarded by the branch condition");
                pipeline.input.reserve_send(front).await
            }, if !pending.is_empty() => {
                match sent {
                    Ok(()) => { pending.pop_front(); }
                    // The pipeline is gone; its output side ends the session.
                    Err(_) => pending.clear(),
                }
            }
            msg = socket.recv(), if pending.len() < MAX_PENDING_CONTROL => {
                let msg = match msg {
                    None => break End::ClientGone,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "websocket read failed");
                        break read_error_end(&e);
                    }
                    Some(Ok(m)) => m,
                };
                last_inbound = TokioInstant::now();
                let t_in = last_inbound.into_std();
                inbound.clear();
                let decoded = match &msg {
                    Message::Binary(data) => serializer_decode(&mut writer, WireMessage::Binary(data), &mut inbound),
                    Message::Text(text) => serializer_decode(&mut writer, WireMessage::Text(text.as_str()), &mut inbound),
                    Message::Close(_) => {
                        // tungstenite has queued the reply to the client's close (RFC 6455
                        // §5.5.1); flush it before the connection is dropped.
                        let _ = timeout(CLOSE_WAIT, socket.close()).await;
                        break End::ClientGone;
                    }
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                *writer.last_data = last_inbound;
                messages_in.inc();
                if let Err(e) = decoded {
                    metrics.ws_invalid_messages.inc();
                    tracing::debug!(error = %e, "dropped malformed websocket message");
                    if last_error_event.is_none_or(|t| t.elapsed() >= ERROR_EVENT_EVERY) {
                        last_error_event = Some(Instant::now());
                        outbuf.push(Frame::UrgentMessage(rtvi::error_event(&e.to_string(), false)));
                        if let Wrote::End(e) = writer.write(&mut socket, &mut outbuf).await {
                            break e;
                        }
                    }
                    continue;
                }
                for item in inbound.drain(..) {
                    match item {
                        Inbound::Audio { pcm, sample_rate, num_channels } => {
                            first_audio.get_or_insert(last_inbound);
                            let rate = if sample_rate == 0 { params.sample_rate } else { sample_rate };
                            match audio_in.normalise(&pcm, rate, num_channels) {
                                Ok(audio) if audio.pcm.is_empty() => {}
                                Ok(audio) if inline_echo => {
                                    // Written at the top of the loop (due at once).
                                    if output.queued_audio() < ECHO_BACKLOG {
                                        let frame = Frame::OutputAudio { audio, turn_id: 0, t_in: Some(t_in) };
                                        output.push(frame, t_in, &mut outbuf);
                                    } else {
                                        metrics.audio_frames_dropped.with_label_values(&["in", "queue_full"]).inc();
                                    }
                                }
                                Ok(audio) => {
                                    if !push_audio(&pipeline.input, audio, t_in, metrics) {
                                        // The pipeline is gone; its output side ends the session.
                                        continue 'session;
                                    }
                                }
                                Err(e) => {
                                    tracing::debug!(error = %e, "dropped audio at an unsupported rate");
                                    metrics.ws_invalid_messages.inc();
                                }
                            }
                        }
                        // A carrier's `stop`: the call is over; end now (every task with it).
                        Inbound::Stop => break 'session End::ClientGone,
                        // A Twilio mark came back: the caller heard that bot turn to its end.
                        Inbound::Mark(name) => {
                            if let Some(turn_id) = serializer::carrier::mark_turn(&name) {
                                output.heard(turn_id, Instant::now(), &mut outbuf);
                                if let Wrote::End(e) = writer.write(&mut socket, &mut outbuf).await {
                                    break 'session e;
                                }
                            }
                        }
                        other => match control_frame(other, &session) {
                            Control::Frame(f) => pending.push_back(f),
                            Control::Skip => {}
                            Control::Invalid => metrics.ws_invalid_messages.inc(),
                        },
                    }
                }
            }
            _ = ping.tick() => {
                match timeout(WRITE_STALL, socket.send(Message::Ping(Bytes::new()))).await {
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
                if params.idle_timeout.is_some_and(|t| now.duration_since(*writer.last_data) >= t) {
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

    // voxray ends a phone call itself: queued audio first (bounded), then the carrier's REST
    // hang-up (`wire.md` §3.4). A caller who hung up (`stop`, socket loss) gets neither.
    if let (End::Close(code, _), Some(call)) = (end, call.as_ref()) {
        if matches!(code, 1000 | 1001) {
            play_out(&mut socket, &mut output, &mut writer, &mut outbuf).await;
        }
        call.hang_up(&session.id).await;
    }

    if let End::Close(code, reason) = end {
        close_with(&mut socket, code, reason).await;
    }
    end
}

/// Send our close frame (`code`, `reason`; RFC 6455 §5.5.1) and wait up to [`CLOSE_WAIT`]
/// for the peer's, then return so the caller drops the connection.
pub(crate) async fn close_with(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if timeout(CLOSE_WAIT, socket.send(frame))
        .await
        .is_ok_and(|r| r.is_ok())
    {
        let _ = timeout(CLOSE_WAIT, async {
            while let Some(Ok(m)) = socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Write the audio still queued in the output stage at the playout pace, for at most
/// [`PLAY_OUT_MAX`], then wait one playout lead so the client plays the last chunk.
async fn play_out(
    socket: &mut WebSocket,
    output: &mut OutputStage,
    writer: &mut Writer<'_>,
    outbuf: &mut Vec<Frame>,
) {
    let _ = timeout(PLAY_OUT_MAX, async {
        let mut wrote = false;
        while !output.queued_audio().is_zero() {
            output.pop_due(Instant::now(), outbuf);
            wrote |= !outbuf.is_empty();
            if let Wrote::End(_) = writer.write(socket, outbuf).await {
                return;
            }
            match output.next_deadline(Instant::now()) {
                Some(d) if !output.queued_audio().is_zero() => {
                    tokio::time::sleep_until(TokioInstant::from_std(d)).await;
                }
                _ => break,
            }
        }
        if wrote {
            tokio::time::sleep(crate::transport::output::PLAYOUT_LEAD).await;
        }
    })
    .await;
}

fn serializer_decode(
    writer: &mut Writer<'_>,
    msg: WireMessage<'_>,
    out: &mut Vec<Inbound>,
) -> Result<(), serializer::DecodeError> {
    writer.serializer.decode(msg, out)
}

fn to_message(out: Outgoing) -> Message {
    match out {
        Outgoing::Binary(b) => Message::Binary(b),
        Outgoing::Text(t) => Message::Text(t.into()),
    }
}

/// How a failed read ends the session (RFC 6455 §7.4.1): a message over the limit → 1009,
/// text that is not UTF-8 → 1007, any other protocol violation (reserved bits, an unmasked
/// client frame, a bad opcode or control frame) → 1002; an I/O error means the peer is gone.
fn read_error_end(e: &axum::Error) -> End {
    let text = e.to_string().to_ascii_lowercase();
    if text.contains("without closing handshake") {
        // tungstenite files a vanished peer under protocol errors.
        End::ClientGone
    } else if text.contains("capacity") || text.contains("too long") || text.contains("too big") {
        End::Close(1009, "message too big")
    } else if text.contains("utf-8") || text.contains("utf8") {
        End::Close(1007, "invalid utf-8")
    } else if text.contains("protocol") {
        End::Close(1002, "protocol error")
    } else {
        End::ClientGone
    }
}
