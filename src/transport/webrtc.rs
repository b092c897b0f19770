//! The WebRTC transport (`wire.md` §2): one peer connection = one session.
//!
//! Signalling is plain HTTP (`server::routes::offer`): the client POSTs an SDP offer
//! (RFC 8866 SDP, RFC 8829 JSEP offer/answer) and gets the answer with the server's ICE
//! candidates (RFC 8445) already in it; more client candidates may arrive by PATCH (trickle).
//! The server never trickles.
//!
//! Media: one `sendrecv` audio transceiver with Opus (RFC 7587 RTP payload, `opus/48000/2`,
//! mono content). Inbound packets are decoded to 48 kHz mono PCM, resampled with rubato to the
//! pipeline rate (16 kHz) and pushed as 20 ms frames without waiting (a full pipeline drops the
//! new frame and counts it). Outbound bot audio is resampled to 48 kHz, buffered (at most 2 s),
//! cut into 960-sample frames, Opus-encoded and written on absolute 20 ms deadlines
//! (`start + n × 20 ms`): a late wake-up sends the overdue packets at once, a long stall skips
//! ahead so RTP timestamps stay on wall-clock time, and encoded silence fills the gaps between
//! bot turns. The first data channel the client opens carries RTVI JSON both ways.
//!
//! Lifetime (`wire.md` §2.5): `failed` or `closed`, or the close of the data channel (which is
//! how a peer's DTLS `close_notify` surfaces), ends the session at once; `disconnected`
//! ends it unless `connected` returns within 5 s; no `connected` within 30 s of the answer ends
//! it; `rtc_max_duration_secs` counts from the first inbound audio; a graceful shutdown's
//! close signal ends it. Ending sends `peerLeft` on the data channel, closes the peer
//! connection, removes it from the [`PeerManager`] and frees its admission slot.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant as TokioInstant, sleep_until, timeout};
use uuid::Uuid;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceCandidateType, RTCIceGatheringState,
    RTCIceServer, RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};

use crate::audio::codec::opus::{FRAME_SAMPLES, OPUS_RATE, OpusDecoder, OpusEncoder};
use crate::audio::pcm;
use crate::audio::resample::StreamResampler;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::pipeline::agent::{self, AgentKind};
use crate::pipeline::context::SessionContext;
use crate::pipeline::frame::{AudioFrame, Frame};
use crate::pipeline::processor::Link;
use crate::session::Slot;
use crate::transport::output::OutputStage;
use crate::transport::serializer::{self, Outgoing, Serializer, WireFormat};
use crate::transport::session::{Control, SessionGuard, control_frame, push_audio};

/// Pipeline sample rate in Hz (inbound audio is resampled 48 kHz → 16 kHz, outbound back).
pub const PIPELINE_RATE: u32 = 16_000;
/// Packet interval of outbound audio.
const PACKET: Duration = Duration::from_millis(20);
/// Behind by more than this many packets after a stall: skip ahead instead of bursting.
const MAX_BURST_PACKETS: u32 = 10;
/// How long the answer waits for the server's ICE candidates (`wire.md` §2.2).
const GATHER_TIMEOUT: Duration = Duration::from_secs(10);
/// `disconnected` for this long ends the session (`wire.md` §2.5).
const DISCONNECTED_GRACE: Duration = Duration::from_secs(5);
/// No `connected` this long after the answer ends the session (`wire.md` §2.5).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Data-channel messages queued until the channel opens; older ones are dropped first.
const DC_QUEUE: usize = 50;
/// Control messages from the data channel waiting for room in the pipeline; when full, the
/// data channel is not read until one goes.
const DC_PENDING: usize = 32;
/// Longest packet gap (in packets) concealed with the decoder's PLC.
const MAX_CONCEALED_PACKETS: u16 = 5;

/// Errors of the offer/answer and trickle operations.
#[derive(Debug, thiserror::Error)]
pub enum RtcError {
    /// No peer connection with that `pc_id`: 404 `peer connection not found`.
    #[error("peer connection not found")]
    UnknownPc,
    /// The SDP or a candidate was rejected by the WebRTC stack: 422 on field `sdp` or
    /// `candidates`.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The request field at fault (`sdp`, `candidates`).
        field: &'static str,
        /// What the stack said (never echoes the SDP itself).
        message: String,
    },
    /// Anything else (socket bind, DTLS set-up): 500.
    #[error("webrtc: {0}")]
    Internal(String),
}

