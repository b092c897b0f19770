//! User-turn detection (`pipeline.md` §6, `turn_detection: "silence"`) and the turn recorder
//! for parrot (§4.2) and batch STT: pure, synchronous, per-session state machines.
//!
//! - [`TurnDetector`] reads the VAD's windows ([`VadWindow`]): a turn starts when the VAD
//!   enters `Speaking` and ends when no speech window has been seen for `turn_stop_secs` since
//!   the end of the last one, or when it has lasted `turn_max_duration_secs`.
//! - [`TurnRecorder`] keeps a 300 ms pre-roll ring and records a turn from 300 ms before speech
//!   start to 200 ms after the last speech, up to a cap; memory is bounded by the cap.
//! - [`InterruptionGate`] applies `allow_interruptions` and `interruption_strategy` (§7) to
//!   user turn starts and transcripts.
//! - [`TurnTracker`] chains [`Vad`] → [`TurnDetector`] → optional [`TurnRecorder`] on PCM s16le
//!   mono 16 kHz: what a pipeline processor wraps.
//!
//! "Speech window" is meant as in `pipeline.md` §5: a window whose confidence and volume pass
//! (`VadWindow::speech`), whatever the VAD state. So a turn ends exactly when two speech windows
//! inside it are `turn_stop_secs` or more apart; syllables too short to bring the VAD back to
//! `Speaking` on their own (energy VAD on "stop talking": 140 ms runs between plosives) still
//! keep the turn open. A turn's `speech_start` is the VAD's bridged onset
//! ([`VadEvent::SpeechStarted`]).
//!
//! Positions are sample indices at 16 kHz from the stream start, as in [`crate::audio::vad`];
//! [`samples_to_duration`] converts them.

use bytes::Bytes;

use crate::audio::vad::{
    Vad, VadError, VadEvent, VadParams, VadState, VadWindow, samples_to_duration, secs_to_samples,
};
use crate::config::schema::{Config, InterruptionStrategy};

/// Errors building a turn detector, recorder or tracker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TurnError {
    /// A VAD parameter is out of range.
    #[error(transparent)]
    Vad(#[from] VadError),
    /// A turn or recorder parameter is out of range (`key` names the config key when there
    /// is one).
    #[error("{key}: {reason}")]
    Param {
        /// The key or parameter.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn param(key: &'static str, reason: impl Into<String>) -> TurnError {
    TurnError::Param {
        key,
        reason: reason.into(),
    }
}

/// Turn tuning (`pipeline.md` §6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnParams {
    /// `turn_stop_secs` (0.1–5, default 0.6): silence after the last speech window that ends
    /// the turn.
    pub stop_secs: f32,
    /// `turn_max_duration_secs` (≥ 1, default 30): longest turn, measured from speech start.
    pub max_duration_secs: f32,
}

impl Default for TurnParams {
    fn default() -> Self {
        Self {
            stop_secs: 0.6,
            max_duration_secs: 30.0,
        }
    }
}

impl TurnParams {
    /// The `turn_*` keys of a loaded (already validated) configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            stop_secs: config.turn_stop_secs as f32,
            max_duration_secs: config.turn_max_duration_secs as f32,
        }
    }

    /// Check the ranges of `config.md` §5 (no clamping).
    ///
    /// # Errors
    /// [`TurnError::Param`] naming the key.
    pub fn validate(&self) -> Result<(), TurnError> {
        if !(0.1..=5.0).contains(&self.stop_secs) {
            return Err(param("turn_stop_secs", "expected a number from 0.1 to 5"));
        }
        if !(self.max_duration_secs >= 1.0 && self.max_duration_secs.is_finite()) {
            return Err(param("turn_max_duration_secs", "expected a number >= 1"));
        }
        Ok(())
    }
}

/// Why a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEndReason {
    /// `turn_stop_secs` without speech.
    Silence,
    /// `turn_max_duration_secs` reached.
    MaxDuration,
    /// The recorder's cap was reached (parrot: 10 s).
    RecordingFull,
    /// The caller ended it ([`TurnDetector::force_end`], e.g. end of stream).
    Forced,
}

/// A recorded turn: PCM s16le mono 16 kHz from `start` (pre-roll included) to
/// `speech_end` + post-roll (or less when the turn ended sooner or hit the cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedTurn {
    /// PCM s16le mono 16 kHz.
    pub pcm: Bytes,
    /// Stream position (samples) of the first recorded sample.
    pub start: u64,
}

