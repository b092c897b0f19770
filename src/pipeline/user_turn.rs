//! The user turn stage (`pipeline.md` §5–7): VAD, silence turn detection, turn recording and
//! the interruption decision. Placeholder until the VAD and turn modules land.

use crate::config::Config;
use crate::pipeline::processor::Processor;

/// VAD + turn detection + barge-in.
#[derive(Debug)]
pub struct UserTurn {
    _rate: u32,
}

impl UserTurn {
    /// The stage for a session whose input runs at `rate` Hz.
    pub fn from_config(_config: &Config, rate: u32) -> Self {
        Self { _rate: rate }
    }
}

impl Processor for UserTurn {
    fn name(&self) -> &'static str {
        "user_turn"
    }
}
