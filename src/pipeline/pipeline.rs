//! Building and running a session's chain of processors (`pipeline.md` §2, §4).

use std::sync::Arc;

use super::context::SessionContext;
use super::frame::Frame;
use super::processor::{self, Ctx, Inbox, Link, Processor, UpLink};

/// A running chain: frames pushed into [`Pipeline::input`] come out of [`Pipeline::output`]
/// after passing every processor in order; the transport's output stage sends upstream
/// frames (bot speaking events) into [`Pipeline::feedback`].
#[derive(Debug)]
pub struct Pipeline {
    /// Where the transport pushes inbound frames.
    pub input: Link,
    /// Where the transport reads outbound frames (read it with [`Inbox::recv_fresh`]).
    pub output: Inbox,
    /// Upstream into the last stage (`None` for an empty chain).
    pub feedback: Option<UpLink>,
    /// The session's context.
    pub session: Arc<SessionContext>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

type StageFn = Box<dyn FnOnce(Inbox, Ctx) -> tokio::task::JoinHandle<()> + Send>;

/// Chain builder.
#[derive(Default)]
pub struct PipelineBuilder {
    stages: Vec<StageFn>,
    /// Set by [`PipelineBuilder::audio_passes_through`]; cleared by every later `then`.
    audio_passthrough: bool,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("stages", &self.stages.len())
            .finish()
    }
}

impl PipelineBuilder {
    /// Append a processor.
    pub fn then<P: Processor>(mut self, p: P) -> Self {
        self.stages
            .push(Box::new(move |inbox, ctx| processor::spawn(p, inbox, ctx)));
        self.audio_passthrough = false;
        self
    }

    /// Declare that every stage added so far hands inbound audio on unchanged (the echo
    /// agent), so a transport may give inbound audio straight to its output stage and skip
    /// the per-frame task hops; other frames still pass through the stages. Adding a stage
    /// after this withdraws the declaration.
    pub fn audio_passes_through(mut self) -> Self {
        self.audio_passthrough = true;
        self
    }

    /// Whether [`PipelineBuilder::audio_passes_through`] holds for this chain.
    pub fn is_audio_passthrough(&self) -> bool {
        self.audio_passthrough
    }

    /// Start every processor task for `session`; each gets its own bounded inbox, a link to
    /// the next stage and an upstream link to the previous one.
    pub fn start(self, session: Arc<SessionContext>) -> Pipeline {
        let (input, mut up_into_current, mut inbox) = processor::link();
        let mut up_into_previous: Option<UpLink> = None;
        let mut tasks = Vec::with_capacity(self.stages.len());
        let empty = self.stages.is_empty();
        for stage in self.stages {
            let (next_link, next_up, next_inbox) = processor::link();
            let ctx = Ctx::new(session.clone(), next_link, up_into_previous.take());
            tasks.push(stage(inbox, ctx));
            up_into_previous = Some(up_into_current);
            up_into_current = next_up;
            inbox = next_inbox;
        }
        // `Start` is the first frame every stage sees (`pipeline.md` §1); the fresh system
        // channel has room for it.
        let p = &session.params;
        let _ = input.try_send(Frame::Start {
            in_sample_rate: p.in_sample_rate,
            out_sample_rate: p.out_sample_rate,
            allow_interruptions: p.allow_interruptions,
            metrics: p.metrics,
        });
        Pipeline {
            input,
            output: inbox,
            feedback: if empty { None } else { up_into_previous },
            session,
            tasks,
        }
    }
}

impl Drop for Pipeline {
    /// Ending a session releases every stage task and every task the stages own.
    fn drop(&mut self) {
        self.session.cancel.cancel();
        self.session.tasks.close();
        for t in &self.tasks {
            t.abort();
        }
    }
}
