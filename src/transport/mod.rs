//! Transports translate between wire formats and frames, nothing else: [`websocket`] (`/ws`)
//! with the pure [`serializer`]s.

pub mod serializer;
pub mod websocket;
