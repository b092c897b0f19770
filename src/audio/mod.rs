//! Audio utilities: PCM conversions ([`pcm`]), resampling with rubato ([`resample`]) and WAV
//! reading with hound ([`wav`]).

pub mod pcm;
pub mod resample;
pub mod wav;
