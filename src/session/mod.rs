//! Sessions: admission and lifetimes ([`registry`]) and the short-lived WebSocket tokens of
//! `POST /start` ([`token`]).

pub mod registry;
pub mod token;

pub use registry::{Lifecycle, PendingSession, Refusal, SessionRegistry, Slot};
