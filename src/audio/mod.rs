//! Audio utilities: Opus ([`codec`]), PCM conversions ([`pcm`]), resampling with rubato ([`resample`]) and WAV
//! reading with hound ([`wav`]).

pub mod codec;
pub mod pcm;
pub mod resample;
pub mod wav;
