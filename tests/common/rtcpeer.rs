//! A webrtc-rs client peer for the WebRTC integration tests (`wire.md` §2): one sendrecv
//! Opus track (optionally with Pipecat-shaped video m-lines), an `rtvi` data channel, real-time
//! 20 ms Opus sending, decoded bot audio with per-packet arrival times and peaks, and the data
//! channel's RTVI messages with arrival times.
//!
//! Include it next to `mod common;` (it is not declared in `common/mod.rs`, so the test
//! binaries that do not speak WebRTC do not compile it):
//!
//! ```ignore
//! mod common;
//! #[path = "common/rtcpeer.rs"]
//! mod rtcpeer;
//! use rtcpeer::Client;
//! ```
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use voxray::audio::codec::opus::{FRAME_SAMPLES, OpusDecoder, OpusEncoder};
use voxray::audio::{pcm, resample, wav};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription,
};

use crate::common::audio_dir;

/// A received packet with a sample above this is audible (decoded silence is 0).
pub const AUDIBLE: u16 = 300;

/// 48 kHz mono samples of a test speech file, via the real resampler.
pub fn speech48(name: &str) -> Vec<i16> {
    let audio = wav::read_mono(&audio_dir().join(name)).unwrap();
    resample::resample(&audio.samples, audio.sample_rate, 48_000)
        .unwrap()
        .into_iter()
        .map(pcm::f32_to_i16)
        .collect()
}

#[derive(Default)]
pub struct Shared {
    pub received: Mutex<Vec<i16>>,
    pub first_audio_at: Mutex<Option<Instant>>,
    pub candidates: Mutex<Vec<Value>>,
    pub state: Mutex<Option<RTCPeerConnectionState>>,
    /// Each received packet: arrival time and its peak |sample| (48 kHz decoded).
    pub packets: Mutex<Vec<(Instant, u16)>>,
    /// Each data-channel message: arrival time and its RTVI `type`.
    pub events: Mutex<Vec<(Instant, String)>>,
    /// Each data-channel JSON message whole, with its arrival time.
    pub messages: Mutex<Vec<(Instant, Value)>>,
}

/// The client's event handler: records candidates, state, decoded packets.
pub struct Handler {
    pub shared: Arc<Shared>,
    pub connected: Arc<Notify>,
    pub gathered: Arc<Notify>,
    pub state_change: Arc<Notify>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.notify_one();
        }
    }

    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            self.shared.candidates.lock().unwrap().push(json!({
                "candidate": init.candidate,
                "sdp_mid": init.sdp_mid,
                "sdp_mline_index": init.sdp_mline_index,
            }));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        *self.shared.state.lock().unwrap() = Some(state);
        self.state_change.notify_waiters();
        if state == RTCPeerConnectionState::Connected {
            self.connected.notify_one();
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let mut decoder = OpusDecoder::new().unwrap();
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = ev
                    && !p.payload.is_empty()
                    && let Ok(pcm) = decoder.decode(&p.payload)
                {
                    let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
                    shared.packets.lock().unwrap().push((Instant::now(), peak));
                    if peak > 300 {
                        shared
                            .first_audio_at
                            .lock()
                            .unwrap()
                            .get_or_insert_with(Instant::now);
                    }
                    shared.received.lock().unwrap().extend_from_slice(pcm);
                }
            }
        });
    }
}

/// A webrtc-rs client peer: one sendrecv Opus track and an `rtvi` data channel.
pub struct Client {
    pub pc: Arc<dyn PeerConnection>,
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub shared: Arc<Shared>,
    pub connected: Arc<Notify>,
    pub gathered: Arc<Notify>,
    pub state_change: Arc<Notify>,
    pub dc: Arc<dyn DataChannel>,
    pub dc_messages: mpsc::UnboundedReceiver<String>,
    pub dc_open: Arc<Notify>,
    pub pc_id: String,
}

pub fn opus() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 111,
        ..Default::default()
    }
}

