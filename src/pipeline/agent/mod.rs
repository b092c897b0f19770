//! The pipelines a session can run. This build has the keyless [`echo`] agent.

pub mod echo;
pub mod rtvi;
