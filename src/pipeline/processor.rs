//! The processor contract and its runner (`DESIGN.md`, "The processor contract";
//! `pipeline.md` §2).
//!
//! Each stage of a session is one [`Processor`] run as one tokio task by [`spawn`]. Its inbox
//! ([`Inbox`]) has a bounded data channel ([`DATA_CAPACITY`] frames) and a bounded system channel
//! ([`SYSTEM_CAPACITY`] frames) read first. System frames carry a [`Direction`]: most travel
//! downstream, but `BotStartedSpeaking`/`BotStoppedSpeaking` (from the output stage) and errors
//! may travel upstream ([`Ctx::push_upstream`]), reaching the stages before the point where
//! they arose.
//!
//! What the runner guarantees every stage:
//! - system frames are read **while `process` is in flight**: an `Interruption` or `Cancel`
//!   cancels (drops) the in-flight `process` future, so a stage blocked on a full downstream
//!   channel or a provider never holds back an interruption. `process` futures must therefore
//!   be cancel-safe; other system frames that arrive meanwhile wait (in order) until it ends;
//! - data frames whose `turn_id` is at or below the session's interrupted-turn watermark are
//!   discarded when dequeued, so no stage re-implements stale-output filtering;
//! - `start` runs before the first frame, `stop` after `End`, `Cancel` or a closed inbox;
//! - an error returned by a hook, or a panic inside one, ends only this session: the runner
//!   sends a fatal [`Frame::Error`] downstream (the transport answers with RTVI `error` and
//!   close 1011) and stops the stage;
//! - frames a stage does not handle pass through unchanged (the default hooks).
//!
//! No per-frame boxing, task or timer: each stage is a generic `async` loop.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::context::SessionContext;
use super::frame::Frame;

/// Capacity of a data channel, in frames.
pub const DATA_CAPACITY: usize = 64;
/// Capacity of a system channel, in frames.
pub const SYSTEM_CAPACITY: usize = 16;

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Transport input → … → transport output.
    Downstream,
    /// Towards the transport input (system frames only).
    Upstream,
}

/// The downstream sending side of a stage's inbox. Cloneable (tasks a stage owns hold one).
#[derive(Debug, Clone)]
pub struct Link {
    data: mpsc::Sender<Frame>,
    system: mpsc::Sender<(Direction, Frame)>,
}

/// The upstream sending side of a stage's inbox: system frames tagged [`Direction::Upstream`].
#[derive(Debug, Clone)]
pub struct UpLink {
    system: mpsc::Sender<(Direction, Frame)>,
}

/// The receiver has gone: the pipeline (or its transport) has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pipeline has ended")]
pub struct Closed;

/// Why a non-blocking send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError {
    /// The channel is full: real-time audio is dropped (and counted) rather than delayed.
    Full,
    /// The receiver is gone: the pipeline has ended.
    Closed,
}

impl<T> From<mpsc::error::TrySendError<T>> for TrySendError {
    fn from(e: mpsc::error::TrySendError<T>) -> Self {
        match e {
            mpsc::error::TrySendError::Full(_) => TrySendError::Full,
            mpsc::error::TrySendError::Closed(_) => TrySendError::Closed,
        }
    }
}

impl Link {
    /// Send a frame downstream on the channel its class uses, waiting while it is full.
    ///
    /// # Errors
    /// [`Closed`] when the receiver is gone.
    pub async fn send(&self, frame: Frame) -> Result<(), Closed> {
        if frame.is_system() {
            self.system
                .send((Direction::Downstream, frame))
                .await
                .map_err(|_| Closed)
        } else {
            self.data.send(frame).await.map_err(|_| Closed)
        }
    }

    /// Send without waiting (inbound audio, `pipeline.md` §3).
    ///
    /// # Errors
    /// [`TrySendError::Full`] or [`TrySendError::Closed`].
    pub fn try_send(&self, frame: Frame) -> Result<(), TrySendError> {
        if frame.is_system() {
            Ok(self.system.try_send((Direction::Downstream, frame))?)
        } else {
            Ok(self.data.try_send(frame)?)
        }
    }

    /// Wait for room for `frame` and send it: like [`Link::send`], but cancel-safe in a
    /// `select!` when `frame` is kept by the caller: nothing is sent unless the permit came.
    ///
    /// # Errors
    /// [`Closed`] when the receiver is gone.
    pub async fn reserve_send(&self, frame: &Frame) -> Result<(), Closed> {
        if frame.is_system() {
            let permit = self.system.reserve().await.map_err(|_| Closed)?;
            permit.send((Direction::Downstream, frame.clone()));
        } else {
            let permit = self.data.reserve().await.map_err(|_| Closed)?;
            permit.send(frame.clone());
        }
        Ok(())
    }
}