/// An SDP answer for one peer connection.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The answer SDP (RFC 8866), with the server's ICE candidates.
    pub sdp: String,
    /// The opaque peer-connection id (a UUIDv4 without dashes, 32 chars).
    pub pc_id: String,
}

/// One ICE candidate from a PATCH body (`http.md` §9.3).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The `candidate:` attribute (RFC 8839 §5.1).
    pub candidate: String,
    /// The media stream identification (`a=mid`).
    pub sdp_mid: Option<String>,
    /// The index of the `m=` line.
    pub sdp_mline_index: Option<u16>,
}

/// Client-facing ICE servers from `webrtc_ice_servers`: strings become `{"urls":[url]}`,
/// objects keep `username`/`credential` and get `urls` as a list (`http.md` §9.1 `iceConfig`).
pub fn client_ice_servers(configured: &Value) -> Value {
    let list = configured.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|s| match s {
                Value::String(url) => json!({"urls": [url]}),
                Value::Object(mut m) => {
                    if let Some(Value::String(u)) = m.get("urls").cloned() {
                        m.insert("urls".into(), json!([u]));
                    }
                    Value::Object(m)
                }
                other => other,
            })
            .collect(),
    )
}

/// The server's own ICE servers (STUN and TURN with username/credential) from the same list.
fn rtc_ice_servers(configured: &Value) -> Vec<RTCIceServer> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    client_ice_servers(configured)
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| RTCIceServer {
            urls: s["urls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(String::from))
                .collect(),
            username: text(s, "username"),
            credential: text(s, "credential"),
        })
        .filter(|s| !s.urls.is_empty())
        .collect()
}

/// Settings of the WebRTC transport, from the config.
#[derive(Debug, Clone)]
pub struct RtcSettings {
    ice_servers: Vec<RTCIceServer>,
    udp_addrs: Vec<String>,
    wildcard: bool,
    public_ips: Vec<String>,
    max_duration: Option<Duration>,
}

impl RtcSettings {
    /// From the config: `webrtc_ice_servers`, `webrtc_public_ips`, `rtc_max_duration_secs`
    /// and `host` (UDP sockets bind to the listener's address; a wildcard host also offers
    /// loopback candidates).
    pub fn from_config(config: &Config) -> Self {
        let host = if config.host == "localhost" {
            "127.0.0.1"
        } else {
            config.host.as_str()
        };
        let ip: Option<std::net::IpAddr> = host.parse().ok();
        let wildcard = ip.is_none_or(|ip| ip.is_unspecified());
        let udp_addrs = match ip {
            Some(std::net::IpAddr::V6(v6)) if !v6.is_unspecified() => vec![format!("[{v6}]:0")],
            Some(ip) if !ip.is_unspecified() => vec![format!("{ip}:0")],
            _ => vec!["0.0.0.0:0".to_string()],
        };
        Self {
            ice_servers: rtc_ice_servers(&config.webrtc_ice_servers),
            udp_addrs,
            wildcard,
            public_ips: config.webrtc_public_ips.clone(),
            max_duration: (config.rtc_max_duration_secs > 0.0)
                .then(|| Duration::from_secs_f64(config.rtc_max_duration_secs)),
        }
    }
}

/// A live peer connection as the manager keeps it.
struct PeerEntry {
    pc: Arc<dyn PeerConnection>,
    session: Option<Uuid>,
    slot: Option<Slot>,
    stop: watch::Sender<bool>,
    gathered: Arc<Notify>,
    agent: AgentKind,
}

struct ManagerInner {
    settings: RtcSettings,
    config: Arc<Config>,
    metrics: Metrics,
    close_signal: watch::Receiver<bool>,
    peers: Mutex<HashMap<String, PeerEntry>>,
    bound: Mutex<HashMap<Uuid, String>>,
}

/// All peer connections of this process, by `pc_id`, and the `/start` sessions bound to them.
/// Cheap to clone.
#[derive(Clone)]
pub struct PeerManager {
    inner: Arc<ManagerInner>,
}

impl std::fmt::Debug for PeerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerManager")
            .field("peers", &self.peer_count())
            .finish()
    }
}

