//! Voice activity detection (`pipeline.md` §5): per-session, synchronous, no I/O.
//!
//! A [`Vad`] takes PCM s16le mono 16 kHz in chunks of any size, cuts it into analysis windows
//! (energy: 320 samples = 20 ms, [`energy`]; earshot: 256 samples = 16 ms, [`earshot`]), asks the
//! analyzer for a confidence in [0, 1], tracks the smoothed volume and runs the
//! Quiet/Starting/Speaking/Stopping state machine ([`VadStateMachine`]). For every complete
//! window it calls the caller's closure with a [`VadWindow`] carrying the window's samples, its
//! stream position, its verdict and the state-machine event it caused, if any.
//!
//! Positions are **sample indices from the start of the stream** at 16 kHz (`u64`; the first
//! sample pushed is 0); [`samples_to_duration`] turns them into time. Samples that do not yet
//! fill a window wait in a fixed buffer inside the `Vad`: nothing is allocated per call.

pub mod earshot;
pub mod energy;

use std::time::Duration;

use crate::config::schema::{Config, VadType};

use self::earshot::EarshotAnalyzer;
use self::energy::EnergyAnalyzer;

/// The only input rate the VAD accepts, Hz (resample before it).
pub const SAMPLE_RATE: u32 = 16_000;

/// A stream position (samples at 16 kHz) as time since the stream start.
pub fn samples_to_duration(samples: u64) -> Duration {
    Duration::from_nanos(samples.saturating_mul(1_000_000_000) / u64::from(SAMPLE_RATE))
}

/// Seconds → samples at 16 kHz, rounded to the nearest sample (negative or NaN → 0).
pub fn secs_to_samples(secs: f32) -> u64 {
    let s = f64::from(secs) * f64::from(SAMPLE_RATE);
    if s.is_finite() && s > 0.0 {
        s.round() as u64
    } else {
        0
    }
}

/// A VAD parameter outside its range (`config.md` §5 ranges; the config loader rejects these
/// earlier, this guards direct construction).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct VadError {
    /// The config key the parameter comes from (`vad_confidence`, ...).
    pub key: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// VAD tuning (`pipeline.md` §5 table; defaults from [`VadParams::default`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadParams {
    /// `vad_type`: which analyzer.
    pub vad_type: VadType,
    /// `vad_confidence` in [0, 1]: a window is speech when its confidence is at least this.
    pub confidence: f32,
    /// `vad_start_secs` ≥ 0: speech needed, without a break, before `Speaking`.
    pub start_secs: f32,
    /// `vad_stop_secs` ≥ 0: non-speech needed before `Stopping` becomes `Quiet`.
    pub stop_secs: f32,
    /// `vad_min_volume` in [0, 1]: smoothed volume a speech window needs (0 = no gate).
    pub min_volume: f32,
    /// `vad_threshold` in (0, 1]: linear RMS that gives the energy analyzer confidence 1.
    pub threshold: f32,
}

impl Default for VadParams {
    /// The spec defaults: energy, 0.7, 0.2 s, 0.2 s, 0.0, 0.02.
    fn default() -> Self {
        Self {
            vad_type: VadType::Energy,
            confidence: 0.7,
            start_secs: 0.2,
            stop_secs: 0.2,
            min_volume: 0.0,
            threshold: 0.02,
        }
    }
}