impl RecordedTurn {
    /// Recorded samples.
    pub fn samples(&self) -> u64 {
        self.pcm.len() as u64 / 2
    }
    /// Stream position just past the last recorded sample.
    pub fn end(&self) -> u64 {
        self.start + self.samples()
    }
}

/// A user-turn edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// The VAD entered `Speaking` (→ `UserStartedSpeaking`). `speech_start`: position of the
    /// first sample of the speech run that reached `Speaking`.
    Started {
        /// Speech onset, samples from stream start.
        speech_start: u64,
    },
    /// The turn ended (→ `UserStoppedSpeaking`).
    Stopped {
        /// Speech onset of this turn, samples.
        speech_start: u64,
        /// End (exclusive) of the last speech window of the turn, samples.
        speech_end: u64,
        /// Position at which the end was decided (end of the window that decided it), samples;
        /// `at - speech_end` ≥ `turn_stop_secs` for [`TurnEndReason::Silence`].
        at: u64,
        /// Why it ended.
        reason: TurnEndReason,
        /// The recorded audio, when a [`TurnTracker`] has a recorder; `None` from a bare
        /// [`TurnDetector`].
        recording: Option<RecordedTurn>,
    },
}

#[derive(Debug, Clone, Copy)]
struct OpenTurn {
    speech_start: u64,
    last_speech_end: u64,
}

/// The silence turn detector (see the module docs). Feed it every window of one [`Vad`], in
/// order.
#[derive(Debug, Clone)]
pub struct TurnDetector {
    stop_samples: u64,
    max_samples: u64,
    turn: Option<OpenTurn>,
    /// After a forced end while the user still speaks, the next confirmed speech window
    /// starts a new turn without waiting for the VAD to pass through `Quiet`.
    resume: bool,
}

impl TurnDetector {
    /// A detector with no turn open.
    ///
    /// # Errors
    /// [`TurnError::Param`] when a parameter is out of range.
    pub fn new(params: TurnParams) -> Result<Self, TurnError> {
        params.validate()?;
        Ok(Self {
            stop_samples: secs_to_samples(params.stop_secs),
            max_samples: secs_to_samples(params.max_duration_secs),
            turn: None,
            resume: false,
        })
    }

    /// Whether a turn is open.
    pub fn in_turn(&self) -> bool {
        self.turn.is_some()
    }

    /// Speech onset of the open turn, samples.
    pub fn speech_start(&self) -> Option<u64> {
        self.turn.map(|t| t.speech_start)
    }

    /// Feed the next window of the VAD; returns the turn edge it causes, if any (a window
    /// causes at most one).
    pub fn on_window(&mut self, w: &VadWindow<'_>) -> Option<TurnEvent> {
        let confirmed = w.speech && w.state == VadState::Speaking;
        let Some(turn) = self.turn.as_mut() else {
            let onset = match w.event {
                Some(VadEvent::SpeechStarted { onset, .. }) => Some(onset),
                _ if self.resume && confirmed => Some(w.start),
                _ => None,
            };
            if matches!(w.state, VadState::Quiet | VadState::Starting) {
                self.resume = false;
            }
            let speech_start = onset?;
            self.resume = false;
            self.turn = Some(OpenTurn {
                speech_start,
                last_speech_end: w.end,
            });
            return Some(TurnEvent::Started { speech_start });
        };
        if w.speech {
            turn.last_speech_end = w.end;
        }
        if w.end - turn.last_speech_end >= self.stop_samples {
            return self.end(w.end, TurnEndReason::Silence);
        }
        if w.end - turn.speech_start >= self.max_samples {
            self.resume = w.state != VadState::Quiet;
            return self.end(w.end, TurnEndReason::MaxDuration);
        }
        None
    }

    /// End the open turn now (`at`: current stream position), e.g. at end of stream; `None`
    /// when no turn is open. After a forced end a user still speaking starts a new turn at
    /// the next speech window.
    pub fn force_end(&mut self, at: u64, reason: TurnEndReason) -> Option<TurnEvent> {
        if self.turn.is_some() {
            self.resume = true;
        }
        self.end(at, reason)
    }

    fn end(&mut self, at: u64, reason: TurnEndReason) -> Option<TurnEvent> {
        let t = self.turn.take()?;
        Some(TurnEvent::Stopped {
            speech_start: t.speech_start,
            speech_end: t.last_speech_end,
            at,
            reason,
            recording: None,
        })
    }
}