impl PeerManager {
    /// A manager; `close_signal` turns `true` when running sessions must close (shutdown).
    pub fn new(
        settings: RtcSettings,
        config: Arc<Config>,
        metrics: Metrics,
        close_signal: watch::Receiver<bool>,
    ) -> Self {
        Self {
            inner: Arc::new(ManagerInner {
                settings,
                config,
                metrics,
                close_signal,
                peers: Mutex::new(HashMap::new()),
                bound: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Live peer connections.
    pub fn peer_count(&self) -> usize {
        self.inner.peers.lock().expect("peers lock").len()
    }

    /// Whether `pc_id` names a live peer connection.
    pub fn has_pc(&self, pc_id: &str) -> bool {
        self.inner
            .peers
            .lock()
            .expect("peers lock")
            .contains_key(pc_id)
    }

    /// The `pc_id` a consumed `/start` session is bound to, while that peer lives.
    pub fn bound_pc(&self, session: Uuid) -> Option<String> {
        self.inner
            .bound
            .lock()
            .expect("bound lock")
            .get(&session)
            .cloned()
    }

    /// Answer a new offer with a new peer connection and start its session. `slot` is the
    /// admission slot it holds (a fresh one, or the pending session's); `session` binds a
    /// `/start` session id to the new `pc_id`; `agent` is the pipeline the session runs.
    ///
    /// # Errors
    /// [`RtcError::Invalid`] for SDP the stack rejects, [`RtcError::Internal`] otherwise.
    pub async fn create(
        &self,
        offer_sdp: String,
        slot: Slot,
        session: Option<Uuid>,
        agent: AgentKind,
    ) -> Result<Answer, RtcError> {
        let started = Instant::now();
        let pc_id = Uuid::new_v4().simple().to_string();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let gathered = Arc::new(Notify::new());
        let handler = Arc::new(Handler {
            events: events_tx,
            gathered: gathered.clone(),
        });
        let s = &self.inner.settings;
        let mut media = MediaEngine::default();
        media
            .register_codec(opus_codec(111), RtpCodecKind::Audio)
            .map_err(internal)?;
        let mut engine = SettingEngineBuilder::new();
        if !s.public_ips.is_empty() {
            engine = engine.with_nat_1to1_ips(s.public_ips.clone(), RTCIceCandidateType::Host);
        }
        if s.wildcard {
            engine = engine.with_include_loopback_candidate(true);
        }
        let pc = PeerConnectionBuilder::new()
            .with_configuration(
                RTCConfigurationBuilder::new()
                    .with_ice_servers(s.ice_servers.clone())
                    .build(),
            )
            .with_media_engine(media)
            .with_setting_engine(engine.build())
            .with_handler(handler)
            .with_udp_addrs(s.udp_addrs.clone())
            .build()
            .await
            .map_err(internal)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let result = async {
            let offer = RTCSessionDescription::offer(offer_sdp).map_err(invalid_sdp)?;
            pc.set_remote_description(offer)
                .await
                .map_err(invalid_sdp)?;
            let ssrc = rand::random::<u32>();
            let track = Arc::new(
                TrackLocalStaticSample::new(
                    Instant::now(),
                    MediaStreamTrack::new(
                        "voxray".to_owned(),
                        "voxray-audio".to_owned(),
                        "voxray bot audio".to_owned(),
                        RtpCodecKind::Audio,
                        vec![RTCRtpEncodingParameters {
                            rtp_coding_parameters: RTCRtpCodingParameters {
                                ssrc: Some(ssrc),
                                ..Default::default()
                            },
                            codec: opus_codec(111).rtp_codec,
                            ..Default::default()
                        }],
                    ),
                )
                .map_err(internal)?,
            );
            let sender = pc
                .add_track(track.clone() as Arc<dyn TrackLocal>)
                .await
                .map_err(internal)?;
            let answer = pc.create_answer(None).await.map_err(invalid_sdp)?;
            pc.set_local_description(answer).await.map_err(internal)?;
            let _ = timeout(GATHER_TIMEOUT, gathered.notified()).await;
            let sdp = pc
                .local_description()
                .await
                .ok_or_else(|| RtcError::Internal("no local description".into()))?
                .sdp;
            let payload_type = sender
                .get_parameters()
                .await
                .ok()
                .and_then(|p| p.rtp_parameters.codecs.first().map(|c| c.payload_type))
                .unwrap_or(111);
            Ok::<_, RtcError>((
                sdp,
                Output {
                    track,
                    ssrc,
                    payload_type,
                },
            ))
        }
        .await;
        let (sdp, output) = match result {
            Ok(v) => v,
            Err(e) => {
                let _ = pc.close().await;
                return Err(e);
            }
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        {
            let mut peers = self.inner.peers.lock().expect("peers lock");
            peers.insert(
                pc_id.clone(),
                PeerEntry {
                    pc: pc.clone(),
                    session,
                    slot: Some(slot),
                    stop: stop_tx,
                    gathered,
                    agent,
                },
            );
        }
        if let Some(id) = session {
            self.inner
                .bound
                .lock()
                .expect("bound lock")
                .insert(id, pc_id.clone());
        }
        tracing::info!(
            answer_ms = started.elapsed().as_millis() as u64,
            "webrtc peer connection answered"
        );
        let this = self.clone();
        let id = pc_id.clone();
        tokio::spawn(async move {
            run(&this, &id, pc, output, events_rx, stop_rx, agent).await;
        });
        Ok(Answer { sdp, pc_id })
    }

    /// Renegotiate: apply a new offer to the live peer connection `pc_id` and answer it.
    ///
    /// # Errors
    /// [`RtcError::UnknownPc`], or [`RtcError::Invalid`] for SDP the stack rejects.
    pub async fn renegotiate(&self, pc_id: &str, offer_sdp: String) -> Result<Answer, RtcError> {
        let (pc, gathered) = {
            let peers = self.inner.peers.lock().expect("peers lock");
            let e = peers.get(pc_id).ok_or(RtcError::UnknownPc)?;
            (e.pc.clone(), e.gathered.clone())
        };
        let offer = RTCSessionDescription::offer(offer_sdp).map_err(invalid_sdp)?;
        pc.set_remote_description(offer)
            .await
            .map_err(invalid_sdp)?;
        let answer = pc.create_answer(None).await.map_err(invalid_sdp)?;
        pc.set_local_description(answer).await.map_err(internal)?;
        let _ = timeout(Duration::from_secs(1), gathered.notified()).await;
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| RtcError::Internal("no local description".into()))?
            .sdp;
        Ok(Answer {
            sdp,
            pc_id: pc_id.to_string(),
        })
    }

    /// `restart_pc`: close `pc_id` and answer `offer_sdp` with a new peer connection (new
    /// `pc_id`) that keeps the old one's admission slot and `/start` session binding.
    ///
    /// # Errors
    /// [`RtcError::UnknownPc`], or the errors of [`PeerManager::create`].
    pub async fn restart(&self, pc_id: &str, offer_sdp: String) -> Result<Answer, RtcError> {
        let entry = self
            .inner
            .peers
            .lock()
            .expect("peers lock")
            .remove(pc_id)
            .ok_or(RtcError::UnknownPc)?;
        entry.stop.send_replace(true);
        let _ = entry.pc.close().await;
        let slot = entry.slot.expect("a live entry holds its slot");
        self.create(offer_sdp, slot, entry.session, entry.agent)
            .await
    }

    /// Trickle ICE: add the client's candidates to `pc_id` (empty candidate strings, the
    /// end-of-candidates marker, are skipped).
    ///
    /// # Errors
    /// [`RtcError::UnknownPc`], or [`RtcError::Invalid`] (field `candidates`) for a candidate
    /// the ICE agent rejects.
    pub async fn add_candidates(
        &self,
        pc_id: &str,
        candidates: Vec<Candidate>,
    ) -> Result<(), RtcError> {
        let pc = {
            let peers = self.inner.peers.lock().expect("peers lock");
            peers.get(pc_id).ok_or(RtcError::UnknownPc)?.pc.clone()
        };
        for c in candidates {
            if c.candidate.trim().is_empty() {
                continue;
            }
            pc.add_ice_candidate(RTCIceCandidateInit {
                candidate: c.candidate,
                sdp_mid: c.sdp_mid,
                sdp_mline_index: c.sdp_mline_index,
                ..Default::default()
            })
            .await
            .map_err(|e| RtcError::Invalid {
                field: "candidates",
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// Forget `pc_id` (its session ended): frees its slot and unbinds its `/start` session.
    fn remove(&self, pc_id: &str) {
        let entry = self.inner.peers.lock().expect("peers lock").remove(pc_id);
        if let Some(PeerEntry {
            session: Some(id), ..
        }) = &entry
        {
            let mut bound = self.inner.bound.lock().expect("bound lock");
            if bound.get(id).is_some_and(|p| p == pc_id) {
                bound.remove(id);
            }
        }
        drop(entry);
    }
}

fn opus_codec(payload_type: u8) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: OPUS_RATE,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type,
        ..Default::default()
    }
}

fn internal(e: impl std::fmt::Display) -> RtcError {
    RtcError::Internal(e.to_string())
}

fn invalid_sdp(e: impl std::fmt::Display) -> RtcError {
    RtcError::Invalid {
        field: "sdp",
        message: e.to_string(),
    }
}

/// Events from the peer connection's driver, forwarded to the session task.
enum PcEvent {
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
    DataChannel(Arc<dyn DataChannel>),
}

struct Handler {
    events: mpsc::UnboundedSender<PcEvent>,
    gathered: Arc<Notify>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.notify_one();
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.events.send(PcEvent::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.events.send(PcEvent::Track(track));
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.events.send(PcEvent::DataChannel(dc));
    }
}

/// The outbound track and what writing to it needs.
struct Output {
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
}

/// Why a session ended (for the log).
#[derive(Debug, Clone, Copy)]
enum End {
    PeerGone(&'static str),
    Reason(&'static str),
    Restarted,
}

/// Absolute 20 ms deadlines: packet `n` is due at `start + n × 20 ms`.
#[derive(Debug)]
pub struct Pacer {
    start: TokioInstant,
    next: u64,
}

impl Pacer {
    /// A pacer whose packet 0 is due at `start`.
    pub fn new(start: TokioInstant) -> Self {
        Self { start, next: 0 }
    }

    /// When the next packet is due.
    pub fn deadline(&self) -> TokioInstant {
        self.start + PACKET * self.next as u32
    }

    /// At `now`: how many packets are due (sent back to back), and how many to skip (their
    /// deadlines passed long ago: more than [`MAX_BURST_PACKETS`] behind). Advances past both.
    pub fn due(&mut self, now: TokioInstant) -> (u32, u32) {
        if now < self.deadline() {
            return (0, 0);
        }
        let elapsed = now.duration_since(self.start);
        let last_due = (elapsed.as_micros() / PACKET.as_micros()) as u64;
        let due = (last_due + 1 - self.next) as u32;
        let skip = due.saturating_sub(MAX_BURST_PACKETS);
        self.next = last_due + 1;
        (due - skip, skip)
    }
}

/// Run one peer's session to its end.
async fn run(
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

/// The data channel: the first one the client opened, its state, and what waits for it.
struct Channel {
    dc: Option<Arc<dyn DataChannel>>,
    open: bool,
    queue: VecDeque<String>,
}

impl Channel {
    async fn send(&mut self, text: String) {
        match &self.dc {
            Some(dc) if self.open => {
                if let Err(e) = dc.send_text(&text).await {
                    tracing::debug!(error = %e, "data channel send failed");
                }
            }
            _ => {
                if self.queue.len() == DC_QUEUE {
                    self.queue.pop_front();
                }
                self.queue.push_back(text);
            }
        }
    }

    async fn opened(&mut self) {
        self.open = true;
        while let Some(text) = self.queue.pop_front() {
            self.send(text).await;
        }
    }
}

/// Messages from the data channel reader task.
enum DcEvent {
    Open,
    Text(String),
    Closed,
    /// The remote audio track ended (its transport closed): the peer is gone.
    MediaEnded,
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
                    if track.kind().await == RtpCodecKind::Audio {
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
                    if let Some(enabled) = track_status(&text) {
                        muted.store(!enabled, Ordering::Relaxed);
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

/// `{"type":"signalling","message":{"type":"trackStatus","enabled":bool}}` → `Some(enabled)`.
fn track_status(text: &str) -> Option<bool> {
    if !text.contains("trackStatus") {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    (v["type"] == "signalling" && v["message"]["type"] == "trackStatus")
        .then(|| v["message"]["enabled"].as_bool().unwrap_or(true))
}

/// Forward a data channel's events; `ping…` keep-alives are dropped here.
async fn read_channel(dc: Arc<dyn DataChannel>, tx: mpsc::Sender<DcEvent>) {
    if dc
        .ready_state()
        .await
        .is_ok_and(|s| s == webrtc::data_channel::RTCDataChannelState::Open)
    {
        let _ = tx.send(DcEvent::Open).await;
    }
    while let Some(ev) = dc.poll().await {
        let forward = match ev {
            DataChannelEvent::OnOpen => DcEvent::Open,
            DataChannelEvent::OnMessage(msg) => match String::from_utf8(msg.data.to_vec()) {
                Ok(text) if text.starts_with("ping") => continue,
                Ok(text) => DcEvent::Text(text),
                Err(_) => continue,
            },
            DataChannelEvent::OnClose => DcEvent::Closed,
            _ => continue,
        };
        if tx.send(forward).await.is_err() {
            return;
        }
    }
    // The channel is gone without an OnClose event: the peer went away all the same.
    let _ = tx.send(DcEvent::Closed).await;
}

/// Decode the client's Opus packets to 16 kHz mono 20 ms frames and push them into the
/// pipeline without waiting (a full inbox drops the new frame and counts it).
async fn read_track(
    track: Arc<dyn TrackRemote>,
    input: Link,
    metrics: Metrics,
    muted: Arc<AtomicBool>,
    first_audio: Arc<std::sync::OnceLock<TokioInstant>>,
) {
    let (Ok(mut decoder), Ok(mut downsample)) = (
        OpusDecoder::new(),
        StreamResampler::new(OPUS_RATE, PIPELINE_RATE),
    ) else {
        return;
    };
    let frame_bytes = (PIPELINE_RATE / 50) as usize * 2;
    let mut pending: Vec<u8> = Vec::with_capacity(frame_bytes * 2);
    let mut last_seq: Option<u16> = None;
    while let Some(ev) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = ev else {
            continue;
        };
        if packet.payload.is_empty() {
            continue;
        }
        let t_in = Instant::now();
        let seq = packet.header.sequence_number;
        let lost = last_seq.map_or(0, |l| seq.wrapping_sub(l).wrapping_sub(1));
        if last_seq.is_some_and(|l| seq.wrapping_sub(l) > u16::MAX / 2) {
            continue; // late or duplicate packet
        }
        last_seq = Some(seq);
        let mut pcm48: Vec<i16> = Vec::new();
        if (1..=MAX_CONCEALED_PACKETS).contains(&lost) {
            for _ in 0..lost {
                if let Ok(s) = decoder.conceal(FRAME_SAMPLES) {
                    pcm48.extend_from_slice(s);
                }
            }
        }
        match decoder.decode(&packet.payload) {
            Ok(s) => pcm48.extend_from_slice(s),
            Err(e) => {
                tracing::trace!(error = %e, "dropped an undecodable opus packet");
                continue;
            }
        }
        if muted.load(Ordering::Relaxed) {
            continue;
        }
        first_audio.get_or_init(TokioInstant::now);
        pending.extend_from_slice(&downsample.process_pcm(&pcm::to_bytes(&pcm48)));
        while pending.len() >= frame_bytes {
            let chunk: Bytes = pending.drain(..frame_bytes).collect::<Vec<u8>>().into();
            let audio = AudioFrame {
                pcm: chunk,
                sample_rate: PIPELINE_RATE,
                num_channels: 1,
            };
            if !push_audio(&input, audio, t_in, &metrics) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_uses_absolute_deadlines_and_skips_after_long_stalls() {
        let t0 = TokioInstant::now();
        let mut p = Pacer::new(t0);
        assert_eq!(p.due(t0), (1, 0));
        assert_eq!(p.deadline(), t0 + PACKET);
        // Early: nothing due.
        assert_eq!(p.due(t0 + Duration::from_millis(19)), (0, 0));
        // A 5 ms late wake-up sends packet 1 and the next deadline stays at 40 ms (no drift).
        assert_eq!(p.due(t0 + Duration::from_millis(25)), (1, 0));
        assert_eq!(p.deadline(), t0 + Duration::from_millis(40));
        // A 100 ms stall: the overdue packets go at once.
        assert_eq!(p.due(t0 + Duration::from_millis(141)), (6, 0));
        assert_eq!(p.deadline(), t0 + Duration::from_millis(160));
        // A 2 s stall: at most MAX_BURST_PACKETS are sent, the rest skipped (RTP time jumps).
        let (sent, skipped) = p.due(t0 + Duration::from_millis(2160));
        assert_eq!(sent, MAX_BURST_PACKETS);
        assert_eq!(sent + skipped, 101);
        assert_eq!(p.deadline(), t0 + Duration::from_millis(2180));
    }

    #[test]
    fn ice_servers_from_config() {
        let cfg = json!(["stun:stun.example.com:3478",
            {"urls": "turn:turn.example.com:3478", "username": "u", "credential": "c"}]);
        let servers = rtc_ice_servers(&cfg);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, ["stun:stun.example.com:3478"]);
        assert_eq!(servers[1].username, "u");
        assert_eq!(servers[1].credential, "c");
        assert_eq!(
            client_ice_servers(&cfg)[1]["urls"],
            json!(["turn:turn.example.com:3478"])
        );
    }
}