impl VadParams {
    /// The `vad_*` keys of a loaded (already validated) configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            vad_type: config.vad_type,
            confidence: config.vad_confidence as f32,
            start_secs: config.vad_start_secs as f32,
            stop_secs: config.vad_stop_secs as f32,
            min_volume: config.vad_min_volume as f32,
            threshold: config.vad_threshold as f32,
        }
    }

    /// Check the ranges of `config.md` §5 (no clamping).
    ///
    /// # Errors
    /// [`VadError`] naming the first key out of range.
    pub fn validate(&self) -> Result<(), VadError> {
        let bad = |key, reason: &str| {
            Err(VadError {
                key,
                reason: reason.to_string(),
            })
        };
        if !(0.0..=1.0).contains(&self.confidence) {
            return bad("vad_confidence", "expected a number from 0 to 1");
        }
        if !(0.0..=1.0).contains(&self.min_volume) {
            return bad("vad_min_volume", "expected a number from 0 to 1");
        }
        if !(self.start_secs >= 0.0 && self.start_secs.is_finite()) {
            return bad("vad_start_secs", "expected a number >= 0");
        }
        if !(self.stop_secs >= 0.0 && self.stop_secs.is_finite()) {
            return bad("vad_stop_secs", "expected a number >= 0");
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return bad("vad_threshold", "expected a number > 0 and <= 1");
        }
        Ok(())
    }

    /// Samples per analysis window of this analyzer (320 for energy, 256 for earshot).
    pub fn window_len(&self) -> usize {
        match self.vad_type {
            VadType::Energy => energy::WINDOW,
            VadType::Earshot => earshot::WINDOW,
        }
    }
}

/// The VAD state (`pipeline.md` §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadState {
    /// No speech.
    Quiet,
    /// Speech windows seen, fewer than `vad_start_secs` of them in a row.
    Starting,
    /// The user is speaking.
    Speaking,
    /// Non-speech after speech, less than `vad_stop_secs` of it so far.
    Stopping,
}

/// A state-machine edge worth reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// `Starting → Speaking`.
    SpeechStarted {
        /// Sample position (16 kHz) of the speech onset: the start of the earliest speech
        /// window joined to the run that reached `Speaking` by gaps shorter than
        /// `vad_stop_secs` (the gap `Stopping` bridges after speech), looking back at most
        /// `vad_start_secs + vad_stop_secs` before that run. So a short burst just before the
        /// run (the "Wh" of "What", the "H" of "Hold") belongs to the speech, as it would if it
        /// had followed it. Equal to `run_start` when nothing precedes the run.
        onset: u64,
        /// Sample position of the first window of the unbroken run of speech windows that
        /// reached `Speaking` (`vad_start_secs` long).
        run_start: u64,
    },
    /// `Stopping → Quiet`. `end`: position just past the last speech window.
    SpeechStopped {
        /// Sample position (16 kHz, exclusive) of the end of the last speech window.
        end: u64,
    },
}

/// The state machine's verdict on one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Whether the window counts as speech (confidence ≥ `vad_confidence` and volume ≥
    /// `vad_min_volume`).
    pub speech: bool,
    /// Smoothed volume in [0, 1] after this window.
    pub volume: f32,
    /// State after this window.
    pub state: VadState,
    /// The edge this window caused, if any.
    pub event: Option<VadEvent>,
}

/// One analysed window, handed to the closure of [`Vad::push_pcm`] / [`Vad::push_samples`].
#[derive(Debug, Clone, Copy)]
pub struct VadWindow<'a> {
    /// The window's PCM s16 samples (16 kHz mono).
    pub samples: &'a [i16],
    /// Sample position of the first sample.
    pub start: u64,
    /// Sample position just past the last sample (`start + samples.len()`).
    pub end: u64,
    /// Analyzer confidence in [0, 1].
    pub confidence: f32,
    /// Smoothed volume in [0, 1] after this window.
    pub volume: f32,
    /// Whether the window counts as speech.
    pub speech: bool,
    /// VAD state after this window.
    pub state: VadState,
    /// The edge this window caused, if any.
    pub event: Option<VadEvent>,
}

/// The volume tracker and Quiet/Starting/Speaking/Stopping machine of `pipeline.md` §5, fed one
/// window at a time (pure; the analyzer is separate so the machine can be tested exactly).
#[derive(Debug, Clone)]
pub struct VadStateMachine {
    confidence: f32,
    min_volume: f32,
    start_samples: u64,
    stop_samples: u64,
    state: VadState,
    volume: f32,
    run_start: u64,
    last_speech_end: u64,
    /// Onset of the speech segment the current run belongs to (see [`VadEvent::SpeechStarted`]).
    seg_start: u64,
    /// End of the last speech window in any state.
    last_any_speech_end: Option<u64>,
}

