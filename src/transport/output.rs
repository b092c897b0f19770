//! The one output stage every transport shares (`DESIGN.md`, "Transports"; `pipeline.md` §3,
//! §7): what the pipeline emits becomes paced wire frames.
//!
//! - bot audio is resampled to the wire rate (any TTS rate) and re-chunked to 20 ms (a shorter
//!   last chunk of a turn is sent, never dropped; echo keeps the client's frame sizes);
//! - the output queue holds at most 2 s of audio; the transport stops reading the pipeline
//!   while it is full (producers wait);
//! - WebSocket and telephony pacing follow the deadline playout clock: a frame may be written
//!   when `play_end − now ≤ 100 ms`, then `play_end = max(play_end, now) + duration`
//!   ([`OutputStage::pop_due`], [`OutputStage::next_deadline`]). A frame that may go now is
//!   returned now: the transport needs no timer for it. WebRTC takes exactly one 20 ms chunk
//!   per packet deadline ([`OutputStage::pop_tick`]);
//! - on `Interruption{k}` everything of turns ≤ k is dropped and the client is told in the same
//!   step (the `Interruption` frame, which serializers turn into protobuf `interruption`, RTVI
//!   `bot-interrupted` or a carrier's clear message), followed by `bot-stopped-speaking`;
//! - `BotStartedSpeaking` when a turn's first audio is handed to the transport,
//!   `BotStoppedSpeaking` when its last audio has played out; both are also sent upstream into
//!   the pipeline ([`crate::pipeline::Pipeline::feedback`]);
//! - `voxray_user_bot_latency_seconds` (user turn end → first bot audio).
//!
//! Frames to write are appended to a caller-owned `Vec<Frame>` (reused: no allocation per
//! frame on the echo path).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio::pcm;
use crate::audio::resample::StreamResampler;
use crate::pipeline::context::SessionContext;
use crate::pipeline::frame::{AudioFrame, Frame};
use crate::pipeline::processor::UpLink;

/// Lead of the playout clock: the client never holds more than this plus one frame.
pub const PLAYOUT_LEAD: Duration = Duration::from_millis(100);
/// Bot audio the output queue may hold.
pub const MAX_QUEUED: Duration = Duration::from_secs(2);
/// Length of one re-chunked bot audio message.
pub const CHUNK: Duration = Duration::from_millis(20);
/// A speaking turn whose audio ran dry without a `TtsStopped` ends this long after its last
/// audio played out.
const DRY_OUT: Duration = Duration::from_millis(600);

/// How a session's output behaves; chosen by the agent and the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputOptions {
    /// Rate of bot audio on the wire, Hz; `None` keeps the pipeline's rate.
    pub wire_rate: Option<u32>,
    /// Re-chunk bot audio to 20 ms messages (off for echo, which returns the client's sizes).
    pub rechunk: bool,
    /// Emit `bot-started-speaking` / `bot-stopped-speaking` (off for echo).
    pub speaking_events: bool,
}

/// One queued item: bot audio ready for the wire, or a data frame kept in step with it.
#[derive(Debug)]
struct Queued {
    frame: Frame,
    /// Audio duration (zero for non-audio frames).
    duration: Duration,
}

/// The output stage of one session.
#[derive(Debug)]
pub struct OutputStage {
    session: Arc<SessionContext>,
    opts: OutputOptions,
    feedback: Option<UpLink>,
    queue: VecDeque<Queued>,
    queued_audio: Duration,
    /// Re-chunking buffer: samples at the wire rate of `partial_turn`.
    partial: Vec<i16>,
    partial_turn: u64,
    /// Source rate and resampler to the wire rate.
    resampler: Option<(u32, StreamResampler)>,
    /// The bot turn whose audio is playing, if any.
    speaking: Option<u64>,
    /// When the speaking turn's audio has played out (set once its `TtsStopped` is written,
    /// or when the queue runs dry).
    stop_at: Option<Instant>,
    /// `TtsStopped` of the speaking turn was written: `stop_at` is final.
    turn_complete: bool,
    play_end: Instant,
    user_stopped: Option<Instant>,
}