/// What the recorder keeps (`pipeline.md` §4.2 and §6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecorderParams {
    /// Audio kept before speech start, seconds (0.3).
    pub pre_roll_secs: f32,
    /// Audio kept after the last speech window, seconds (0.2).
    pub post_roll_secs: f32,
    /// Longest recording, pre-roll included, seconds; reaching it force-ends the turn.
    pub max_secs: f32,
}

impl RecorderParams {
    /// parrot: 300 ms pre-roll, 200 ms after the last speech, capped at 10 s.
    pub fn parrot() -> Self {
        Self {
            pre_roll_secs: 0.3,
            post_roll_secs: 0.2,
            max_secs: 10.0,
        }
    }

    /// Batch STT upload: 300 ms pre-roll, trailing silence trimmed to 200 ms, capped at the
    /// pre-roll plus `turn_max_duration_secs` (so the turn's own cap ends it first).
    pub fn batch_stt(turn: &TurnParams) -> Self {
        Self {
            pre_roll_secs: 0.3,
            post_roll_secs: 0.2,
            max_secs: 0.3 + turn.max_duration_secs + 0.1,
        }
    }
}

/// Records user turns from the pre-roll to the post-roll (see the module docs). Fed every
/// sample of the stream in order through [`TurnRecorder::push`]; memory is a fixed ring of
/// pre-roll + lookback plus the recording, which never exceeds `max_secs`.
#[derive(Debug)]
pub struct TurnRecorder {
    pre: u64,
    post: u64,
    cap: usize,
    ring: Box<[i16]>,
    /// Next write index in `ring`.
    head: usize,
    /// Stream position just past the last sample pushed.
    pos: u64,
    rec: Vec<u8>,
    rec_start: u64,
    recording: bool,
}

impl TurnRecorder {
    /// A recorder whose ring reaches `lookback_samples` beyond the pre-roll: how far the turn
    /// start is behind the newest sample when [`TurnRecorder::start`] is called (a
    /// [`TurnTracker`] passes `vad_start_secs + vad_stop_secs` plus two windows).
    ///
    /// # Errors
    /// [`TurnError::Param`] for negative or non-finite durations or a cap not above the
    /// pre-roll.
    pub fn new(params: RecorderParams, lookback_samples: usize) -> Result<Self, TurnError> {
        let ok = |x: f32| x.is_finite() && x >= 0.0;
        if !ok(params.pre_roll_secs) || !ok(params.post_roll_secs) {
            return Err(param("pre_roll/post_roll", "expected seconds >= 0"));
        }
        if !ok(params.max_secs) || params.max_secs <= params.pre_roll_secs {
            return Err(param("max_secs", "expected seconds above the pre-roll"));
        }
        let pre = secs_to_samples(params.pre_roll_secs);
        Ok(Self {
            pre,
            post: secs_to_samples(params.post_roll_secs),
            cap: secs_to_samples(params.max_secs) as usize,
            ring: vec![0; pre as usize + lookback_samples].into_boxed_slice(),
            head: 0,
            pos: 0,
            rec: Vec::new(),
            rec_start: 0,
            recording: false,
        })
    }

    /// Whether a recording is in progress.
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// Whether the recording in progress reached the cap (the caller should end the turn).
    pub fn is_full(&self) -> bool {
        self.recording && self.rec.len() / 2 >= self.cap
    }

    /// Bytes currently held (ring + recording buffer capacity).
    pub fn memory_bytes(&self) -> usize {
        self.ring.len() * 2 + self.rec.capacity()
    }

    /// Append the next samples of the stream (PCM s16 mono 16 kHz, in order, no gaps).
    pub fn push(&mut self, samples: &[i16]) {
        let n = self.ring.len();
        if n > 0 {
            let tail = if samples.len() > n {
                &samples[samples.len() - n..]
            } else {
                samples
            };
            for &s in tail {
                self.ring[self.head] = s;
                self.head = (self.head + 1) % n;
            }
        }
        if self.recording {
            let room = self.cap.saturating_sub(self.rec.len() / 2);
            for &s in &samples[..samples.len().min(room)] {
                self.rec.extend_from_slice(&s.to_le_bytes());
            }
        }
        self.pos += samples.len() as u64;
    }