impl VadStateMachine {
    /// A machine in `Quiet` with volume 0.
    pub fn new(params: &VadParams) -> Self {
        Self {
            confidence: params.confidence,
            min_volume: params.min_volume,
            start_samples: secs_to_samples(params.start_secs),
            stop_samples: secs_to_samples(params.stop_secs),
            state: VadState::Quiet,
            volume: 0.0,
            run_start: 0,
            last_speech_end: 0,
            seg_start: 0,
            last_any_speech_end: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> VadState {
        self.state
    }

    /// Current smoothed volume in [0, 1].
    pub fn volume(&self) -> f32 {
        self.volume
    }

    /// Back to `Quiet` with volume 0.
    pub fn reset(&mut self) {
        self.state = VadState::Quiet;
        self.volume = 0.0;
        self.last_any_speech_end = None;
    }

    /// `rms_dbfs` mapped linearly from [−60, 0] dBFS to [0, 1] (clamped).
    pub fn volume_of(rms: f32) -> f32 {
        if rms <= 0.0 || rms.is_nan() {
            return 0.0;
        }
        let dbfs = 20.0 * rms.log10();
        ((dbfs + 60.0) / 60.0).clamp(0.0, 1.0)
    }

    /// Feed one window `[start, end)` (sample positions, in stream order, no gaps) with the
    /// analyzer's `confidence` and the window's linear RMS `rms` (samples scaled to [−1, 1]).
    pub fn on_window(&mut self, start: u64, end: u64, confidence: f32, rms: f32) -> Verdict {
        self.volume += 0.2 * (Self::volume_of(rms) - self.volume);
        let speech = confidence >= self.confidence && self.volume >= self.min_volume;
        let mut event = None;
        if speech {
            match self.state {
                VadState::Quiet => {
                    self.state = VadState::Starting;
                    self.run_start = start;
                    let bridged = self
                        .last_any_speech_end
                        .is_some_and(|e| start.saturating_sub(e) < self.stop_samples);
                    if !bridged {
                        self.seg_start = start;
                    }
                    let earliest = start.saturating_sub(self.start_samples + self.stop_samples);
                    self.seg_start = self.seg_start.max(earliest);
                }
                VadState::Starting => {}
                VadState::Speaking | VadState::Stopping => {
                    self.state = VadState::Speaking;
                    self.last_speech_end = end;
                }
            }
            self.last_any_speech_end = Some(end);
            if self.state == VadState::Starting && end - self.run_start >= self.start_samples {
                self.state = VadState::Speaking;
                self.last_speech_end = end;
                event = Some(VadEvent::SpeechStarted {
                    onset: self.seg_start,
                    run_start: self.run_start,
                });
            }
        } else {
            match self.state {
                VadState::Quiet => {}
                VadState::Starting => self.state = VadState::Quiet,
                VadState::Speaking | VadState::Stopping => {
                    self.state = VadState::Stopping;
                    if end - self.last_speech_end >= self.stop_samples {
                        self.state = VadState::Quiet;
                        event = Some(VadEvent::SpeechStopped {
                            end: self.last_speech_end,
                        });
                    }
                }
            }
        }
        Verdict {
            speech,
            volume: self.volume,
            state: self.state,
            event,
        }
    }
}

enum Analyzer {
    Energy(EnergyAnalyzer),
    Earshot(EarshotAnalyzer),
}

/// Largest analysis window of any analyzer, samples.
const MAX_WINDOW: usize = energy::WINDOW;

/// One session's VAD: framing, analyzer, volume and state machine (see the module docs).
pub struct Vad {
    analyzer: Analyzer,
    machine: VadStateMachine,
    window: usize,
    buf: [i16; MAX_WINDOW],
    fill: usize,
    odd_byte: Option<u8>,
    pos: u64,
}

impl std::fmt::Debug for Vad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vad")
            .field("window", &self.window)
            .field("state", &self.machine.state)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl Vad {
    /// A VAD in `Quiet` at stream position 0.
    ///
    /// # Errors
    /// [`VadError`] when a parameter is out of range.
    pub fn new(params: VadParams) -> Result<Self, VadError> {
        params.validate()?;
        let analyzer = match params.vad_type {
            VadType::Energy => Analyzer::Energy(EnergyAnalyzer::new(params.threshold)),
            VadType::Earshot => Analyzer::Earshot(EarshotAnalyzer::new()),
        };
        Ok(Self {
            analyzer,
            machine: VadStateMachine::new(&params),
            window: params.window_len(),
            buf: [0; MAX_WINDOW],
            fill: 0,
            odd_byte: None,
            pos: 0,
        })
    }

    /// Current state.
    pub fn state(&self) -> VadState {
        self.machine.state()
    }

    /// Samples per analysis window (320 energy, 256 earshot).
    pub fn window_len(&self) -> usize {
        self.window
    }

    /// Samples received so far (the position of the next sample to arrive).
    pub fn position(&self) -> u64 {
        self.pos + self.fill as u64
    }

    /// Bytes of per-session state: this struct plus what it owns on the heap.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self.analyzer {
                Analyzer::Energy(_) => 0,
                Analyzer::Earshot(_) => EarshotAnalyzer::state_bytes(),
            }
    }