impl UpLink {
    /// Send a frame upstream, waiting while the system channel is full.
    ///
    /// # Errors
    /// [`Closed`] when the receiver is gone.
    pub async fn send(&self, frame: Frame) -> Result<(), Closed> {
        self.system
            .send((Direction::Upstream, frame))
            .await
            .map_err(|_| Closed)
    }

    /// Send upstream without waiting (the transport's output stage never blocks on the
    /// pipeline).
    ///
    /// # Errors
    /// [`TrySendError::Full`] or [`TrySendError::Closed`].
    pub fn try_send(&self, frame: Frame) -> Result<(), TrySendError> {
        Ok(self.system.try_send((Direction::Upstream, frame))?)
    }
}

/// The receiving side of a stage's input.
#[derive(Debug)]
pub struct Inbox {
    data: mpsc::Receiver<Frame>,
    system: mpsc::Receiver<(Direction, Frame)>,
    system_open: bool,
}

impl Inbox {
    /// The next frame and its direction, system frames first; `None` when every sender is
    /// gone and both channels are empty. Cancel-safe.
    pub async fn recv(&mut self) -> Option<(Direction, Frame)> {
        tokio::select! {
            biased;
            Some(f) = self.system.recv(), if self.system_open => Some(f),
            Some(f) = self.data.recv() => Some((Direction::Downstream, f)),
            else => None,
        }
    }

    /// The next frame that is not stale for `session` (data frames of interrupted turns are
    /// discarded here, `pipeline.md` §1). Cancel-safe.
    pub async fn recv_fresh(&mut self, session: &SessionContext) -> Option<(Direction, Frame)> {
        loop {
            let item = self.recv().await?;
            if item.1.is_system() || !session.is_stale(item.1.turn_id()) {
                return Some(item);
            }
        }
    }