impl OutputStage {
    /// A stage for `session`; `feedback` sends bot speaking events upstream.
    pub fn new(
        session: Arc<SessionContext>,
        opts: OutputOptions,
        feedback: Option<UpLink>,
    ) -> Self {
        Self {
            session,
            opts,
            feedback,
            queue: VecDeque::with_capacity(128),
            queued_audio: Duration::ZERO,
            partial: Vec::new(),
            partial_turn: 0,
            resampler: None,
            speaking: None,
            stop_at: None,
            turn_complete: false,
            play_end: Instant::now(),
            user_stopped: None,
        }
    }

    /// Whether the queue has room for more pipeline output (less than 2 s of audio queued).
    pub fn has_room(&self) -> bool {
        self.queued_audio < MAX_QUEUED
    }

    /// Audio queued for the wire (not yet handed to the transport).
    pub fn queued_audio(&self) -> Duration {
        self.queued_audio
    }

    /// Whether nothing is queued.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.partial.is_empty()
    }

    /// Take one frame from the pipeline. Frames that go out at once (system frames, the
    /// interruption notice) are appended to `out`; bot audio and in-step data frames are
    /// queued for [`Self::pop_due`] / [`Self::pop_tick`].
    pub fn push(&mut self, frame: Frame, now: Instant, out: &mut Vec<Frame>) {
        if self.session.is_stale(frame.turn_id()) {
            return;
        }
        let start = out.len();
        self.push_inner(frame, now, out);
        self.tap_from(out, start);
    }

    fn push_inner(&mut self, frame: Frame, now: Instant, out: &mut Vec<Frame>) {
        match frame {
            Frame::OutputAudio {
                audio,
                turn_id,
                t_in,
            } => self.push_audio(audio, turn_id, t_in),
            Frame::TtsStopped { turn_id } => {
                self.flush_partial();
                self.enqueue(Frame::TtsStopped { turn_id }, Duration::ZERO);
            }
            Frame::Interruption { turn_id } => self.interrupt(turn_id, now, out),
            Frame::UserStoppedSpeaking { at } => {
                self.user_stopped = Some(at);
                out.push(Frame::UserStoppedSpeaking { at });
            }
            Frame::Start { .. } => {}
            f if f.is_system() => out.push(f),
            // Data frames stay in step with the audio around them.
            f => {
                self.flush_partial_if_other_turn(f.turn_id());
                self.enqueue(f, Duration::ZERO);
            }
        }
    }

    fn push_audio(&mut self, audio: AudioFrame, turn_id: u64, t_in: Option<Instant>) {
        let wire_rate = self.opts.wire_rate.unwrap_or(audio.sample_rate);
        let audio = if audio.sample_rate == wire_rate {
            audio
        } else {
            let r = match &mut self.resampler {
                Some((from, r)) if *from == audio.sample_rate => r,
                slot => match StreamResampler::new(audio.sample_rate, wire_rate) {
                    Ok(r) => &mut slot.insert((audio.sample_rate, r)).1,
                    Err(e) => {
                        tracing::debug!(error = %e, "dropped bot audio at an unsupported rate");
                        return;
                    }
                },
            };
            AudioFrame::mono(r.process_pcm(&audio.pcm), wire_rate)
        };
        if !self.opts.rechunk {
            let duration = Duration::from_secs_f64(audio.duration_secs());
            self.enqueue(
                Frame::OutputAudio {
                    audio,
                    turn_id,
                    t_in,
                },
                duration,
            );
            return;
        }
        self.flush_partial_if_other_turn(Some(turn_id));
        self.partial_turn = turn_id;
        let chunk = chunk_samples(wire_rate);
        let mut samples: &[u8] = &audio.pcm;
        // Top up a partial chunk first, then whole chunks straight from the input.
        if !self.partial.is_empty() {
            let need = (chunk - self.partial.len()).min(samples.len() / 2);
            self.partial.extend(
                samples[..need * 2]
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]])),
            );
            samples = &samples[need * 2..];
            if self.partial.len() == chunk {
                let pcm = pcm::to_bytes(&self.partial);
                self.partial.clear();
                self.enqueue_chunk(pcm, wire_rate, turn_id, t_in);
            }
        }
        while samples.len() >= chunk * 2 {
            let pcm = audio.pcm.slice_ref(&samples[..chunk * 2]);
            samples = &samples[chunk * 2..];
            self.enqueue_chunk(pcm, wire_rate, turn_id, t_in);
        }
        self.partial.extend(
            samples
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    }

    fn enqueue_chunk(&mut self, pcm: bytes::Bytes, rate: u32, turn_id: u64, t_in: Option<Instant>) {
        let audio = AudioFrame::mono(pcm, rate);
        let duration = Duration::from_secs_f64(audio.duration_secs());
        self.enqueue(
            Frame::OutputAudio {
                audio,
                turn_id,
                t_in,
            },
            duration,
        );
    }

    fn flush_partial_if_other_turn(&mut self, turn: Option<u64>) {
        if !self.partial.is_empty() && turn.unwrap_or(0) != self.partial_turn {
            self.flush_partial();
        }
    }

    /// Send what is left of the re-chunking buffer as a shorter last chunk.
    fn flush_partial(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let rate = self
            .opts
            .wire_rate
            .or(self.resampler.as_ref().map(|r| r.0))
            .unwrap_or(self.session.params.out_sample_rate);
        let pcm = pcm::to_bytes(&self.partial);
        self.partial.clear();
        self.enqueue_chunk(pcm, rate, self.partial_turn, None);
    }

    fn enqueue(&mut self, frame: Frame, duration: Duration) {
        self.queued_audio += duration;
        self.queue.push_back(Queued { frame, duration });
    }

    fn interrupt(&mut self, turn_id: u64, now: Instant, out: &mut Vec<Frame>) {
        self.session.interrupt(turn_id);
        let before = self.queue.len();
        self.queue
            .retain(|q| !q.frame.turn_id().is_some_and(|t| t <= turn_id));
        if self.queue.len() != before {
            self.queued_audio = self.queue.iter().map(|q| q.duration).sum();
        }
        if self.partial_turn <= turn_id {
            self.partial.clear();
        }
        // The resampler's delay line holds audio of the interrupted turn.
        self.resampler = None;
        out.push(Frame::Interruption { turn_id });
        if self.speaking.is_some_and(|t| t <= turn_id) {
            self.stop_speaking(now, out);
        }
        // The client drops what it holds on the interruption notice.
        self.play_end = now;
    }

    /// When the next queued item may be written under the playout clock (`pipeline.md` §3),
    /// or when the speaking turn ends; `None` when there is nothing to wait for.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let item = self.queue.front().map(|q| {
            if q.duration.is_zero() {
                now
            } else {
                self.play_end
                    .checked_sub(PLAYOUT_LEAD)
                    .unwrap_or(self.play_end)
            }
        });
        match (item, self.stop_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// WebSocket/telephony pacing: append to `out` every queued item that may be written at
    /// `now`, with the bot speaking events they cause.
    pub fn pop_due(&mut self, now: Instant, out: &mut Vec<Frame>) {
        let start = out.len();
        while let Some(q) = self.queue.front() {
            if !q.duration.is_zero() && self.play_end > now + PLAYOUT_LEAD {
                break;
            }
            let q = self.queue.pop_front().expect("front exists");
            if let Some(audio) = self.write(q, now, out) {
                out.push(audio);
            }
        }
        self.check_stopped(now, out);
        self.tap_from(out, start);
    }

    /// Copy what this call appended to `out` (from index `start`) to the session's observers.
    fn tap_from(&self, out: &[Frame], start: usize) {
        for f in &out[start.min(out.len())..] {
            self.session.tap(f);
        }
    }

    /// WebRTC pacing: the audio for one 20 ms packet due at `now` with the inbound time of
    /// the echoed frame it carries (`None`: send silence); the in-step frames around it are
    /// appended to `out`.
    pub fn pop_tick(
        &mut self,
        now: Instant,
        out: &mut Vec<Frame>,
    ) -> Option<(AudioFrame, Option<Instant>)> {
        let start = out.len();
        let mut audio = None;
        while let Some(q) = self.queue.front() {
            if !q.duration.is_zero() && audio.is_some() {
                break;
            }
            let q = self.queue.pop_front().expect("front exists");
            if let Some(a) = self.write(q, now, out) {
                audio = Some(a);
            }
        }
        if audio.is_none() && !self.partial.is_empty() && self.queue.is_empty() {
            // A partial chunk waits for more audio one tick at most.
            self.flush_partial();
            if let Some(q) = self.queue.pop_front() {
                audio = self.write(q, now, out);
            }
        }
        self.check_stopped(now, out);
        self.tap_from(out, start);
        if let Some(a) = &audio {
            self.session.tap(a);
        }
        match audio {
            Some(Frame::OutputAudio { audio, t_in, .. }) => Some((audio, t_in)),
            _ => None,
        }
    }

    /// Hand one queued item to the transport: audio is returned (after the speaking event it
    /// causes, appended to `out`), other frames are appended to `out`, markers update the
    /// speaking state.
    fn write(&mut self, q: Queued, now: Instant, out: &mut Vec<Frame>) -> Option<Frame> {
        self.queued_audio = self.queued_audio.saturating_sub(q.duration);
        match q.frame {
            Frame::OutputAudio { turn_id, .. } => {
                if self.opts.speaking_events && turn_id != 0 && self.speaking != Some(turn_id) {
                    self.start_speaking(turn_id, now, out);
                }
                self.play_end = self.play_end.max(now) + q.duration;
                self.stop_at = None;
                self.turn_complete = false;
                Some(q.frame)
            }
            Frame::TtsStopped { turn_id } => {
                if self.speaking == Some(turn_id) {
                    self.stop_at = Some(self.play_end.max(now));
                    self.turn_complete = true;
                }
                None
            }
            f => {
                out.push(f);
                None
            }
        }
    }

    fn start_speaking(&mut self, turn_id: u64, now: Instant, out: &mut Vec<Frame>) {
        if self.speaking.is_some() {
            self.stop_speaking(now, out);
        }
        self.speaking = Some(turn_id);
        if let Some(at) = self.user_stopped.take() {
            self.session
                .metrics
                .user_bot_latency
                .with_label_values(&[self.session.params.pipeline])
                .observe(now.saturating_duration_since(at).as_secs_f64());
        }
        let f = Frame::BotStartedSpeaking { turn_id, at: now };
        self.feed_back(f.clone());
        out.push(f);
    }

    fn stop_speaking(&mut self, now: Instant, out: &mut Vec<Frame>) {
        let Some(turn_id) = self.speaking.take() else {
            return;
        };
        self.stop_at = None;
        self.turn_complete = false;
        self.session.finish_turn(turn_id);
        let f = Frame::BotStoppedSpeaking { turn_id, at: now };
        self.feed_back(f.clone());
        out.push(f);
    }

    /// End the speaking turn once its audio has played out (after its `TtsStopped`, or
    /// [`DRY_OUT`] after the queue ran dry without one).
    fn check_stopped(&mut self, now: Instant, out: &mut Vec<Frame>) {
        if self.speaking.is_none() {
            return;
        }
        let has_audio =
            self.queue.iter().any(|q| !q.duration.is_zero()) || !self.partial.is_empty();
        if !self.turn_complete {
            self.stop_at = (!has_audio).then(|| self.play_end.max(now) + DRY_OUT);
        }
        if self.stop_at.is_some_and(|t| t <= now) {
            self.stop_speaking(now, out);
        }
    }

    fn feed_back(&self, frame: Frame) {
        if let Some(up) = &self.feedback {
            let _ = up.try_send(frame);
        }
    }
}

