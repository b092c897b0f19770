//! WAV reading with hound: 8/16/24/32-bit integer and 32-bit float PCM, any channel count,
//! returned as mono f32 (channels averaged) with its sample rate.

use std::path::Path;

/// Errors reading a WAV file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct WavError {
    path: String,
    reason: String,
}

/// Mono samples (f32 in [-1, 1]) and the sample rate in Hz.
#[derive(Debug, Clone)]
pub struct MonoAudio {
    /// Samples, channels averaged.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
}

/// Read a WAV file and down-mix it to mono.
///
/// # Errors
/// [`WavError`] naming the file for unreadable files and unsupported encodings (e.g. G.711).
pub fn read_mono(path: &Path) -> Result<MonoAudio, WavError> {
    let err = |reason: String| WavError {
        path: path.display().to_string(),
        reason,
    };
    let mut reader = hound::WavReader::open(path).map_err(|e| err(e.to_string()))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| err(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
                .map_err(|e| err(e.to_string()))?
        }
    };
    let samples = interleaved
        .chunks_exact(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(MonoAudio {
        samples,
        sample_rate: spec.sample_rate,
    })
}
