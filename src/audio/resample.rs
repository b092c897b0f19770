//! Sample-rate conversion with rubato's FFT resampler (not linear interpolation).
//!
//! [`StreamResampler`] converts a mono stream chunk by chunk (stateful, one per session and
//! direction); [`resample`] converts a whole buffer.

use rubato::{FftFixedIn, Resampler};

/// Errors from building a resampler (unsupported rates).
#[derive(Debug, thiserror::Error)]
#[error("cannot resample {from} Hz to {to} Hz: {reason}")]
pub struct ResampleError {
    from: u32,
    to: u32,
    reason: String,
}

/// A stateful mono resampler from `from` Hz to `to` Hz working on 10 ms input chunks.
/// Output lags input by the resampler's delay; call [`StreamResampler::flush`] at the end.
pub struct StreamResampler {
    inner: FftFixedIn<f32>,
    pending: Vec<f32>,
    chunk: usize,
    /// Output block reused by [`StreamResampler::process_into`] (one channel).
    out_block: Vec<Vec<f32>>,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("chunk", &self.chunk)
            .finish()
    }
}

impl StreamResampler {
    /// A resampler from `from` Hz to `to` Hz (both within [`super::RESAMPLER_RATES`],
    /// 8000–192000).
    ///
    /// # Errors
    /// [`ResampleError`] when a rate is outside that range or rubato rejects the pair.
    pub fn new(from: u32, to: u32) -> Result<Self, ResampleError> {
        for rate in [from, to] {
            if !super::RESAMPLER_RATES.contains(&rate) {
                return Err(ResampleError {
                    from,
                    to,
                    reason: format!("{rate} Hz is outside 8000-192000 Hz"),
                });
            }
        }
        let chunk = (from as usize / 100).max(1);
        let inner = FftFixedIn::new(from as usize, to as usize, chunk, 1, 1).map_err(|e| {
            ResampleError {
                from,
                to,
                reason: e.to_string(),
            }
        })?;
        let out_max = inner.output_frames_max();
        Ok(Self {
            inner,
            pending: Vec::with_capacity(chunk * 2),
            chunk,
            out_block: vec![vec![0.0; out_max]],
        })
    }

    /// Like [`StreamResampler::process`], appending the ready output to `out` instead of
    /// returning a new vector: once `out` and the internal buffers have grown to a frame's
    /// size, a steady stream of equal frames allocates nothing (the real-time path).
    pub fn process_into(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= self.chunk {
            let block = &self.pending[start..start + self.chunk];
            if let Ok((_, written)) =
                self.inner
                    .process_into_buffer(&[block], &mut self.out_block, None)
            {
                out.extend_from_slice(&self.out_block[0][..written]);
            }
            start += self.chunk;
        }
        // Keep the remainder at the front (a memmove within the existing capacity).
        self.pending.drain(..start);
    }

    /// Feed samples (f32 in [-1, 1]); returns whatever output is ready.
    pub fn process(&mut self, input: &[f32]) -> Vec<f32> {
        self.pending.extend_from_slice(input);
        let mut out = Vec::new();
        while self.pending.len() >= self.chunk {
            let block: Vec<f32> = self.pending.drain(..self.chunk).collect();
            if let Ok(mut res) = self.inner.process(&[block], None) {
                out.append(&mut res[0]);
            }
        }
        out
    }

    /// Feed PCM s16le mono bytes; returns the PCM s16le mono bytes that are ready (may be
    /// empty while the first chunk fills).
    pub fn process_pcm(&mut self, pcm_bytes: &[u8]) -> bytes::Bytes {
        let input: Vec<f32> = super::pcm::from_bytes(pcm_bytes)
            .into_iter()
            .map(super::pcm::i16_to_f32)
            .collect();
        let out: Vec<i16> = self
            .process(&input)
            .into_iter()
            .map(super::pcm::f32_to_i16)
            .collect();
        super::pcm::to_bytes(&out)
    }

    /// Push out what is buffered (zero-padded) at the end of a stream.
    pub fn flush(&mut self) -> Vec<f32> {
        let rest = std::mem::take(&mut self.pending);
        let mut out = Vec::new();
        if !rest.is_empty()
            && let Ok(mut res) = self.inner.process_partial(Some(&[rest]), None)
        {
            out.append(&mut res[0]);
        }
        if let Ok(mut res) = self.inner.process_partial::<Vec<f32>>(None, None) {
            out.append(&mut res[0]);
        }
        out
    }

    /// Output samples the resampler lags behind its input.
    pub fn delay(&self) -> usize {
        self.inner.output_delay()
    }
}

/// Resample a whole mono buffer from `from` Hz to `to` Hz, delay-compensated, so the output
/// has `len * to / from` samples (rounded) aligned with the input.
///
/// # Errors
/// [`ResampleError`] when rubato rejects the rates.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    if from == to {
        return Ok(input.to_vec());
    }
    let mut r = StreamResampler::new(from, to)?;
    let delay = r.delay();
    let mut out = r.process(input);
    out.extend(r.flush());
    let expected = (input.len() as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
    Ok(out.into_iter().skip(delay).take(expected).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_rates_are_refused_before_allocating() {
        for (from, to) in [
            (u32::MAX, 16_000),
            (2_147_483_647, 16_000),
            (1, 16_000),
            (16_000, 0),
        ] {
            assert!(StreamResampler::new(from, to).is_err(), "{from} -> {to}");
        }
        assert!(StreamResampler::new(48_000, 16_000).is_ok());
    }

    #[test]
    fn tone_survives_44k1_to_16k() {
        let from = 44_100;
        let tone: Vec<f32> = (0..from)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / from as f32).sin())
            .collect();
        let out = resample(&tone, from, 16_000).unwrap();
        assert_eq!(out.len(), 16_000);
        // Level preserved (RMS of a 0.5 sine ≈ 0.354) and frequency preserved: count zero
        // crossings in the middle second-half (≈ 2 per cycle).
        let mid = &out[4000..12000];
        let rms = (mid.iter().map(|x| x * x).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms - 0.3536).abs() < 0.01, "rms {rms}");
        let crossings = mid
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!((995..=1005).contains(&crossings), "crossings {crossings}");
    }

    #[test]
    fn process_into_matches_process() {
        let input: Vec<f32> = (0..8_000)
            .map(|i| ((i as f32) * 0.05).sin() * 0.4)
            .collect();
        let (mut a, mut b) = (
            StreamResampler::new(8_000, 16_000).unwrap(),
            StreamResampler::new(8_000, 16_000).unwrap(),
        );
        let mut via_vec = Vec::new();
        let mut via_into = Vec::new();
        // Uneven chunks exercise the remainder handling.
        for chunk in input.chunks(173) {
            via_vec.extend(a.process(chunk));
            b.process_into(chunk, &mut via_into);
        }
        assert_eq!(via_vec.len(), via_into.len());
        assert!(via_vec.iter().zip(&via_into).all(|(x, y)| x == y));
    }
}