/// Samples in one 20 ms chunk at `rate` Hz.
fn chunk_samples(rate: u32) -> usize {
    (rate as usize * CHUNK.as_millis() as usize) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::pipeline::context::SessionParams;

    fn stage(opts: OutputOptions) -> OutputStage {
        let session = SessionContext::new("t", SessionParams::default(), Metrics::new());
        OutputStage::new(session, opts, None)
    }

    fn audio(turn_id: u64, samples: usize, rate: u32) -> Frame {
        Frame::OutputAudio {
            audio: AudioFrame::mono(vec![1u8; samples * 2].into(), rate),
            turn_id,
            t_in: None,
        }
    }

    const PARROT: OutputOptions = OutputOptions {
        wire_rate: Some(16_000),
        rechunk: true,
        speaking_events: true,
    };

    #[test]
    fn bot_audio_is_rechunked_to_20_ms_with_a_short_last_chunk() {
        let mut s = stage(PARROT);
        let now = Instant::now();
        let mut out = Vec::new();
        s.push(audio(1, 1000, 16_000), now, &mut out);
        s.push(Frame::TtsStopped { turn_id: 1 }, now, &mut out);
        let mut sizes = Vec::new();
        let mut t = now;
        while !s.is_idle() {
            s.pop_due(t, &mut out);
            t += Duration::from_millis(20);
        }
        for f in out.drain(..) {
            if let Frame::OutputAudio { audio, .. } = f {
                sizes.push(audio.samples());
            }
        }
        assert_eq!(sizes, vec![320, 320, 320, 40]);
    }

    #[test]
    fn audio_that_may_go_now_goes_now_and_the_lead_is_bounded() {
        let mut s = stage(OutputOptions {
            wire_rate: None,
            rechunk: false,
            speaking_events: false,
        });
        let now = Instant::now();
        let mut out = Vec::new();
        // Ten 20 ms frames at once: 100 ms of lead → 6 go now (the 6th starts at 100 ms).
        for _ in 0..10 {
            s.push(audio(0, 320, 16_000), now, &mut out);
        }
        s.pop_due(now, &mut out);
        assert_eq!(out.len(), 6);
        let next = s.next_deadline(now).unwrap();
        assert_eq!(next, now + Duration::from_millis(20));
    }

    #[test]
    fn interruption_drops_the_turn_and_tells_the_client_in_the_same_step() {
        let mut s = stage(PARROT);
        let now = Instant::now();
        let mut out = Vec::new();
        s.session.new_turn();
        s.push(audio(1, 16_000, 16_000), now, &mut out);
        s.pop_due(now, &mut out);
        assert!(matches!(
            out[0],
            Frame::BotStartedSpeaking { turn_id: 1, .. }
        ));
        out.clear();
        s.push(Frame::Interruption { turn_id: 1 }, now, &mut out);
        let kinds: Vec<_> = out.iter().map(Frame::kind).collect();
        assert_eq!(kinds, ["Interruption", "BotStoppedSpeaking"]);
        assert!(s.is_idle());
        out.clear();
        // Late audio of the interrupted turn is stale; the next turn plays.
        s.push(audio(1, 320, 16_000), now, &mut out);
        s.push(audio(2, 320, 16_000), now, &mut out);
        s.pop_due(now, &mut out);
        let turns: Vec<_> = out.iter().filter_map(Frame::turn_id).collect();
        assert_eq!(turns, vec![2]);
    }

    #[test]
    fn speaking_ends_when_the_last_audio_has_played_out() {
        let mut s = stage(PARROT);
        let now = Instant::now();
        let mut out = Vec::new();
        s.push(audio(1, 640, 16_000), now, &mut out);
        s.push(Frame::TtsStopped { turn_id: 1 }, now, &mut out);
        s.pop_due(now, &mut out);
        assert!(
            !out.iter()
                .any(|f| matches!(f, Frame::BotStoppedSpeaking { .. }))
        );
        assert_eq!(s.next_deadline(now), Some(now + Duration::from_millis(40)));
        s.pop_due(now + Duration::from_millis(40), &mut out);
        assert!(matches!(
            out.last(),
            Some(Frame::BotStoppedSpeaking { turn_id: 1, .. })
        ));
    }

    #[test]
    fn webrtc_ticks_take_one_chunk_each_at_the_wire_rate() {
        let mut s = stage(OutputOptions {
            wire_rate: Some(48_000),
            rechunk: true,
            speaking_events: false,
        });
        let now = Instant::now();
        let mut out = Vec::new();
        // 24 kHz TTS audio, 60 ms.
        s.push(audio(1, 1440, 24_000), now, &mut out);
        let mut n = 0;
        while let Some((a, _)) = s.pop_tick(now, &mut out) {
            assert_eq!(a.sample_rate, 48_000);
            assert!(a.samples() <= 960);
            n += 1;
        }
        assert!(n >= 2, "{n} chunks");
    }
}
