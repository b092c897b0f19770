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
//!
//! Module map: this file holds the [`PeerManager`] (signalling: offer/answer, renegotiation,
//! restart, trickle); [`settings`] the config-derived [`RtcSettings`]; `peer` the session drive
//! loop; `media` the Opus track reader/writer and the [`Pacer`]; `datachannel` the RTVI data
//! channel.

mod datachannel;
mod media;
mod peer;
mod settings;

pub use media::Pacer;
pub use settings::{Nat1To1, RtcSettings, client_ice_servers};

use media::Output;
use peer::run;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::RTCRtpTransceiverDirection;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::timeout;
use uuid::Uuid;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription, SettingEngineBuilder,
};

use crate::audio::codec::opus::OPUS_RATE;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::pipeline::agent::AgentKind;
use crate::services::Services;
use crate::session::Slot;

/// Pipeline sample rate in Hz (inbound audio is resampled 48 kHz → 16 kHz, outbound back).
pub const PIPELINE_RATE: u32 = 16_000;
/// Remote ICE candidates one peer connection accepts, offer and trickle together (issue 10
/// #7). A browser offers a handful per network interface (host, server-reflexive, relay).
pub const MAX_REMOTE_CANDIDATES: usize = 32;
/// How long the answer waits for the server's ICE candidates (`wire.md` §2.2).
const GATHER_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// A trickle PATCH would take the peer past [`MAX_REMOTE_CANDIDATES`]: 422 on field
    /// `candidates`; none of that request's candidates is added.
    #[error("too many ICE candidates: at most {max} per peer connection")]
    TooManyCandidates {
        /// The cap, [`MAX_REMOTE_CANDIDATES`].
        max: usize,
    },
    /// Every port of `webrtc_udp_port_min..=webrtc_udp_port_max` is taken: 503
    /// `too_many_sessions`.
    #[error("no free UDP port in webrtc_udp_port_min..webrtc_udp_port_max")]
    NoUdpPort,
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

/// A live peer connection as the manager keeps it.
struct PeerEntry {
    pc: Arc<dyn PeerConnection>,
    session: Option<Uuid>,
    slot: Option<Slot>,
    stop: watch::Sender<bool>,
    gathered: Arc<Notify>,
    agent: AgentKind,
    /// Remote ICE candidates accepted so far (offer and trickle), at most
    /// [`MAX_REMOTE_CANDIDATES`].
    remote_candidates: usize,
    /// The UDP port it holds of the configured range (released when the entry goes).
    _port: Option<PortLease>,
}

/// One port of `webrtc_udp_port_min..=max` held by a peer connection; dropping it frees it.
struct PortLease {
    port: u16,
    pool: Arc<Mutex<HashSet<u16>>>,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool.lock().expect("ports lock").remove(&self.port);
    }
}

pub(super) struct ManagerInner {
    pub(super) settings: RtcSettings,
    pub(super) config: Arc<Config>,
    /// The provider clients `voice` sessions use.
    pub(super) services: Arc<Services>,
    pub(super) metrics: Metrics,
    pub(super) close_signal: watch::Receiver<bool>,
    peers: Mutex<HashMap<String, PeerEntry>>,
    /// Ports of the configured UDP range in use.
    ports: Arc<Mutex<HashSet<u16>>>,
    bound: Mutex<HashMap<Uuid, String>>,
}

/// All peer connections of this process, by `pc_id`, and the `/start` sessions bound to them.
/// Cheap to clone.
#[derive(Clone)]
pub struct PeerManager {
    pub(super) inner: Arc<ManagerInner>,
}

impl std::fmt::Debug for PeerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerManager")
            .field("peers", &self.peer_count())
            .finish()
    }
}

