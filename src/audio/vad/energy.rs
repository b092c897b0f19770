//! The energy analyzer (`pipeline.md` §5): confidence `min(1, rms / vad_threshold)` over
//! 20 ms windows (320 samples at 16 kHz), `rms` the linear RMS of the samples scaled to
//! [−1, 1]. No state between windows.

/// Samples per analysis window: 20 ms at 16 kHz.
pub const WINDOW: usize = 320;

/// Linear RMS of PCM s16 samples scaled to [−1, 1] (divided by 32768); 0 for an empty slice.
pub fn rms(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| {
            let x = f64::from(s) / 32768.0;
            x * x
        })
        .sum();
    (sum / samples.len() as f64).sqrt() as f32
}

/// The RMS energy analyzer. `threshold` is `vad_threshold` (linear RMS, > 0 and ≤ 1).
#[derive(Debug, Clone, Copy)]
pub struct EnergyAnalyzer {
    threshold: f32,
}

impl EnergyAnalyzer {
    /// An analyzer with `vad_threshold` = `threshold` (checked by [`super::VadParams::validate`]).
    pub fn new(threshold: f32) -> Self {
        Self { threshold }
    }

    /// Confidence in [0, 1] of one window whose linear RMS is `rms`.
    pub fn confidence(&self, rms: f32) -> f32 {
        (rms / self.threshold).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_of_full_scale_square_is_one() {
        let w = [i16::MIN; WINDOW];
        assert!((rms(&w) - 1.0).abs() < 1e-6);
        assert_eq!(rms(&[0; WINDOW]), 0.0);
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn confidence_is_rms_over_threshold_capped_at_one() {
        let a = EnergyAnalyzer::new(0.02);
        assert!((a.confidence(0.014) - 0.7).abs() < 1e-6);
        assert_eq!(a.confidence(0.5), 1.0);
        assert_eq!(a.confidence(0.0), 0.0);
    }
}