    /// Whether a data frame is waiting.
    pub fn has_data(&self) -> bool {
        !self.data.is_empty()
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

/// A new inbox and its downstream and upstream senders.
pub fn link() -> (Link, UpLink, Inbox) {
    let (data_tx, data_rx) = mpsc::channel(DATA_CAPACITY);
    let (system_tx, system_rx) = mpsc::channel(SYSTEM_CAPACITY);
    (
        Link {
            data: data_tx,
            system: system_tx.clone(),
        },
        UpLink { system: system_tx },
        Inbox {
            data: data_rx,
            system: system_rx,
            system_open: true,
        },
    )
}

/// Why a stage stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The next stage or the transport is gone: stop quietly.
    #[error(transparent)]
    Closed(#[from] Closed),
    /// A failure that ends the session (fatal `Error`, close 1011). The text reaches the
    /// client: it must hold no secret.
    #[error("{0}")]
    Failed(String),
}

/// What a hook returns.
pub type StageResult = Result<(), StageError>;

/// What a stage's hooks get: its links and the session context.
#[derive(Debug)]
pub struct Ctx {
    session: Arc<SessionContext>,
    down: Link,
    up: Option<UpLink>,
}

impl Ctx {
    /// A context pushing downstream into `down` and upstream into `up`.
    pub fn new(session: Arc<SessionContext>, down: Link, up: Option<UpLink>) -> Self {
        Self { session, down, up }
    }

    /// Push a frame downstream, waiting while the next stage's channel is full.
    ///
    /// # Errors
    /// [`Closed`] when the next stage is gone.
    pub async fn push(&self, frame: Frame) -> Result<(), Closed> {
        self.down.send(frame).await
    }

    /// Push a system frame upstream (to the previous stage); dropped silently in the first
    /// stage, which has nothing upstream of it.
    ///
    /// # Errors
    /// [`Closed`] when the previous stage is gone.
    pub async fn push_upstream(&self, frame: Frame) -> Result<(), Closed> {
        match &self.up {
            Some(up) => up.send(frame).await,
            None => Ok(()),
        }
    }

    /// A clone of the downstream link, for a task the stage owns (playback, provider stream).
    pub fn downstream(&self) -> Link {
        self.down.clone()
    }

    /// The session context.
    pub fn session(&self) -> &Arc<SessionContext> {
        &self.session
    }
}

/// One stage of a pipeline. Hooks are `async`; implementations may write `async fn`.
pub trait Processor: Send + 'static {
    /// A short name for logs and metrics (`echo`, `user_turn`, …).
    fn name(&self) -> &'static str;

    /// Runs once before the first frame.
    fn start(&mut self, ctx: &mut Ctx) -> impl Future<Output = StageResult> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Handle one downstream frame (data or system, except `Interruption` and `Cancel`, which
    /// the runner handles). Default: pass it on. Must be cancel-safe (see the module doc).
    fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> impl Future<Output = StageResult> + Send {
        async move { Ok(ctx.push(frame).await?) }
    }

    /// Handle one system frame travelling upstream. Default: pass it further upstream.
    fn process_upstream(
        &mut self,
        frame: Frame,
        ctx: &mut Ctx,
    ) -> impl Future<Output = StageResult> + Send {
        async move { Ok(ctx.push_upstream(frame).await?) }
    }

    /// Bot turn `turn_id` (and every earlier one) was interrupted: drop what belongs to it
    /// and cancel its work. The runner then passes the `Interruption` on.
    fn on_interruption(&mut self, turn_id: u64, ctx: &mut Ctx) -> impl Future<Output = ()> + Send {
        let _ = (turn_id, ctx);
        async {}
    }

    /// Runs once at the end (`End`, `Cancel`, closed inbox); not after an error.
    fn stop(&mut self, ctx: &mut Ctx) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }
}

/// Run `processor` as its own task, reading `inbox` until the stage ends.
pub fn spawn<P: Processor>(processor: P, inbox: Inbox, ctx: Ctx) -> tokio::task::JoinHandle<()> {
    let span = ctx.session.span.clone();
    tokio::spawn(run(processor, inbox, ctx).instrument(span))
}

async fn run<P: Processor>(mut processor: P, mut inbox: Inbox, mut ctx: Ctx) {
    let stage = processor.name();
    let outcome = AssertUnwindSafe(drive(&mut processor, &mut inbox, &mut ctx))
        .catch_unwind()
        .await;
    let message = match outcome {
        Ok(Ok(())) | Ok(Err(StageError::Closed(_))) => {
            tracing::trace!(stage, "stage stopped");
            return;
        }
        Ok(Err(StageError::Failed(message))) => message,
        // The panic payload is not logged or sent: it may quote anything, secrets included.
        Err(_) => format!("internal error in stage {stage}"),
    };
    ctx.session
        .metrics
        .pipeline_errors
        .with_label_values(&[stage])
        .inc();
    tracing::error!(stage, error = %message, "stage failed; ending the session");
    let _ = ctx
        .push(Frame::Error {
            stage,
            message,
            fatal: true,
        })
        .await;
}

/// What the runner does next.
enum Next {
    System(Direction, Frame),
    Data(Frame),
    Closed,
}

async fn drive<P: Processor>(p: &mut P, inbox: &mut Inbox, ctx: &mut Ctx) -> StageResult {
    p.start(ctx).await?;
    // System frames that arrived while `process` was in flight, in arrival order.
    let mut stash: VecDeque<(Direction, Frame)> = VecDeque::with_capacity(SYSTEM_CAPACITY);
    loop {
        let next = match stash.pop_front() {
            Some((dir, f)) => Next::System(dir, f),
            None => match inbox.recv().await {
                Some((dir, f)) if f.is_system() => Next::System(dir, f),
                Some((_, f)) => Next::Data(f),
                None => Next::Closed,
            },
        };
        match next {
            Next::Closed => {
                p.stop(ctx).await;
                return Ok(());
            }
            Next::System(dir, frame) => {
                if !handle_system(p, inbox, ctx, dir, frame).await? {
                    return Ok(());
                }
            }
            Next::Data(frame) => {
                if ctx.session.is_stale(frame.turn_id()) {
                    continue;
                }
                if matches!(frame, Frame::End { .. }) {
                    p.process(frame, ctx).await?;
                    p.stop(ctx).await;
                    return Ok(());
                }
                let fut = p.process(frame, ctx);
                tokio::pin!(fut);
                loop {
                    tokio::select! {
                        biased;
                        r = &mut fut => {
                            r?;
                            break;
                        }
                        s = inbox.system.recv(), if inbox.system_open && stash.len() < SYSTEM_CAPACITY => {
                            let Some(s) = s else {
                                inbox.system_open = false;
                                continue;
                            };
                            let cuts = matches!(s.1, Frame::Interruption { .. } | Frame::Cancel { .. });
                            stash.push_back(s);
                            if cuts {
                                break; // drops the in-flight `process` future
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Handle one system frame; `Ok(false)` when the stage must stop.
async fn handle_system<P: Processor>(
    p: &mut P,
    inbox: &mut Inbox,
    ctx: &mut Ctx,
    dir: Direction,
    frame: Frame,
) -> Result<bool, StageError> {
    match frame {
        Frame::Interruption { turn_id } => {
            ctx.session.interrupt(turn_id);
            p.on_interruption(turn_id, ctx).await;
            let f = Frame::Interruption { turn_id };
            match dir {
                Direction::Downstream => ctx.push(f).await?,
                Direction::Upstream => ctx.push_upstream(f).await?,
            }
        }
        Frame::Cancel { reason } => {
            inbox.discard_data();
            p.stop(ctx).await;
            let _ = ctx.push(Frame::Cancel { reason }).await;
            return Ok(false);
        }
        f => match dir {
            Direction::Downstream => p.process(f, ctx).await?,
            Direction::Upstream => p.process_upstream(f, ctx).await?,
        },
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::metrics::Metrics;
    use crate::pipeline::context::SessionParams;
    use crate::pipeline::frame::AudioFrame;

    fn session() -> Arc<SessionContext> {
        SessionContext::new("test", SessionParams::default(), Metrics::new())
    }

    fn out_audio(turn_id: u64, tag: u8) -> Frame {
        Frame::OutputAudio {
            audio: AudioFrame::mono(vec![tag; 4].into(), 16_000),
            turn_id,
            t_in: None,
        }
    }

    /// Passes frames on; reports each interruption (with the time) on a side channel.
    struct Recorder {
        interruptions: mpsc::UnboundedSender<(u64, Instant)>,
        /// `process` never completes for frames of this turn.
        hang_on_turn: Option<u64>,
    }

    impl Processor for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }

        async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
            if self.hang_on_turn.is_some() && frame.turn_id() == self.hang_on_turn {
                std::future::pending::<()>().await;
            }
            Ok(ctx.push(frame).await?)
        }

        async fn on_interruption(&mut self, turn_id: u64, _ctx: &mut Ctx) {
            let _ = self.interruptions.send((turn_id, Instant::now()));
        }
    }

    /// A stage wired between a test-held input link and a test-held output inbox.
    fn stage(
        p: impl Processor,
        session: &Arc<SessionContext>,
    ) -> (Link, Inbox, tokio::task::JoinHandle<()>) {
        let (input, _up_in, inbox) = link();
        let (down, _up_out, output) = link();
        let handle = spawn(p, inbox, Ctx::new(session.clone(), down, None));
        (input, output, handle)
    }

    #[tokio::test]
    async fn a_system_frame_overtakes_64_queued_data_frames() {
        let s = session();
        let (tx, _rx) = mpsc::unbounded_channel();
        let (input, mut output, _h) = stage(
            Recorder {
                interruptions: tx,
                hang_on_turn: None,
            },
            &s,
        );
        // Nothing yields until the first read: the stage has not run yet when its inbox holds
        // 64 data frames and then one system frame.
        for i in 0..DATA_CAPACITY as u64 {
            input.send(out_audio(i + 1, i as u8)).await.unwrap();
        }
        input
            .send(Frame::UrgentMessage(serde_json::json!({"n": 1})))
            .await
            .unwrap();
        // The urgent frame is the first thing out, ahead of the queued audio.
        let first = output.recv().await.unwrap().1;
        assert!(
            matches!(first, Frame::UrgentMessage(_)),
            "got {}",
            first.kind()
        );
        let mut audio = 0;
        while audio < DATA_CAPACITY {
            if let Some((_, Frame::OutputAudio { .. })) = output.recv().await {
                audio += 1;
            }
        }
    }

    #[tokio::test]
    async fn an_interruption_reaches_a_stage_blocked_on_a_full_downstream_channel() {
        let s = session();
        let (tx, mut interruptions) = mpsc::unbounded_channel();
        let (input, mut output, _h) = stage(
            Recorder {
                interruptions: tx,
                hang_on_turn: None,
            },
            &s,
        );
        for i in 0..(DATA_CAPACITY as u64 + 10) {
            input.send(out_audio(1, i as u8)).await.unwrap();
        }
        // Let the stage fill its output and block on the 65th push.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(output.has_data());
        let sent = Instant::now();
        input
            .send(Frame::Interruption { turn_id: 1 })
            .await
            .unwrap();
        let (turn, at) = tokio::time::timeout(Duration::from_secs(1), interruptions.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(turn, 1);
        let took = at.duration_since(sent);
        assert!(took < Duration::from_millis(5), "took {took:?}");
        // Everything of turn 1 still queued is discarded on dequeue; turn 2 passes.
        input.send(out_audio(2, 200)).await.unwrap();
        let mut saw_interruption = false;
        loop {
            let (_, f) = output.recv_fresh(&s).await.unwrap();
            match f {
                Frame::Interruption { turn_id: 1 } => saw_interruption = true,
                Frame::OutputAudio { turn_id: 2, .. } => break,
                other => panic!("stale frame after the interruption: {}", other.kind()),
            }
        }
        assert!(saw_interruption);
    }

    #[tokio::test]
    async fn an_interruption_reaches_a_stage_blocked_on_a_never_ending_future() {
        let s = session();
        let (tx, mut interruptions) = mpsc::unbounded_channel();
        let (input, mut output, _h) = stage(
            Recorder {
                interruptions: tx,
                hang_on_turn: Some(1),
            },
            &s,
        );
        input.send(out_audio(1, 1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent = Instant::now();
        input
            .send(Frame::Interruption { turn_id: 1 })
            .await
            .unwrap();
        let (_, at) = interruptions.recv().await.unwrap();
        let took = at.duration_since(sent);
        assert!(took < Duration::from_millis(5), "took {took:?}");
        // The stage is alive again: a later turn flows.
        input.send(out_audio(2, 2)).await.unwrap();
        loop {
            if let (_, Frame::OutputAudio { turn_id: 2, .. }) = output.recv().await.unwrap() {
                break;
            }
        }
    }

    #[tokio::test]
    async fn frames_of_interrupted_turns_are_dropped_on_dequeue() {
        let s = session();
        let (tx, _rx) = mpsc::unbounded_channel();
        let (input, mut output, _h) = stage(
            Recorder {
                interruptions: tx,
                hang_on_turn: None,
            },
            &s,
        );
        // The watermark moves before the frames are dequeued (as a barge-in decides it).
        s.interrupt(3);
        for t in [1, 2, 3, 4, 3, 5] {
            input.send(out_audio(t, t as u8)).await.unwrap();
        }
        input
            .send(Frame::End {
                reason: "done".into(),
            })
            .await
            .unwrap();
        let mut turns = Vec::new();
        while let Some((_, f)) = output.recv().await {
            match f {
                Frame::OutputAudio { turn_id, .. } => turns.push(turn_id),
                Frame::End { .. } => break,
                _ => {}
            }
        }
        assert_eq!(turns, vec![4, 5]);
    }

    struct Panics;

    impl Processor for Panics {
        fn name(&self) -> &'static str {
            "panics"
        }

        async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
            if matches!(frame, Frame::InputAudio { .. }) {
                panic!("boom: secret-value-42");
            }
            Ok(ctx.push(frame).await?)
        }
    }

    #[tokio::test]
    async fn a_panicking_stage_sends_a_fatal_error_and_stops() {
        let s = session();
        let (input, mut output, handle) = stage(Panics, &s);
        input
            .send(Frame::InputAudio {
                audio: AudioFrame::mono(vec![0; 640].into(), 16_000),
                t_in: Instant::now(),
            })
            .await
            .unwrap();
        match output.recv().await.unwrap().1 {
            Frame::Error {
                stage,
                message,
                fatal,
            } => {
                assert_eq!(stage, "panics");
                assert!(fatal);
                assert!(!message.contains("secret-value"), "{message}");
            }
            other => panic!("expected an error, got {}", other.kind()),
        }
        handle.await.unwrap();
        assert!(
            input
                .send(Frame::End {
                    reason: String::new()
                })
                .await
                .is_err()
        );
        // Another session's stage is unaffected.
        let s2 = session();
        let (tx, _rx) = mpsc::unbounded_channel();
        let (input2, mut output2, _h2) = stage(
            Recorder {
                interruptions: tx,
                hang_on_turn: None,
            },
            &s2,
        );
        input2.send(out_audio(1, 1)).await.unwrap();
        assert!(matches!(
            output2.recv().await.unwrap().1,
            Frame::OutputAudio { .. }
        ));
    }
}
