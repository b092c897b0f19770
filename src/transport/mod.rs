//! Transports translate between wire formats and frames, nothing else (`DESIGN.md`,
//! "Transports"):
//! - [`websocket`]: the one WebSocket driver (one task per session) of `/ws` and
//!   `/telephony/ws`, with the per-session [`serializer`]s (protobuf, JSON, raw, carriers);
//! - [`telephony`]: `/telephony/ws` after the upgrade: carrier detection from the first
//!   messages, then the same driver with the carrier serializer and the REST hang-up;
//! - [`webrtc`]: peer connections with Opus media and an RTVI data channel;
//! - [`input`]: inbound audio normalisation (down-mix, resampling to the pipeline rate);
//! - [`output`]: the one output stage (20 ms re-chunking, resampling to the wire rate, the
//!   playout clock, turn-aware flush, bot speaking events);
//! - [`session`]: what every transport session shares (session metrics, admission slot, client
//!   control messages → frames).

pub mod input;
pub mod output;
pub mod serializer;
pub mod session;
pub mod telephony;
pub mod webrtc;
pub mod websocket;
