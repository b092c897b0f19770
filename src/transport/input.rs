//! The input half's audio normalisation, shared by every transport that receives PCM
//! (`wire.md` §1.3): stereo is averaged to mono and any client rate is resampled (one stateful
//! resampler per session, rebuilt when the client's rate changes) to the pipeline rate.

use bytes::Bytes;

use crate::audio::pcm;
use crate::audio::resample::{ResampleError, StreamResampler};
use crate::pipeline::frame::AudioFrame;

/// Inbound audio normaliser of one session.
#[derive(Debug)]
pub struct AudioIn {
    /// Pipeline input rate, Hz.
    rate: u32,
    resampler: Option<(u32, StreamResampler)>,
}

impl AudioIn {
    /// A normaliser to `rate` Hz (the pipeline input rate).
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            resampler: None,
        }
    }

    /// The pipeline input rate, Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// PCM s16le with `channels` interleaved channels at `rate` Hz (already checked against
    /// [`crate::audio::CLIENT_SAMPLE_RATES`]) → mono at the pipeline rate. The result may be
    /// empty while the resampler fills its first 10 ms block.
    ///
    /// # Errors
    /// [`ResampleError`] when no resampler can be built for `rate`.
    pub fn normalise(
        &mut self,
        data: &Bytes,
        rate: u32,
        channels: u32,
    ) -> Result<AudioFrame, ResampleError> {
        let mono = pcm::downmix(data, channels as usize);
        if rate == self.rate {
            return Ok(AudioFrame::mono(mono, rate));
        }
        let r = match &mut self.resampler {
            Some((from, r)) if *from == rate => r,
            slot => {
                &mut slot
                    .insert((rate, StreamResampler::new(rate, self.rate)?))
                    .1
            }
        };
        Ok(AudioFrame::mono(r.process_pcm(&mono), self.rate))
    }
}