    /// Start recording a turn whose speech starts at `speech_start` (samples): the recording
    /// begins `pre_roll` before it (or as far back as the ring reaches, never before the
    /// stream start) and includes everything pushed since.
    pub fn start(&mut self, speech_start: u64) {
        let n = self.ring.len() as u64;
        let oldest = self.pos.saturating_sub(n);
        let from = speech_start
            .saturating_sub(self.pre)
            .max(oldest)
            .min(self.pos);
        self.rec = Vec::with_capacity(((self.pos - from) as usize + 16_000) * 2);
        let count = ((self.pos - from) as usize).min(self.cap);
        let ring_len = self.ring.len();
        let first = (self.head + ring_len - ((self.pos - from) as usize % ring_len.max(1)))
            % ring_len.max(1);
        for i in 0..count {
            let s = self.ring[(first + i) % ring_len];
            self.rec.extend_from_slice(&s.to_le_bytes());
        }
        self.rec_start = from;
        self.recording = true;
    }

    /// Finish the recording: trimmed to `speech_end + post_roll` (samples) when more was
    /// recorded. `None` when nothing is being recorded. The buffer is handed over, so memory
    /// goes back to the ring alone.
    pub fn finish(&mut self, speech_end: u64) -> Option<RecordedTurn> {
        if !self.recording {
            return None;
        }
        self.recording = false;
        let keep = speech_end
            .saturating_add(self.post)
            .saturating_sub(self.rec_start);
        let keep_bytes = (keep as usize).saturating_mul(2).min(self.rec.len());
        let mut rec = std::mem::take(&mut self.rec);
        rec.truncate(keep_bytes);
        Some(RecordedTurn {
            pcm: Bytes::from(rec),
            start: self.rec_start,
        })
    }
}

/// VAD → turn detector → optional recorder on one stream of PCM s16le mono 16 kHz: the
/// per-session object a user-turn processor owns.
#[derive(Debug)]
pub struct TurnTracker {
    vad: Vad,
    detector: TurnDetector,
    recorder: Option<TurnRecorder>,
}

impl TurnTracker {
    /// A tracker at stream position 0. `recorder`: `Some(RecorderParams::parrot())` for
    /// parrot, `Some(RecorderParams::batch_stt(..))` for a batch STT, `None` otherwise.
    ///
    /// # Errors
    /// [`TurnError`] when a parameter is out of range or `turn_stop_secs` < `vad_stop_secs`
    /// (`pipeline.md` §6).
    pub fn new(
        vad: VadParams,
        turn: TurnParams,
        recorder: Option<RecorderParams>,
    ) -> Result<Self, TurnError> {
        if turn.stop_secs < vad.stop_secs {
            return Err(param(
                "turn_stop_secs",
                format!("must be >= vad_stop_secs ({})", vad.stop_secs),
            ));
        }
        let v = Vad::new(vad)?;
        // The onset can lie `vad_start_secs + vad_stop_secs` before the run that reached
        // Speaking, which itself ends at most one window before the newest sample.
        let lookback = (secs_to_samples(vad.start_secs) + secs_to_samples(vad.stop_secs)) as usize
            + 2 * v.window_len();
        Ok(Self {
            detector: TurnDetector::new(turn)?,
            recorder: recorder
                .map(|r| TurnRecorder::new(r, lookback))
                .transpose()?,
            vad: v,
        })
    }

    /// A tracker from the loaded configuration's `vad_*` and `turn_*` keys.
    ///
    /// # Errors
    /// As [`TurnTracker::new`].
    pub fn from_config(
        config: &Config,
        recorder: Option<RecorderParams>,
    ) -> Result<Self, TurnError> {
        Self::new(
            VadParams::from_config(config),
            TurnParams::from_config(config),
            recorder,
        )
    }

    /// Feed PCM s16le mono 16 kHz bytes (any length); turn edges caused by it are appended to
    /// `events` (the caller clears and reuses the `Vec`), in stream order.
    pub fn push_pcm(&mut self, pcm: &[u8], events: &mut Vec<TurnEvent>) {
        let Self {
            vad,
            detector,
            recorder,
        } = self;
        vad.push_pcm(pcm, |w| Self::on_window(detector, recorder, w, events));
    }

    /// Feed PCM s16 mono 16 kHz samples; as [`TurnTracker::push_pcm`].
    pub fn push_samples(&mut self, samples: &[i16], events: &mut Vec<TurnEvent>) {
        let Self {
            vad,
            detector,
            recorder,
        } = self;
        vad.push_samples(samples, |w| Self::on_window(detector, recorder, w, events));
    }

