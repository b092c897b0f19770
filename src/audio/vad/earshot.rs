//! The earshot analyzer (`pipeline.md` §5): the pure-Rust neural VAD of the `earshot` crate
//! (<https://github.com/pykeio/earshot>), 256-sample windows (16 ms) at 16 kHz; the confidence is
//! its speech probability.
//!
//! The network weights are a `static` inside the crate (compiled into the binary, shared by every
//! session of the process); the per-session state is the detector's audio ring, features and
//! recurrent state, about 8 KiB, kept on the heap.

/// Samples per analysis window: 16 ms at 16 kHz, fixed by the model.
pub const WINDOW: usize = 256;

/// One session's earshot detector.
pub struct EarshotAnalyzer {
    detector: Box<earshot::Detector>,
}

impl std::fmt::Debug for EarshotAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarshotAnalyzer").finish_non_exhaustive()
    }
}

impl Default for EarshotAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl EarshotAnalyzer {
    /// A fresh detector (allocated directly on the heap).
    pub fn new() -> Self {
        Self {
            detector: earshot::Detector::default_boxed(),
        }
    }

    /// Speech probability in [0, 1] of one window of exactly [`WINDOW`] PCM s16 samples at
    /// 16 kHz; a window of another length yields 0 (the caller always passes full windows).
    pub fn confidence(&mut self, window: &[i16]) -> f32 {
        if window.len() != WINDOW {
            return 0.0;
        }
        let p = self.detector.predict_i16(window);
        if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
    }

    /// Forget all audio (a new stream).
    pub fn reset(&mut self) {
        self.detector.reset();
    }

    /// Bytes of per-session state owned by this analyzer (the boxed detector).
    pub fn state_bytes() -> usize {
        std::mem::size_of::<earshot::Detector>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_not_speech_and_state_is_small() {
        let mut a = EarshotAnalyzer::new();
        // Digital silence scores about 0.15-0.28 with earshot 1.2.2: well under the default
        // vad_confidence of 0.7.
        for _ in 0..50 {
            let c = a.confidence(&[0; WINDOW]);
            assert!((0.0..0.5).contains(&c), "{c}");
        }
        assert_eq!(a.confidence(&[0; 100]), 0.0);
        assert!(EarshotAnalyzer::state_bytes() < 16 * 1024);
    }
}
