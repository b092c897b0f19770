//! Sessions: admission and lifetimes ([`registry`]), where pending sessions and used token
//! ids live (memory or Redis, [`store`]) and the short-lived WebSocket tokens of `POST /start`
//! ([`token`]).

pub mod registry;
pub mod store;
pub mod token;

pub use registry::{Lifecycle, PendingSession, Refusal, SessionRegistry, Slot};
pub use store::{SessionStore, StoreError};
