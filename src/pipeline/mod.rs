//! The voice pipeline: [`frame`]s moving through [`processor`] tasks chained by
//! [`pipeline`], and the [`agent`]s a session can run (`pipeline.md`).

pub mod agent;
pub mod frame;
pub mod pipeline;
pub mod processor;

pub use frame::{AudioFrame, Frame};
pub use pipeline::{Pipeline, PipelineBuilder};
