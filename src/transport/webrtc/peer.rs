//! One peer's session: builds its pipeline and drives it to the end (`wire.md` §2.5 lifetime).

use super::datachannel::{Channel, DC_PENDING, DcEvent, read_channel, track_status};
use super::media::{Output, PACKET, Pacer, read_track};
use super::{PIPELINE_RATE, PcEvent, PeerManager};
use rtc::peer_connection::transport::RTCDtlsTransportState;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use webrtc::peer_connection::transport::DtlsTransport;

use rtc::media::Sample;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant as TokioInstant, sleep_until, timeout};
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};

use crate::audio::codec::opus::{FRAME_SAMPLES, OPUS_RATE, OpusEncoder};
use crate::audio::pcm;
use crate::pipeline::Pipeline;
use crate::pipeline::agent::{self, AgentKind};
use crate::pipeline::context::SessionContext;
use crate::pipeline::frame::Frame;
use crate::transport::output::OutputStage;
use crate::transport::serializer::{self, Outgoing, Serializer, WireFormat};
use crate::transport::session::{Control, SessionGuard, control_frame};

/// `disconnected` for this long ends the session (`wire.md` §2.5).
const DISCONNECTED_GRACE: Duration = Duration::from_secs(5);
/// No `connected` this long after the answer ends the session (`wire.md` §2.5).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a session ended (for the log).
#[derive(Debug, Clone, Copy)]
pub(super) enum End {
    PeerGone(&'static str),
    Reason(&'static str),
    Restarted,
}

/// Run one peer's session to its end.
pub(super) async fn run(
    manager: &PeerManager,
    pc_id: &str,
    pc: Arc<dyn PeerConnection>,
    output: Output,
    mut events: mpsc::UnboundedReceiver<PcEvent>,
    mut stop: watch::Receiver<bool>,
    kind: AgentKind,
) {
    let inner = &manager.inner;
    let guard = SessionGuard::new(&inner.metrics, "webrtc", None);
    let agent = match agent::build(
        kind,
        &inner.config,
        &inner.services,
        "webrtc",
        PIPELINE_RATE,
        Some(OPUS_RATE),
    ) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "webrtc session could not start its pipeline");
            let _ = pc.close().await;
            manager.remove(pc_id);
            return;
        }
    };
    let session = SessionContext::new(pc_id, agent.params, inner.metrics.clone());
    let pipeline = agent.pipeline.start(session.clone());
    let stage = OutputStage::new(session.clone(), agent.output, pipeline.feedback.clone());
    let end = drive(manager, &output, &mut events, &mut stop, pipeline, stage).await;
    session.tasks.close();
    let _ = timeout(Duration::from_millis(500), pc.close()).await;
    if !matches!(end, End::Restarted) {
        manager.remove(pc_id);
    }
    let (kind, reason) = match end {
        End::PeerGone(r) => ("peer", r),
        End::Reason(r) => ("server", r),
        End::Restarted => ("server", "restart_pc"),
    };
    tracing::info!(
        by = kind,
        reason,
        secs = guard.elapsed_secs(),
        "webrtc session ended"
    );
}

