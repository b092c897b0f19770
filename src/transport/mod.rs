//! Transports translate between wire formats and frames, nothing else: [`websocket`] (`/ws`)
//! with the pure [`serializer`]s, and [`webrtc`] (peer connections with Opus media and an RTVI
//! data channel). [`session`] holds what both share (session metrics, admission slot).

pub mod serializer;
pub mod session;
pub mod webrtc;
pub mod websocket;
