//! Audio codecs for the media transports: [`opus`] (RFC 6716) for WebRTC.

pub mod opus;
