//! Audio utilities: Opus ([`codec`]), PCM conversions ([`pcm`]), resampling with rubato
//! ([`resample`]), WAV reading with hound ([`wav`]), voice activity detection ([`vad`]: the
//! energy and earshot analyzers and the Quiet/Starting/Speaking/Stopping state machine) and
//! user turns ([`turn`]: silence turn detection, the pre-roll turn recorder, the interruption
//! gate). The VAD and turn modules are pure, synchronous per-session state machines on PCM
//! s16le mono 16 kHz; the pipeline wraps them in processors.

pub mod codec;
pub mod pcm;
pub mod resample;
pub mod turn;
pub mod vad;
pub mod wav;

use std::ops::RangeInclusive;

/// Sample rates (Hz) a client may state for its audio, on every transport and in every field
/// (`?sample_rate=`, `?out_sample_rate=`, protobuf `AudioRawFrame.sample_rate`, RTVI
/// `sampleRate`): `wire.md` §1.2. Anything else is rejected before any buffer is sized from it.
pub const CLIENT_SAMPLE_RATES: RangeInclusive<u32> = 8_000..=48_000;

/// Channel counts a client may state (`num_channels` / `numChannels`); 2 is averaged to mono.
pub const CLIENT_CHANNELS: RangeInclusive<u32> = 1..=2;

/// Sample rates (Hz) any resampler in the process accepts (TTS outputs up to 48 kHz, files up
/// to 192 kHz). Rates outside would size rubato's buffers from untrusted numbers.
pub const RESAMPLER_RATES: RangeInclusive<u32> = 8_000..=192_000;