    /// Start over at position 0 (a new stream): state, volume, buffered samples and the
    /// analyzer's memory are cleared.
    pub fn reset(&mut self) {
        self.machine.reset();
        if let Analyzer::Earshot(a) = &mut self.analyzer {
            a.reset();
        }
        self.fill = 0;
        self.odd_byte = None;
        self.pos = 0;
    }

    /// Feed PCM s16le mono 16 kHz bytes (any length, an odd trailing byte is kept for the next
    /// call); `on_window` is called once per completed window, in order.
    pub fn push_pcm(&mut self, pcm: &[u8], mut on_window: impl FnMut(&VadWindow<'_>)) {
        let mut bytes = pcm;
        if let Some(lo) = self.odd_byte.take() {
            match bytes.split_first() {
                Some((&hi, rest)) => {
                    self.feed(i16::from_le_bytes([lo, hi]), &mut on_window);
                    bytes = rest;
                }
                None => {
                    self.odd_byte = Some(lo);
                    return;
                }
            }
        }
        let mut pairs = bytes.chunks_exact(2);
        for b in &mut pairs {
            self.feed(i16::from_le_bytes([b[0], b[1]]), &mut on_window);
        }
        if let [last] = pairs.remainder() {
            self.odd_byte = Some(*last);
        }
    }

    /// Feed PCM s16 mono 16 kHz samples (any count); `on_window` as for [`Vad::push_pcm`].
    pub fn push_samples(&mut self, samples: &[i16], mut on_window: impl FnMut(&VadWindow<'_>)) {
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.window - self.fill).min(rest.len());
            self.buf[self.fill..self.fill + take].copy_from_slice(&rest[..take]);
            self.fill += take;
            rest = &rest[take..];
            if self.fill == self.window {
                self.analyze(&mut on_window);
            }
        }
    }