    fn on_window(
        detector: &mut TurnDetector,
        recorder: &mut Option<TurnRecorder>,
        w: &VadWindow<'_>,
        events: &mut Vec<TurnEvent>,
    ) {
        if let Some(r) = recorder.as_mut() {
            r.push(w.samples);
        }
        let mut event = detector.on_window(w);
        if event.is_none()
            && recorder.as_ref().is_some_and(TurnRecorder::is_full)
            && detector.in_turn()
        {
            event = detector.force_end(w.end, TurnEndReason::RecordingFull);
        }
        let Some(mut event) = event else { return };
        if let Some(r) = recorder.as_mut() {
            match &mut event {
                TurnEvent::Started { speech_start } => r.start(*speech_start),
                TurnEvent::Stopped {
                    speech_end,
                    recording,
                    ..
                } => *recording = r.finish(*speech_end),
            }
        }
        events.push(event);
    }

    /// End the open turn at the current position (e.g. the stream ended); the recording, if
    /// any, is returned in the event.
    pub fn force_end(&mut self) -> Option<TurnEvent> {
        let at = self.vad.position();
        let mut event = self.detector.force_end(at, TurnEndReason::Forced)?;
        if let (
            Some(r),
            TurnEvent::Stopped {
                speech_end,
                recording,
                ..
            },
        ) = (self.recorder.as_mut(), &mut event)
        {
            *recording = r.finish(*speech_end);
        }
        Some(event)
    }

    /// Whether a user turn is open.
    pub fn in_turn(&self) -> bool {
        self.detector.in_turn()
    }

    /// The VAD's current state.
    pub fn vad_state(&self) -> VadState {
        self.vad.state()
    }

    /// Samples received so far.
    pub fn position(&self) -> u64 {
        self.vad.position()
    }

    /// [`samples_to_duration`] of a position, for timestamps.
    pub fn time_of(samples: u64) -> std::time::Duration {
        samples_to_duration(samples)
    }

    /// Bytes of per-session state (VAD, detector, recorder ring and buffer).
    pub fn state_bytes(&self) -> usize {
        self.vad.state_bytes()
            + std::mem::size_of::<TurnDetector>()
            + self.recorder.as_ref().map_or(0, TurnRecorder::memory_bytes)
    }
}

/// Barge-in settings (`pipeline.md` §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterruptionParams {
    /// `allow_interruptions` (default true): false = the bot is never cut.
    pub allow: bool,
    /// `interruption_strategy`.
    pub strategy: InterruptionStrategy,
    /// `min_words` (≥ 1, default 3), for [`InterruptionStrategy::MinWords`].
    pub min_words: u32,
}

impl Default for InterruptionParams {
    fn default() -> Self {
        Self {
            allow: true,
            strategy: InterruptionStrategy::None,
            min_words: 3,
        }
    }
}

impl InterruptionParams {
    /// `allow_interruptions`, `interruption_strategy` and `min_words` of a loaded config.
    /// parrot has no transcripts, so it always interrupts on VAD speech start (§4.2): use
    /// `InterruptionParams { strategy: InterruptionStrategy::None, ..from_config(c) }` there.
    pub fn from_config(config: &Config) -> Self {
        Self {
            allow: config.allow_interruptions,
            strategy: config.interruption_strategy,
            min_words: u32::try_from(config.min_words).unwrap_or(u32::MAX).max(1),
        }
    }
}

/// Decides when user speech interrupts the bot (`pipeline.md` §7): at most once per user
/// turn. `bot_active` means the bot is speaking or has an LLM/TTS response in flight. Pure: the
/// caller fires the `Interruption` frame when a method returns `true`.
#[derive(Debug, Clone)]
pub struct InterruptionGate {
    params: InterruptionParams,
    /// Words of the final transcripts of the current user turn.
    final_words: u32,
    fired: bool,
}

impl InterruptionGate {
    /// A gate with no user turn yet.
    pub fn new(params: InterruptionParams) -> Self {
        Self {
            params,
            final_words: 0,
            fired: false,
        }
    }

    /// The settings.
    pub fn params(&self) -> InterruptionParams {
        self.params
    }

    /// A user turn started ([`TurnEvent::Started`]). Returns whether to interrupt now (strategy
    /// `none`: whenever the bot is active and interruptions are allowed).
    pub fn on_user_turn_started(&mut self, bot_active: bool) -> bool {
        self.final_words = 0;
        self.fired = false;
        self.fire_if(self.params.strategy == InterruptionStrategy::None && bot_active)
    }