#[allow(clippy::too_many_lines)]
async fn drive(
    manager: &PeerManager,
    output: &Output,
    events: &mut mpsc::UnboundedReceiver<PcEvent>,
    stop: &mut watch::Receiver<bool>,
    mut pipeline: Pipeline,
    mut out: OutputStage,
) -> End {
    let inner = &manager.inner;
    let metrics = &inner.metrics;
    let mut close_signal = inner.close_signal.clone();
    let answered = TokioInstant::now();
    let mut connected = false;
    let mut disconnected_since: Option<TokioInstant> = None;
    let first_audio = Arc::new(std::sync::OnceLock::<TokioInstant>::new());
    let muted = Arc::new(AtomicBool::new(false));
    let (dc_tx, mut dc_rx) = mpsc::channel::<DcEvent>(64);
    let mut channel = Channel {
        dc: None,
        open: false,
        queue: VecDeque::new(),
    };
    let mut serializer = serializer::for_format(WireFormat::Json, PIPELINE_RATE);
    let session = pipeline.session.clone();
    let latency = metrics.audio_frame_latency.with_label_values(&["webrtc"]);
    let mut pending: VecDeque<Frame> = VecDeque::with_capacity(DC_PENDING);
    let mut outbuf: Vec<Frame> = Vec::with_capacity(16);
    let mut opus = match OpusEncoder::new() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "opus encoder unavailable");
            return End::Reason("opus encoder unavailable");
        }
    };
    let mut pacer: Option<Pacer> = None;
    let mut readers: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut housekeeping = tokio::time::interval(Duration::from_millis(100));
    let mut dtls: Option<Arc<dyn DtlsTransport>> = None;

    let end = loop {
        let deadline = pacer.as_ref().map(Pacer::deadline);
        tokio::select! {
            biased;
            _ = close_signal.changed() => {
                if *close_signal.borrow() {
                    break End::Reason("shutdown");
                }
            }
            _ = stop.changed() => {
                if *stop.borrow() {
                    break End::Restarted;
                }
            }
            ev = events.recv() => match ev {
                None => break End::PeerGone("closed"),
                Some(PcEvent::State(state)) => {
                    tracing::debug!(%state, "webrtc peer connection state");
                    match state {
                        RTCPeerConnectionState::Connected => {
                            connected = true;
                            disconnected_since = None;
                            if pacer.is_none() {
                                tracing::info!(
                                    connect_ms = answered.elapsed().as_millis() as u64,
                                    "webrtc peer connected"
                                );
                                pacer = Some(Pacer::new(TokioInstant::now()));
                            }
                        }
                        RTCPeerConnectionState::Disconnected => {
                            disconnected_since.get_or_insert_with(TokioInstant::now);
                        }
                        RTCPeerConnectionState::Failed => break End::PeerGone("failed"),
                        RTCPeerConnectionState::Closed => break End::PeerGone("closed"),
                        _ => {}
                    }
                }
                Some(PcEvent::Track(track)) => {
                    let kind = track.kind().await;
                    tracing::debug!(?kind, "webrtc remote track");
                    if kind == RtpCodecKind::Audio {
                        let ended = dc_tx.clone();
                        let reader = read_track(
                            track,
                            pipeline.input.clone(),
                            metrics.clone(),
                            muted.clone(),
                            first_audio.clone(),
                        );
                        readers.push(tokio::spawn(async move {
                            reader.await;
                            let _ = ended.send(DcEvent::MediaEnded).await;
                        }));
                    }
                }
                Some(PcEvent::DataChannel(dc)) => {
                    if channel.dc.is_none() {
                        channel.dc = Some(dc.clone());
                        readers.push(tokio::spawn(read_channel(dc, dc_tx.clone())));
                    }
                }
            },
            sent = async {
                let front = pending.front().expect("guarded by the branch condition");
                pipeline.input.reserve_send(front).await
            }, if !pending.is_empty() => {
                match sent {
                    Ok(()) => { pending.pop_front(); }
                    Err(_) => pending.clear(),
                }
            }
            msg = dc_rx.recv(), if pending.len() < DC_PENDING => match msg {
                // The peer's DTLS close_notify closes every data channel (the peer connection
                // state itself does not change), so this is how a closing peer is noticed.
                Some(DcEvent::Closed) => break End::PeerGone("data channel closed"),
                Some(DcEvent::MediaEnded) => break End::PeerGone("media track ended"),
                None => {}
                Some(DcEvent::Open) => channel.opened().await,
                Some(DcEvent::Text(text)) => {
                    if let Some(status) = track_status(&text) {
                        if status.is_for(output.audio_mline) {
                            muted.store(!status.enabled, Ordering::Relaxed);
                        }
                        continue;
                    }
                    let Ok(items) = serializer::decode_json_text(&text) else {
                        metrics.ws_invalid_messages.inc();
                        continue;
                    };
                    for item in items {
                        match control_frame(item, &session) {
                            // Control messages wait for room on their own queue: the loop
                            // keeps sending media meanwhile.
                            Control::Frame(frame) => pending.push_back(frame),
                            Control::Skip => {}
                            Control::Invalid => metrics.ws_invalid_messages.inc(),
                        }
                    }
                }
            },
            item = pipeline.output.recv_fresh(&session), if out.has_room() => {
                let now = Instant::now();
                match item {
                    None => break End::Reason("ended"),
                    Some((_, frame)) => out.push(frame, now, &mut outbuf),
                }
                if let Some(end) = send_events(&mut channel, serializer.as_mut(), &mut outbuf).await {
                    break end;
                }
            }
            _ = sleep_until(deadline.unwrap_or_else(TokioInstant::now)), if deadline.is_some() => {
                let p = pacer.as_mut().expect("guarded by the branch condition");
                let (due, skipped) = p.due(TokioInstant::now());
                for i in 0..due {
                    let now = Instant::now();
                    let (frame, t_in) = match out.pop_tick(now, &mut outbuf) {
                        Some((audio, t_in)) => {
                            let mut pcm48 = pcm::from_bytes(&audio.pcm);
                            pcm48.resize(FRAME_SAMPLES, 0);
                            (pcm48, t_in)
                        }
                        None => (vec![0; FRAME_SAMPLES], None),
                    };
                    let packet = match opus.encode(&frame) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::debug!(error = %e, "opus encode failed");
                            continue;
                        }
                    };
                    let mut sample = Sample {
                        data: packet,
                        duration: PACKET,
                        ..Sample::new(Instant::now())
                    };
                    if i == 0 {
                        sample.prev_dropped_packets = skipped as u16;
                    }
                    if let Err(e) = output
                        .track
                        .sample_writer(output.ssrc, output.payload_type)
                        .write_sample(&sample)
                        .await
                    {
                        tracing::trace!(error = %e, "rtp write failed");
                    } else if let Some(t) = t_in {
                        latency.observe(t.elapsed().as_secs_f64());
                    }
                }
                if let Some(end) = send_events(&mut channel, serializer.as_mut(), &mut outbuf).await {
                    break end;
                }
            }
            _ = housekeeping.tick() => {
                // A peer that hangs up sends a DTLS close_notify. Once a data channel exists
                // its close tells us; before that (or without one) nothing else does until
                // ICE consent expires, so the DTLS transport's state is read here.
                if connected {
                    if dtls.is_none() {
                        dtls = output.sender.transport().await.ok().flatten();
                    }
                    if let Some(d) = &dtls
                        && matches!(d.state().await, Ok(RTCDtlsTransportState::Closed))
                    {
                        break End::PeerGone("dtls closed");
                    }
                }
                let now = TokioInstant::now();
                if disconnected_since.is_some_and(|t| now.duration_since(t) >= DISCONNECTED_GRACE) {
                    break End::PeerGone("disconnected");
                }
                if !connected && now.duration_since(answered) >= CONNECT_TIMEOUT {
                    break End::PeerGone("never connected");
                }
                if let (Some(max), Some(first)) = (inner.settings.max_duration, first_audio.get())
                    && now.duration_since(*first) >= max
                {
                    break End::Reason("max duration reached");
                }
            }
        }
    };
    if !matches!(end, End::Restarted) {
        let left = json!({"type": "signalling", "message": {"type": "peerLeft"}});
        if channel.open {
            let _ = timeout(Duration::from_millis(200), channel.send(left.to_string())).await;
        }
    }
    for r in readers {
        r.abort();
    }
    drop(pipeline);
    end
}

/// Send the non-audio frames the output stage produced as RTVI JSON on the data channel;
/// `End` (drained) and a fatal error end the session.
async fn send_events(
    channel: &mut Channel,
    serializer: &mut dyn Serializer,
    frames: &mut Vec<Frame>,
) -> Option<End> {
    let mut end = None;
    for frame in frames.drain(..) {
        match &frame {
            Frame::End { .. } | Frame::Cancel { .. } => {
                end = Some(End::Reason("ended"));
                break;
            }
            Frame::Error { fatal: true, .. } => end = Some(End::Reason("internal error")),
            Frame::OutputAudio { .. } => continue,
            _ => {}
        }
        if let Some(Outgoing::Text(text)) = serializer.encode(&frame) {
            channel.send(text).await;
        }
        if end.is_some() {
            break;
        }
    }
    frames.clear();
    end
}
