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