    /// A transcript for the current user turn (a streaming interim with `is_final` false, or a
    /// final; a batch STT's transcript arrives as one final after the turn ended). Returns
    /// whether to interrupt now (strategy `min_words`: the turn's final words plus this
    /// interim's words reach `min_words` while the bot is active).
    pub fn on_transcript(&mut self, text: &str, is_final: bool, bot_active: bool) -> bool {
        let words = u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX);
        let total = self.final_words.saturating_add(words);
        if is_final {
            self.final_words = total;
        }
        self.fire_if(
            self.params.strategy == InterruptionStrategy::MinWords
                && bot_active
                && total >= self.params.min_words,
        )
    }

    fn fire_if(&mut self, cond: bool) -> bool {
        if cond && self.params.allow && !self.fired {
            self.fired = true;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::vad::VadStateMachine;

    const W: u64 = 320;

    /// Drive a detector from a pattern of 20 ms windows (`s` speech, `.` silence) through a
    /// real VAD state machine; returns `(window index, event)`.
    fn drive(vad: VadParams, turn: TurnParams, pattern: &str) -> Vec<(u64, TurnEvent)> {
        let mut m = VadStateMachine::new(&vad);
        let mut d = TurnDetector::new(turn).unwrap();
        let samples = [0i16; W as usize];
        let mut out = Vec::new();
        for (i, c) in pattern.chars().enumerate() {
            let start = i as u64 * W;
            let conf = if c == 's' { 1.0 } else { 0.0 };
            let v = m.on_window(start, start + W, conf, 0.1);
            let w = VadWindow {
                samples: &samples,
                start,
                end: start + W,
                confidence: conf,
                volume: v.volume,
                speech: v.speech,
                state: v.state,
                event: v.event,
            };
            if let Some(e) = d.on_window(&w) {
                out.push((i as u64, e));
            }
        }
        out
    }

    fn vad(start: f32, stop: f32) -> VadParams {
        VadParams {
            start_secs: start,
            stop_secs: stop,
            ..VadParams::default()
        }
    }

    fn stopped(speech_start: u64, speech_end: u64, at: u64, reason: TurnEndReason) -> TurnEvent {
        TurnEvent::Stopped {
            speech_start,
            speech_end,
            at,
            reason,
            recording: None,
        }
    }

    #[test]
    fn pause_shorter_than_stop_keeps_one_turn() {
        // start 0.06 s = 3 windows, stop_secs 0.2 = 10 windows; a 9-window pause does not end.
        let turn = TurnParams {
            stop_secs: 0.2,
            max_duration_secs: 30.0,
        };
        let ev = drive(vad(0.06, 0.1), turn, "..sssss.........sss..........");
        assert_eq!(
            ev,
            vec![
                (
                    4,
                    TurnEvent::Started {
                        speech_start: 2 * W
                    }
                ),
                (28, stopped(2 * W, 19 * W, 29 * W, TurnEndReason::Silence)),
            ]
        );
        // A 10-window pause ends it exactly 0.2 s after the last speech window.
        let ev = drive(vad(0.06, 0.1), turn, "..sssss..........sss..........");
        assert_eq!(
            ev,
            vec![
                (
                    4,
                    TurnEvent::Started {
                        speech_start: 2 * W
                    }
                ),
                (16, stopped(2 * W, 7 * W, 17 * W, TurnEndReason::Silence)),
                (
                    19,
                    TurnEvent::Started {
                        speech_start: 17 * W
                    }
                ),
                (29, stopped(17 * W, 20 * W, 30 * W, TurnEndReason::Silence)),
            ]
        );
    }

    #[test]
    fn any_speech_window_prolongs_the_turn() {
        let turn = TurnParams {
            stop_secs: 0.2,
            max_duration_secs: 30.0,
        };
        // A 2-window blip in the pause (the VAD never gets back to Speaking) resets the timer.
        let ev = drive(vad(0.06, 0.1), turn, "sss.....ss..........");
        assert_eq!(
            ev,
            vec![
                (2, TurnEvent::Started { speech_start: 0 }),
                (19, stopped(0, 10 * W, 20 * W, TurnEndReason::Silence)),
            ]
        );
        // A run that begins before the timeout and reaches Speaking after it keeps the turn.
        let ev = drive(vad(0.06, 0.1), turn, "sss.........sss..........");
        assert_eq!(
            ev,
            vec![
                (2, TurnEvent::Started { speech_start: 0 }),
                (24, stopped(0, 15 * W, 25 * W, TurnEndReason::Silence)),
            ]
        );
        // Speech after the timeout starts a new turn.
        let ev = drive(vad(0.06, 0.1), turn, "sss..........sss..........");
        assert_eq!(
            ev,
            vec![
                (2, TurnEvent::Started { speech_start: 0 }),
                (12, stopped(0, 3 * W, 13 * W, TurnEndReason::Silence)),
                (
                    15,
                    TurnEvent::Started {
                        speech_start: 13 * W
                    }
                ),
                (25, stopped(13 * W, 16 * W, 26 * W, TurnEndReason::Silence)),
            ]
        );
    }

    #[test]
    fn max_duration_force_ends_and_speech_resumes_a_turn() {
        let turn = TurnParams {
            stop_secs: 0.2,
            max_duration_secs: 1.0, // 50 windows
        };
        let pattern = format!("{}{}", "s".repeat(60), ".".repeat(12));
        let ev = drive(vad(0.06, 0.1), turn, &pattern);
        assert_eq!(
            ev,
            vec![
                (2, TurnEvent::Started { speech_start: 0 }),
                (49, stopped(0, 50 * W, 50 * W, TurnEndReason::MaxDuration)),
                (
                    50,
                    TurnEvent::Started {
                        speech_start: 50 * W
                    }
                ),
                (69, stopped(50 * W, 60 * W, 70 * W, TurnEndReason::Silence)),
            ]
        );
    }

    #[test]
    fn params_are_checked() {
        assert!(
            TurnDetector::new(TurnParams {
                stop_secs: 0.05,
                max_duration_secs: 30.0
            })
            .is_err()
        );
        assert!(
            TurnDetector::new(TurnParams {
                stop_secs: 0.6,
                max_duration_secs: 0.5
            })
            .is_err()
        );
        let err = TurnTracker::new(vad(0.2, 0.8), TurnParams::default(), None).unwrap_err();
        assert!(
            matches!(
                err,
                TurnError::Param {
                    key: "turn_stop_secs",
                    ..
                }
            ),
            "{err}"
        );
        let c = Config {
            turn_stop_secs: 1.0,
            turn_max_duration_secs: 12.0,
            ..Config::default()
        };
        assert_eq!(
            TurnParams::from_config(&c),
            TurnParams {
                stop_secs: 1.0,
                max_duration_secs: 12.0
            }
        );
    }

    /// A ramp signal makes every sample's stream position readable from its value.
    fn ramp(from: u64, n: usize) -> Vec<i16> {
        (0..n as u64)
            .map(|i| ((from + i) % 30_000) as i16)
            .collect()
    }

    #[test]
    fn recorder_keeps_pre_roll_and_trims_post_roll() {
        let mut r = TurnRecorder::new(RecorderParams::parrot(), 4000).unwrap();
        r.push(&ramp(0, 10_000));
        r.start(8000); // pre-roll from 3200
        r.push(&ramp(10_000, 10_000));
        let rec = r.finish(12_000).unwrap(); // to 12_000 + 3200
        assert_eq!(rec.start, 3200);
        assert_eq!(rec.end(), 15_200);
        let samples = crate::audio::pcm::from_bytes(&rec.pcm);
        assert_eq!(samples, ramp(3200, 12_000));
        assert!(r.finish(0).is_none());
        // Turn at the very start of the stream: pre-roll clipped at 0.
        let mut r = TurnRecorder::new(RecorderParams::parrot(), 4000).unwrap();
        r.push(&ramp(0, 1000));
        r.start(500);
        let rec = r.finish(10_000).unwrap(); // less recorded than speech_end + post
        assert_eq!((rec.start, rec.end()), (0, 1000));
    }

    #[test]
    fn recorder_is_capped() {
        let mut r = TurnRecorder::new(
            RecorderParams {
                pre_roll_secs: 0.3,
                post_roll_secs: 0.2,
                max_secs: 1.0,
            },
            4000,
        )
        .unwrap();
        r.push(&ramp(0, 8000));
        r.start(8000);
        assert!(!r.is_full());
        r.push(&ramp(8000, 11_200));
        assert!(r.is_full());
        r.push(&ramp(19_200, 30_000));
        let rec = r.finish(100_000).unwrap();
        assert_eq!((rec.start, rec.samples()), (3200, 16_000));
        assert_eq!(crate::audio::pcm::from_bytes(&rec.pcm), ramp(3200, 16_000));
    }

    /// Tone bursts (speech for the energy VAD) in silence through the whole tracker.
    fn bursts(spans: &[(u64, u64)], total: u64) -> Vec<i16> {
        (0..total)
            .map(|i| {
                if spans.iter().any(|&(a, b)| i >= a && i < b) {
                    (8000.0 * (2.0 * std::f32::consts::PI * 200.0 * i as f32 / 16_000.0).sin())
                        as i16
                } else {
                    0
                }
            })
            .collect()
    }

    #[test]
    fn tracker_records_the_turn_for_parrot() {
        let audio = bursts(&[(16_000, 32_000)], 64_000);
        let bytes: Vec<u8> = audio.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut t = TurnTracker::new(
            VadParams::default(),
            TurnParams::default(),
            Some(RecorderParams::parrot()),
        )
        .unwrap();
        let mut events = Vec::new();
        for c in bytes.chunks(1234) {
            t.push_pcm(c, &mut events);
        }
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            events[0],
            TurnEvent::Started {
                speech_start: 16_000
            }
        );
        let TurnEvent::Stopped {
            speech_start,
            speech_end,
            at,
            reason,
            recording: Some(rec),
        } = &events[1]
        else {
            panic!("{:?}", events[1]);
        };
        assert_eq!(
            (*speech_start, *speech_end, *at, *reason),
            (16_000, 32_000, 32_000 + 9600, TurnEndReason::Silence)
        );
        assert_eq!((rec.start, rec.end()), (16_000 - 4800, 32_000 + 3200));
        assert_eq!(
            crate::audio::pcm::from_bytes(&rec.pcm),
            audio[11_200..35_200]
        );
        assert!(!t.in_turn());
        assert!(t.state_bytes() < 64 * 1024);
    }

    #[test]
    fn tracker_force_ends_at_the_parrot_cap() {
        // 12 s of continuous "speech": the recording is capped at 10 s (pre-roll included).
        let audio = bursts(&[(8000, 8000 + 12 * 16_000)], 8000 + 14 * 16_000);
        let mut t = TurnTracker::new(
            VadParams::default(),
            TurnParams::default(),
            Some(RecorderParams::parrot()),
        )
        .unwrap();
        let mut events = Vec::new();
        t.push_samples(&audio, &mut events);
        let stops: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                TurnEvent::Stopped {
                    reason, recording, ..
                } => Some((*reason, recording.as_ref().map(RecordedTurn::samples))),
                _ => None,
            })
            .collect();
        assert_eq!(stops[0], (TurnEndReason::RecordingFull, Some(160_000)));
        assert_eq!(events[0], TurnEvent::Started { speech_start: 8000 });
        // The user kept speaking: a new turn follows at once and ends on silence.
        assert!(matches!(events[2], TurnEvent::Started { .. }));
        assert_eq!(stops[1].0, TurnEndReason::Silence);
        assert_eq!(events.len(), 4);
    }

    #[test]
    fn interruption_gate_none_fires_once_per_turn_while_the_bot_is_active() {
        let mut g = InterruptionGate::new(InterruptionParams::default());
        assert!(!g.on_user_turn_started(false));
        assert!(g.on_user_turn_started(true));
        assert!(!g.on_transcript("stop stop stop stop", true, true));
        assert!(g.on_user_turn_started(true));
        let mut g = InterruptionGate::new(InterruptionParams {
            allow: false,
            ..InterruptionParams::default()
        });
        assert!(!g.on_user_turn_started(true));
    }

    #[test]
    fn interruption_gate_min_words_counts_finals_and_the_latest_interim() {
        let mut g = InterruptionGate::new(InterruptionParams {
            strategy: InterruptionStrategy::MinWords,
            ..InterruptionParams::default()
        });
        assert!(!g.on_user_turn_started(true));
        assert!(!g.on_transcript("hold", false, true));
        assert!(!g.on_transcript("hold on", false, true));
        assert!(!g.on_transcript("hold on", true, true));
        assert!(g.on_transcript("please", false, true));
        assert!(!g.on_transcript("please wait", false, true));
        // Bot silent: nothing to interrupt.
        assert!(!g.on_user_turn_started(false));
        assert!(!g.on_transcript("one two three four", true, false));
        // Batch STT: the final transcript after the turn ended still counts.
        assert!(!g.on_user_turn_started(true));
        assert!(g.on_transcript("no that is wrong", true, true));
        let c = Config {
            interruption_strategy: InterruptionStrategy::MinWords,
            min_words: 5,
            allow_interruptions: false,
            ..Config::default()
        };
        assert_eq!(
            InterruptionParams::from_config(&c),
            InterruptionParams {
                allow: false,
                strategy: InterruptionStrategy::MinWords,
                min_words: 5
            }
        );
    }
}
