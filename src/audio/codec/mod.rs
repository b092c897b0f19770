//! Audio codecs for the media transports: [`opus`] (RFC 6716) for WebRTC, [`g711`] (ITU-T
//! G.711 μ-law/A-law) for the telephony carriers.

pub mod g711;
pub mod opus;