    #[inline]
    fn feed(&mut self, sample: i16, on_window: &mut impl FnMut(&VadWindow<'_>)) {
        self.buf[self.fill] = sample;
        self.fill += 1;
        if self.fill == self.window {
            self.analyze(on_window);
        }
    }

    fn analyze(&mut self, on_window: &mut impl FnMut(&VadWindow<'_>)) {
        let samples = &self.buf[..self.window];
        let rms = energy::rms(samples);
        let confidence = match &mut self.analyzer {
            Analyzer::Energy(a) => a.confidence(rms),
            Analyzer::Earshot(a) => a.confidence(samples),
        };
        let start = self.pos;
        let end = start + self.window as u64;
        let v = self.machine.on_window(start, end, confidence, rms);
        on_window(&VadWindow {
            samples,
            start,
            end,
            confidence,
            volume: v.volume,
            speech: v.speech,
            state: v.state,
            event: v.event,
        });
        self.pos = end;
        self.fill = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 320;

    fn machine(start_secs: f32, stop_secs: f32) -> VadStateMachine {
        VadStateMachine::new(&VadParams {
            start_secs,
            stop_secs,
            ..VadParams::default()
        })
    }

    /// Feed a pattern of windows (`s` speech, `.` silence) of 20 ms each, returning the states
    /// and the events with their window index.
    fn run(m: &mut VadStateMachine, pattern: &str, from: u64) -> (String, Vec<(u64, VadEvent)>) {
        let mut states = String::new();
        let mut events = Vec::new();
        for (i, c) in pattern.chars().enumerate() {
            let start = (from + i as u64) * W;
            let conf = if c == 's' { 1.0 } else { 0.0 };
            let v = m.on_window(start, start + W, conf, 0.1);
            states.push(match v.state {
                VadState::Quiet => 'Q',
                VadState::Starting => 'A',
                VadState::Speaking => 'S',
                VadState::Stopping => 'T',
            });
            if let Some(e) = v.event {
                events.push((from + i as u64, e));
            }
        }
        (states, events)
    }

    #[test]
    fn starting_needs_start_secs_without_a_break() {
        // 0.1 s = 5 windows of 20 ms.
        let mut m = machine(0.1, 0.1);
        let (states, events) = run(&mut m, "..ssss.sssss...", 0);
        assert_eq!(states, "QQAAAAQAAAASTTT");
        // Speaking reached on the 5th window of the second run (index 11); the first run, one
        // window before it, is bridged into the onset.
        assert_eq!(
            events[0],
            (
                11,
                VadEvent::SpeechStarted {
                    onset: 2 * W,
                    run_start: 7 * W
                }
            )
        );
        // Three silent windows: Stopping, not yet 0.1 s → still Stopping.
        assert_eq!(events.len(), 1);
        let (states, events) = run(&mut m, "..", 15);
        assert_eq!(states, "TQ");
        // 5 windows of non-speech after the last speech window end (index 11 → end 12*W).
        assert_eq!(events, vec![(16, VadEvent::SpeechStopped { end: 12 * W })]);
    }

    #[test]
    fn onset_reaches_back_over_short_gaps_only() {
        // start 0.1 s = 5 windows, stop 0.06 s = 3 windows.
        let onset = |pattern: &str| {
            let mut m = machine(0.1, 0.06);
            let (_, events) = run(&mut m, pattern, 0);
            events
                .iter()
                .rev()
                .filter_map(|(_, e)| match *e {
                    VadEvent::SpeechStarted { onset, run_start } => {
                        Some((onset / W, run_start / W))
                    }
                    _ => None,
                })
                .next()
                .unwrap()
        };
        // A 2-window burst, a 2-window gap (< 3), then the run: onset at the burst.
        assert_eq!(onset("ss..sssss"), (0, 4));
        // A 3-window gap (= vad_stop_secs) is not bridged.
        assert_eq!(onset("ss...sssss"), (5, 5));
        // Bridged chains look back at most start + stop = 8 windows before the run.
        assert_eq!(onset("s.s.s.s.s.sssss"), (2, 10));
        // After a Speaking period has ended, its speech does not extend the next onset.
        assert_eq!(onset("sssss...sssss"), (8, 8));
        assert_eq!(onset("sssss..sssss"), (0, 0));
    }

    #[test]
    fn speech_during_stopping_returns_to_speaking() {
        let mut m = machine(0.04, 0.1);
        let (states, events) = run(&mut m, "ss..s.....s....", 0);
        assert_eq!(states, "ASTTSTTTTQAQQQQ");
        assert_eq!(
            events,
            vec![
                (
                    1,
                    VadEvent::SpeechStarted {
                        onset: 0,
                        run_start: 0
                    }
                ),
                (9, VadEvent::SpeechStopped { end: 5 * W }),
            ]
        );
    }

    #[test]
    fn zero_start_and_stop_are_immediate() {
        let mut m = machine(0.0, 0.0);
        let (states, events) = run(&mut m, ".s.", 0);
        assert_eq!(states, "QSQ");
        assert_eq!(
            events,
            vec![
                (
                    1,
                    VadEvent::SpeechStarted {
                        onset: W,
                        run_start: W
                    }
                ),
                (2, VadEvent::SpeechStopped { end: 2 * W }),
            ]
        );
    }

    #[test]
    fn confidence_threshold_is_inclusive() {
        let mut m = machine(0.0, 0.2);
        assert!(m.on_window(0, W, 0.7, 0.1).speech);
        assert!(!m.on_window(W, 2 * W, 0.699, 0.1).speech);
    }

    #[test]
    fn volume_is_smoothed_and_gates_speech() {
        // -30 dBFS → 0.5; smoothing 0.2 per window from 0.
        assert!((VadStateMachine::volume_of(10f32.powf(-1.5)) - 0.5).abs() < 1e-5);
        assert_eq!(VadStateMachine::volume_of(0.0), 0.0);
        assert_eq!(VadStateMachine::volume_of(1.0), 1.0);
        assert_eq!(VadStateMachine::volume_of(1e-4), 0.0);
        let mut m = VadStateMachine::new(&VadParams {
            min_volume: 0.5,
            start_secs: 0.0,
            ..VadParams::default()
        });
        // Full-scale windows (volume target 1): v = 0.2, 0.36, 0.488, 0.5904 → speech on the 4th.
        let speech: Vec<bool> = (0..4)
            .map(|i| m.on_window(i * W, (i + 1) * W, 1.0, 1.0).speech)
            .collect();
        assert_eq!(speech, vec![false, false, false, true]);
        assert!((m.volume() - 0.5904).abs() < 1e-5);
    }

    #[test]
    fn params_out_of_range_are_errors() {
        for (p, key) in [
            (
                VadParams {
                    confidence: 1.5,
                    ..VadParams::default()
                },
                "vad_confidence",
            ),
            (
                VadParams {
                    threshold: 0.0,
                    ..VadParams::default()
                },
                "vad_threshold",
            ),
            (
                VadParams {
                    stop_secs: -0.1,
                    ..VadParams::default()
                },
                "vad_stop_secs",
            ),
            (
                VadParams {
                    min_volume: f32::NAN,
                    ..VadParams::default()
                },
                "vad_min_volume",
            ),
        ] {
            assert_eq!(Vad::new(p).unwrap_err().key, key);
        }
    }

    #[test]
    fn from_config_reads_the_keys() {
        let mut c = Config::default();
        assert_eq!(VadParams::from_config(&c), VadParams::default());
        c.vad_type = VadType::Earshot;
        c.vad_confidence = 0.5;
        c.vad_start_secs = 0.1;
        c.vad_stop_secs = 0.3;
        c.vad_min_volume = 0.25;
        c.vad_threshold = 0.05;
        let p = VadParams::from_config(&c);
        assert_eq!(p.vad_type, VadType::Earshot);
        assert_eq!(
            (
                p.confidence,
                p.start_secs,
                p.stop_secs,
                p.min_volume,
                p.threshold
            ),
            (0.5, 0.1, 0.3, 0.25, 0.05)
        );
        assert_eq!(p.window_len(), 256);
    }

    /// A loud 200 Hz tone burst inside silence, pushed in odd-sized byte chunks, gives windows at
    /// exact positions and a sample-accurate onset.
    #[test]
    fn framing_is_independent_of_chunking() {
        let mut samples = vec![0i16; 16_000];
        for (i, s) in samples.iter_mut().enumerate().skip(3200).take(8000) {
            *s = (8000.0 * (2.0 * std::f32::consts::PI * 200.0 * i as f32 / 16_000.0).sin()) as i16;
        }
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let collect = |chunk: usize| {
            let mut vad = Vad::new(VadParams::default()).unwrap();
            let mut out = Vec::new();
            let mut next = 0u64;
            for c in bytes.chunks(chunk) {
                vad.push_pcm(c, |w| {
                    assert_eq!(w.start, next);
                    assert_eq!(w.end - w.start, 320);
                    next = w.end;
                    if let Some(e) = w.event {
                        out.push(e);
                    }
                });
            }
            assert_eq!(vad.position(), 16_000);
            out
        };
        let want = vec![
            VadEvent::SpeechStarted {
                onset: 3200,
                run_start: 3200,
            },
            VadEvent::SpeechStopped { end: 11_200 },
        ];
        for chunk in [1, 3, 639, 640, 641, 32_000] {
            assert_eq!(collect(chunk), want, "chunk {chunk}");
        }
    }
}