/// VP8 for the video m-lines of the Pipecat-shaped offer.
pub fn vp8() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: 96,
        ..Default::default()
    }
}

/// A local track of `kind` with one encoding (random SSRC).
pub fn local_track(
    id: &str,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
) -> Arc<TrackLocalStaticSample> {
    Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                format!("{id}-stream"),
                format!("{id}-track"),
                id.into(),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(rand::random::<u32>()),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            ),
        )
        .unwrap(),
    )
}

impl Client {
    pub async fn new() -> Client {
        Self::build(false).await
    }

    /// A peer whose offer has the m-lines of Pipecat's prebuilt browser client
    /// (`pipecat-ai-small-webrtc-prebuilt`): `audio:sendrecv, video:sendrecv (camera),
    /// video:sendonly (screen), application`.
    pub async fn pipecat_shaped() -> Client {
        Self::build(true).await
    }

    pub async fn build(video: bool) -> Client {
        let shared = Arc::new(Shared::default());
        let (connected, gathered, state_change) = (
            Arc::new(Notify::new()),
            Arc::new(Notify::new()),
            Arc::new(Notify::new()),
        );
        let mut media = MediaEngine::default();
        media.register_codec(opus(), RtpCodecKind::Audio).unwrap();
        if video {
            media.register_codec(vp8(), RtpCodecKind::Video).unwrap();
        }
        let pc = PeerConnectionBuilder::new()
            .with_media_engine(media)
            .with_handler(Arc::new(Handler {
                shared: shared.clone(),
                connected: connected.clone(),
                gathered: gathered.clone(),
                state_change: state_change.clone(),
            }))
            .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
            .build()
            .await
            .unwrap();
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let ssrc = rand::random::<u32>();
        let track = Arc::new(
            TrackLocalStaticSample::new(
                Instant::now(),
                MediaStreamTrack::new(
                    "mic".into(),
                    "mic-track".into(),
                    "mic".into(),
                    RtpCodecKind::Audio,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(ssrc),
                            ..Default::default()
                        },
                        codec: opus().rtp_codec,
                        ..Default::default()
                    }],
                ),
            )
            .unwrap(),
        );
        pc.add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .unwrap();
        if video {
            for (id, direction) in [
                ("camera", RTCRtpTransceiverDirection::Sendrecv),
                ("screen", RTCRtpTransceiverDirection::Sendonly),
            ] {
                pc.add_transceiver_from_track(
                    local_track(id, RtpCodecKind::Video, vp8().rtp_codec) as Arc<dyn TrackLocal>,
                    Some(RTCRtpTransceiverInit {
                        direction,
                        streams: vec![],
                        send_encodings: vec![],
                    }),
                )
                .await
                .unwrap();
            }
        }
        let dc = pc.create_data_channel("rtvi", None).await.unwrap();
        let (tx, dc_messages) = mpsc::unbounded_channel();
        let dc_open = Arc::new(Notify::new());
        {
            let dc = dc.clone();
            let open = dc_open.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                while let Some(ev) = dc.poll().await {
                    match ev {
                        DataChannelEvent::OnOpen => open.notify_one(),
                        DataChannelEvent::OnMessage(m) => {
                            let text = String::from_utf8_lossy(&m.data).into_owned();
                            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                                let now = Instant::now();
                                if let Some(kind) = v["type"].as_str() {
                                    shared.events.lock().unwrap().push((now, kind.to_string()));
                                }
                                shared.messages.lock().unwrap().push((now, v));
                            }
                            let _ = tx.send(text);
                        }
                        DataChannelEvent::OnClose => break,
                        _ => {}
                    }
                }
            });
        }
        Client {
            pc,
            track,
            ssrc,
            shared,
            connected,
            gathered,
            state_change,
            dc,
            dc_messages,
            dc_open,
            pc_id: String::new(),
        }
    }

    /// Create the offer; with `gather` wait until every candidate is in it (no trickle).
    pub async fn offer(&self, gather: bool) -> String {
        let offer = self.pc.create_offer(None).await.unwrap();
        self.pc.set_local_description(offer).await.unwrap();
        if gather {
            tokio::time::timeout(Duration::from_secs(5), self.gathered.notified())
                .await
                .unwrap();
        }
        self.pc.local_description().await.unwrap().sdp
    }

    pub async fn apply_answer(&mut self, sdp: &str, pc_id: &str) {
        self.pc_id = pc_id.to_string();
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp.to_string()).unwrap())
            .await
            .unwrap();
    }

    pub async fn wait_connected(&self) {
        tokio::time::timeout(Duration::from_secs(10), self.connected.notified())
            .await
            .expect("peer connects within 10 s");
    }

    /// Send `samples` (48 kHz mono) as real-time 20 ms Opus packets, then `tail` of silence.
    pub async fn send_audio(&self, samples: &[i16], tail: Duration) {
        // The negotiated payload type of the sender of our microphone track, picked by kind
        // and SSRC (`get_senders` has no fixed order: with video transceivers the first one
        // may be a video sender).
        let mut pt = None;
        for sender in self.pc.get_senders().await {
            let track = sender.track();
            if track.kind().await != RtpCodecKind::Audio
                || !track.ssrcs().await.contains(&self.ssrc)
            {
                continue;
            }
            let params = sender.get_parameters().await.unwrap().rtp_parameters;
            pt = params
                .codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_OPUS))
                .map(|c| c.payload_type);
        }
        let pt = pt.expect("the microphone track has an Opus sender");
        let mut enc = OpusEncoder::new().unwrap();
        let silence = vec![0i16; (tail.as_millis() as usize / 20) * FRAME_SAMPLES];
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for frame in samples
            .chunks(FRAME_SAMPLES)
            .chain(silence.chunks(FRAME_SAMPLES))
        {
            let mut f = frame.to_vec();
            f.resize(FRAME_SAMPLES, 0);
            tick.tick().await;
            let sample = Sample {
                data: enc.encode(&f).unwrap(),
                duration: Duration::from_millis(20),
                ..Sample::new(Instant::now())
            };
            self.track
                .sample_writer(self.ssrc, pt)
                .write_sample(&sample)
                .await
                .unwrap();
        }
    }

    /// Wait for a data-channel JSON message of RTVI `type`.
    pub async fn wait_message(&mut self, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let text = tokio::time::timeout(left, self.dc_messages.recv())
                .await
                .unwrap_or_else(|_| panic!("no {kind} message within 5 s"))
                .expect("data channel open");
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// Every data-channel JSON message so far, with arrival times.
    pub fn messages(&self) -> Vec<(Instant, Value)> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// The decoded bot audio so far (48 kHz mono).
    pub fn received(&self) -> Vec<i16> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn candidates(&self) -> Vec<Value> {
        self.shared.candidates.lock().unwrap().clone()
    }

    pub async fn close(&self) {
        self.pc.close().await.unwrap();
    }

    /// The RTVI `type` of every data-channel message so far, with arrival times.
    pub fn events(&self) -> Vec<(Instant, String)> {
        self.shared.events.lock().unwrap().clone()
    }

    /// Wait until `n` data-channel events of `kind` have arrived.
    pub async fn wait_events(&self, kind: &str, n: usize, within: Duration) {
        let t0 = Instant::now();
        while self.events().iter().filter(|(_, k)| k == kind).count() < n {
            assert!(
                t0.elapsed() < within,
                "fewer than {n} {kind} within {within:?}: {:?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Audible packets received after `t` (and before `until`).
    pub fn audible_between(&self, t: Instant, until: Instant) -> Vec<Instant> {
        self.shared
            .packets
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, peak)| *at > t && *at < until && *peak > AUDIBLE)
            .map(|(at, _)| *at)
            .collect()
    }
}
