//! Processors and the links between them (`pipeline.md` §2).
//!
//! A [`Link`] is the sending side of a processor's inbox: a bounded data channel (64 frames)
//! and a bounded system channel (16 frames). An [`Inbox`] reads system frames first (biased
//! select). Each processor runs as one task ([`spawn`]); it never spawns a task per frame.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use super::frame::Frame;

/// Capacity of a data channel, in frames.
pub const DATA_CAPACITY: usize = 64;
/// Capacity of a system channel, in frames.
pub const SYSTEM_CAPACITY: usize = 16;

/// The sending side of an inbox. Cloneable.
#[derive(Debug, Clone)]
pub struct Link {
    data: mpsc::Sender<Frame>,
    system: mpsc::Sender<Frame>,
}

/// Why a non-blocking send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError {
    /// The channel is full: real-time audio is dropped (and counted) rather than delayed.
    Full,
    /// The receiver is gone: the pipeline has ended.
    Closed,
}

impl Link {
    /// Send a frame on the channel its class uses, waiting while it is full.
    /// Returns `false` when the receiver is gone.
    pub async fn send(&self, frame: Frame) -> bool {
        let ch = if frame.is_system() {
            &self.system
        } else {
            &self.data
        };
        ch.send(frame).await.is_ok()
    }

    /// Send without waiting (for inbound audio, `pipeline.md` §3).
    ///
    /// # Errors
    /// [`TrySendError::Full`] or [`TrySendError::Closed`].
    pub fn try_send(&self, frame: Frame) -> Result<(), TrySendError> {
        let ch = if frame.is_system() {
            &self.system
        } else {
            &self.data
        };
        ch.try_send(frame).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TrySendError::Full,
            mpsc::error::TrySendError::Closed(_) => TrySendError::Closed,
        })
    }
}

/// The receiving side of a processor's input.
#[derive(Debug)]
pub struct Inbox {
    data: mpsc::Receiver<Frame>,
    system: mpsc::Receiver<Frame>,
}

impl Inbox {
    /// The next frame, system frames first; `None` when every sender is gone and both
    /// channels are empty.
    pub async fn recv(&mut self) -> Option<Frame> {
        tokio::select! {
            biased;
            Some(f) = self.system.recv() => Some(f),
            Some(f) = self.data.recv() => Some(f),
            else => None,
        }
    }

    /// Discard every queued data frame (on `Cancel`); returns how many were dropped.
    pub fn discard_data(&mut self) -> usize {
        let mut n = 0;
        while self.data.try_recv().is_ok() {
            n += 1;
        }
        n
    }
}

/// A new link and its inbox.
pub fn link() -> (Link, Inbox) {
    let (data_tx, data_rx) = mpsc::channel(DATA_CAPACITY);
    let (system_tx, system_rx) = mpsc::channel(SYSTEM_CAPACITY);
    (
        Link {
            data: data_tx,
            system: system_tx,
        },
        Inbox {
            data: data_rx,
            system: system_rx,
        },
    )
}

/// A boxed future returned by [`Processor::process`].
pub type ProcessFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// One stage of a pipeline.
pub trait Processor: Send + 'static {
    /// A short name for logs and metrics (`echo`, `vad`, …).
    fn name(&self) -> &'static str;

    /// Handle one frame, pushing results to `out`. Returns `false` to stop the processor
    /// (after `End` or `Cancel`, or when `out` is closed).
    fn process<'a>(&'a mut self, frame: Frame, out: &'a Link) -> ProcessFuture<'a>;
}

/// Run `processor` as its own task: read `inbox` until it closes or the processor stops.
/// Queued data frames are discarded on `Cancel`.
pub fn spawn<P: Processor>(
    mut processor: P,
    mut inbox: Inbox,
    out: Link,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(frame) = inbox.recv().await {
            if matches!(frame, Frame::Cancel { .. }) {
                inbox.discard_data();
            }
            if !processor.process(frame, &out).await {
                break;
            }
        }
        tracing::trace!(processor = processor.name(), "processor stopped");
    })
}
