//! Building a session's chain of processors (`pipeline.md` §4).

use super::processor::{self, Inbox, Link, Processor};

/// A running chain: frames pushed into [`Pipeline::input`] come out of [`Pipeline::output`]
/// after passing every processor in order.
#[derive(Debug)]
pub struct Pipeline {
    /// Where the transport pushes inbound frames.
    pub input: Link,
    /// Where the transport reads outbound frames.
    pub output: Inbox,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Chain builder.
#[derive(Default)]
pub struct PipelineBuilder {
    stages: Vec<Box<dyn FnOnce(Inbox, Link) -> tokio::task::JoinHandle<()> + Send>>,
}

impl PipelineBuilder {
    /// Append a processor.
    pub fn then<P: Processor>(mut self, p: P) -> Self {
        self.stages
            .push(Box::new(move |inbox, out| processor::spawn(p, inbox, out)));
        self
    }

    /// Start every processor task; each gets its own bounded inbox.
    pub fn start(self) -> Pipeline {
        let (input, mut inbox) = processor::link();
        let mut tasks = Vec::with_capacity(self.stages.len());
        for stage in self.stages {
            let (next_link, next_inbox) = processor::link();
            tasks.push(stage(inbox, next_link));
            inbox = next_inbox;
        }
        Pipeline {
            input,
            output: inbox,
            tasks,
        }
    }
}

impl Drop for Pipeline {
    /// Ending a session releases every task.
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