impl PeerManager {
    /// A manager; `services` are the provider clients its `voice` sessions use;
    /// `close_signal` turns `true` when running sessions must close (shutdown).
    pub fn new(
        settings: RtcSettings,
        config: Arc<Config>,
        services: Arc<Services>,
        metrics: Metrics,
        close_signal: watch::Receiver<bool>,
    ) -> Self {
        Self {
            inner: Arc::new(ManagerInner {
                settings,
                config,
                services,
                metrics,
                close_signal,
                peers: Mutex::new(HashMap::new()),
                ports: Arc::new(Mutex::new(HashSet::new())),
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
        let (udp_addrs, port) = self.udp_binding()?;
        let mut media = MediaEngine::default();
        media
            .register_codec(opus_codec(111), RtpCodecKind::Audio)
            .map_err(internal)?;
        // Video is never sent or received, but a video codec lets video m-lines be answered
        // `inactive` instead of rejected with port 0: a rejected m-line stops the client's
        // transceiver, and Pipecat's client later fails to `replaceTrack` its camera on it.
        media
            .register_codec(vp8_codec(96), RtpCodecKind::Video)
            .map_err(internal)?;
        let mut engine = SettingEngineBuilder::new();
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
            .with_udp_addrs(udp_addrs)
            .build()
            .await
            .map_err(internal)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let mut remote_candidates = 0;
        let result = async {
            let (offer_sdp, kept) = cap_candidates(&offer_sdp, MAX_REMOTE_CANDIDATES);
            remote_candidates = kept;
            let offer_text = offer_sdp.clone();
            let offer = RTCSessionDescription::offer(offer_sdp).map_err(invalid_sdp)?;
            pc.set_remote_description(offer)
                .await
                .map_err(invalid_sdp)?;
            let audio_mline = first_audio_mline(&offer_text).unwrap_or(0);
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
            quiet_other_transceivers(pc.as_ref()).await;
            let answer = pc.create_answer(None).await.map_err(invalid_sdp)?;
            pc.set_local_description(answer).await.map_err(internal)?;
            let _ = timeout(GATHER_TIMEOUT, gathered.notified()).await;
            let sdp = pc
                .local_description()
                .await
                .ok_or_else(|| RtcError::Internal("no local description".into()))?
                .sdp;
            let sdp = s.nat.apply(&sdp);
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
                    audio_mline,
                    sender,
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
                    remote_candidates,
                    _port: port,
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
        let (offer_sdp, kept) = cap_candidates(&offer_sdp, MAX_REMOTE_CANDIDATES);
        if let Some(e) = self.inner.peers.lock().expect("peers lock").get_mut(pc_id) {
            e.remote_candidates = e.remote_candidates.max(kept);
        }
        let offer = RTCSessionDescription::offer(offer_sdp).map_err(invalid_sdp)?;
        pc.set_remote_description(offer)
            .await
            .map_err(invalid_sdp)?;
        quiet_other_transceivers(pc.as_ref()).await;
        let answer = pc.create_answer(None).await.map_err(invalid_sdp)?;
        pc.set_local_description(answer).await.map_err(internal)?;
        let _ = timeout(Duration::from_secs(1), gathered.notified()).await;
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| RtcError::Internal("no local description".into()))?
            .sdp;
        let sdp = self.inner.settings.nat.apply(&sdp);
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
    /// A peer gets at most [`MAX_REMOTE_CANDIDATES`] remote candidates in all (offer and
    /// trickle): each one costs the ICE agent a round of connectivity checks (issue 10 #7).
    ///
    /// # Errors
    /// [`RtcError::UnknownPc`]; [`RtcError::TooManyCandidates`] when this request would pass
    /// the cap (nothing is added); [`RtcError::Invalid`] (field `candidates`) for a candidate
    /// the ICE agent rejects.
    pub async fn add_candidates(
        &self,
        pc_id: &str,
        candidates: Vec<Candidate>,
    ) -> Result<(), RtcError> {
        let n = candidates
            .iter()
            .filter(|c| !c.candidate.trim().is_empty())
            .count();
        let pc = {
            let mut peers = self.inner.peers.lock().expect("peers lock");
            let entry = peers.get_mut(pc_id).ok_or(RtcError::UnknownPc)?;
            if entry.remote_candidates + n > MAX_REMOTE_CANDIDATES {
                return Err(RtcError::TooManyCandidates {
                    max: MAX_REMOTE_CANDIDATES,
                });
            }
            entry.remote_candidates += n;
            entry.pc.clone()
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

    /// The UDP addresses a new peer connection binds: one free port of the configured range
    /// (checked by binding it), or an ephemeral port.
    fn udp_binding(&self) -> Result<(Vec<String>, Option<PortLease>), RtcError> {
        let s = &self.inner.settings;
        let Some((min, max)) = s.udp_ports else {
            return Ok((s.udp_addrs.clone(), None));
        };
        let mut used = self.inner.ports.lock().expect("ports lock");
        for port in min..=max {
            if used.contains(&port) {
                continue;
            }
            let addr = format!("{}:{port}", s.bind_ip);
            // Another process may hold it: only a port we can bind is handed out.
            if std::net::UdpSocket::bind(&addr).is_ok() {
                used.insert(port);
                let lease = PortLease {
                    port,
                    pool: self.inner.ports.clone(),
                };
                return Ok((vec![addr], Some(lease)));
            }
        }
        tracing::warn!(min, max, "every UDP port of the WebRTC range is in use");
        Err(RtcError::NoUdpPort)
    }

    /// Forget `pc_id` (its session ended): frees its slot and unbinds its `/start` session.
    pub(super) fn remove(&self, pc_id: &str) {
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

/// VP8 (RFC 7741), registered only so video m-lines can be answered `inactive`.
fn vp8_codec(payload_type: u8) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type,
        ..Default::default()
    }
}

/// Make every transceiver except the one carrying our audio track `inactive` before the
/// answer is created. We send only our one audio track and read only the audio of its m-line,
/// so a video m-line (Pipecat's client offers a `sendrecv` camera and a `sendonly` screen) or
/// a second audio m-line is answered `inactive` (RFC 3264 §6.1: the answer's direction must
/// be compatible with the offer's; `inactive` always is) and its RTP is never sent to us.
async fn quiet_other_transceivers(pc: &dyn PeerConnection) {
    for t in pc.get_transceivers().await {
        if matches!(t.sender().await, Ok(None)) {
            let _ = t.set_direction(RTCRtpTransceiverDirection::Inactive).await;
        }
    }
}

/// Keep the first `max` distinct `a=candidate` lines of an SDP offer (a candidate repeated in
/// several bundled m-sections counts once) and drop the rest; also returns how many distinct
/// candidates were kept. Bounds the connectivity checks a client can make the server send
/// (issue 10 #7: 1,000 offered candidates made it probe 1,000 endpoints).
pub fn cap_candidates(sdp: &str, max: usize) -> (String, usize) {
    let mut kept: Vec<&str> = Vec::new();
    let mut dropped = 0usize;
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let attr = line.trim_end();
        if let Some(c) = attr.strip_prefix("a=candidate:") {
            if !kept.contains(&c) {
                if kept.len() == max {
                    dropped += 1;
                    continue;
                }
                kept.push(c);
            }
        }
        out.push_str(line);
    }
    if dropped > 0 {
        tracing::debug!(
            dropped,
            kept = kept.len(),
            "ignored ICE candidates beyond the cap"
        );
    }
    (out, kept.len())
}

/// Index of the offer's first `m=audio` section (the one `add_track` binds our sender to, and
/// what Pipecat's `trackStatus.receiver_index` counts in: its transceivers are created in
/// m-line order).
fn first_audio_mline(sdp: &str) -> Option<usize> {
    sdp.lines()
        .filter(|l| l.starts_with("m="))
        .position(|l| l.starts_with("m=audio"))
}

pub(super) fn opus_codec(payload_type: u8) -> RTCRtpCodecParameters {
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
pub(super) enum PcEvent {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_candidates_are_capped_and_counted_once_per_distinct_line() {
        let mut sdp = String::from("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
        for i in 0..40 {
            sdp.push_str(&format!(
                "a=candidate:{i} 1 udp 2122260223 127.0.0.1 {} typ host\r\n",
                10_000 + i
            ));
        }
        // The same candidate again in a bundled m-section does not count twice.
        sdp.push_str("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
        sdp.push_str("a=candidate:0 1 udp 2122260223 127.0.0.1 10000 typ host\r\n");
        let (capped, kept) = cap_candidates(&sdp, 32);
        assert_eq!(kept, 32);
        assert_eq!(capped.matches("a=candidate:").count(), 33);
        assert!(capped.contains(" 10031 typ host") && !capped.contains(" 10032 typ host"));
        assert!(capped.ends_with("10000 typ host\r\n"));
        assert_eq!(first_audio_mline(&capped), Some(0));
    }
}
