//! Media: the Opus track reader (inbound RTP → 16 kHz 20 ms frames) and the [`Pacer`] that
//! times outbound packets on absolute 20 ms deadlines (`wire.md` §2.3).

use super::PIPELINE_RATE;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::time::Instant as TokioInstant;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::audio::codec::opus::{FRAME_SAMPLES, OPUS_RATE, OpusDecoder};
use crate::audio::pcm;
use crate::audio::resample::StreamResampler;
use crate::metrics::Metrics;
use crate::pipeline::frame::AudioFrame;
use crate::pipeline::processor::Link;
use crate::transport::session::push_audio;

/// Packet interval of outbound audio.
pub(super) const PACKET: Duration = Duration::from_millis(20);
/// Behind by more than this many packets after a stall: skip ahead instead of bursting.
pub(super) const MAX_BURST_PACKETS: u32 = 10;
/// Longest packet gap (in packets) concealed with the decoder's PLC.
const MAX_CONCEALED_PACKETS: u16 = 5;

/// The outbound track and what writing to it needs.
pub(super) struct Output {
    pub(super) track: Arc<TrackLocalStaticSample>,
    pub(super) ssrc: u32,
    pub(super) payload_type: u8,
    /// Index of the offer's m-line our audio uses both ways (`trackStatus.receiver_index`).
    pub(super) audio_mline: usize,
    /// The sender of our track: its DTLS transport tells when the peer closed it.
    pub(super) sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
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

/// Decode the client's Opus packets to 16 kHz mono 20 ms frames and push them into the
/// pipeline without waiting (a full inbox drops the new frame and counts it).
pub(super) async fn read_track(
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
}
