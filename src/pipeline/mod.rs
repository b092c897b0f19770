//! The voice pipeline: [`frame`]s moving through [`processor`] tasks chained by
//! [`pipeline`], sharing a per-session [`context`], and the [`agent`]s a session can run
//! (`pipeline.md`). [`user_turn`] is the VAD / turn detection / barge-in stage.

pub mod agent;
pub mod context;
pub mod frame;
pub mod pipeline;
pub mod processor;
pub mod user_turn;

pub use frame::{AudioFrame, Frame};
pub use pipeline::{Pipeline, PipelineBuilder};
