//! The user turn stage (`pipeline.md` §5–7): VAD, silence turn detection, turn recording
//! and the interruption decision, on PCM s16le mono 16 kHz input.
//!
//! Per inbound audio frame it runs the session's [`TurnTracker`] and passes the audio on.
//! A turn start becomes `UserStartedSpeaking`; when the bot is active (a bot turn allocated and
//! neither played out nor interrupted, [`SessionContext::active_turn`]) and interruptions are
//! allowed with the plain VAD strategy, it also interrupts that turn at once: the watermark
//! moves before the `Interruption` frame is sent, so every stage drops the turn's stale frames
//! from then on. A turn end becomes `UserStoppedSpeaking`, followed (with a recorder) by the
//! turn's audio as [`Frame::UserTurnAudio`] for parrot or a batch STT.
//!
//! [`SessionContext::active_turn`]: crate::pipeline::context::SessionContext::active_turn

use std::time::Instant;

use crate::audio::turn::{RecorderParams, TurnError, TurnEvent, TurnTracker};
use crate::config::Config;
use crate::config::schema::InterruptionStrategy;
use crate::pipeline::frame::{AudioFrame, Frame};
use crate::pipeline::processor::{Ctx, Processor, StageResult};

/// VAD + turn detection + barge-in for one session.
#[derive(Debug)]
pub struct UserTurn {
    tracker: TurnTracker,
    events: Vec<TurnEvent>,
    /// Events not yet delivered (kept across a cancelled `process`, so none is lost).
    pending: std::collections::VecDeque<(TurnEvent, Instant)>,
    strategy: InterruptionStrategy,
}

impl UserTurn {
    /// The stage from the config's `vad_*`, `turn_*` and `interruption_strategy` keys;
    /// `recorder` records each turn (parrot, batch STT).
    ///
    /// # Errors
    /// [`TurnError`] for out-of-range parameters (the config validation already refuses them).
    pub fn from_config(
        config: &Config,
        recorder: Option<RecorderParams>,
    ) -> Result<Self, TurnError> {
        Ok(Self {
            tracker: TurnTracker::from_config(config, recorder)?,
            events: Vec::with_capacity(4),
            pending: std::collections::VecDeque::with_capacity(4),
            strategy: config.interruption_strategy,
        })
    }

    /// Send every pending event; an event leaves the queue only once sent (cancel-safe).
    async fn deliver(&mut self, ctx: &mut Ctx) -> StageResult {
        while let Some((event, at)) = self.pending.front().cloned() {
            self.on_event(event, at, ctx).await?;
            self.pending.pop_front();
        }
        Ok(())
    }

    async fn on_event(&mut self, event: TurnEvent, at: Instant, ctx: &mut Ctx) -> StageResult {
        match event {
            TurnEvent::Started { .. } => {
                ctx.push(Frame::UserStartedSpeaking { at }).await?;
                let session = ctx.session().clone();
                // `min_words` needs transcripts: the voice agent's STT stage decides there.
                let vad_barge_in = session.params.allow_interruptions
                    && self.strategy == InterruptionStrategy::None;
                if vad_barge_in
                    && let Some(turn_id) = session.active_turn()
                    && session.interrupt(turn_id)
                {
                    session
                        .metrics
                        .interruptions
                        .with_label_values(&[self.strategy.label()])
                        .inc();
                    tracing::debug!(turn_id, "barge-in: bot turn interrupted");
                    ctx.push(Frame::Interruption { turn_id }).await?;
                }
            }
            TurnEvent::Stopped { recording, .. } => {
                ctx.push(Frame::UserStoppedSpeaking { at }).await?;
                if let Some(rec) = recording {
                    let audio = AudioFrame::mono(rec.pcm, crate::audio::vad::SAMPLE_RATE);
                    ctx.push(Frame::UserTurnAudio { audio }).await?;
                }
            }
        }
        Ok(())
    }
}

impl Processor for UserTurn {
    fn name(&self) -> &'static str {
        "user_turn"
    }

    async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
        let Frame::InputAudio { audio, t_in } = frame else {
            return Ok(ctx.push(frame).await?);
        };
        self.deliver(ctx).await?;
        self.events.clear();
        self.tracker.push_pcm(&audio.pcm, &mut self.events);
        self.pending
            .extend(self.events.drain(..).map(|e| (e, t_in)));
        ctx.push(Frame::InputAudio { audio, t_in }).await?;
        self.deliver(ctx).await
    }

    async fn stop(&mut self, ctx: &mut Ctx) {
        // A turn still open when the input ends is finished (its recording is not lost).
        if let Some(event) = self.tracker.force_end() {
            self.pending.push_back((event, Instant::now()));
        }
        let _ = self.deliver(ctx).await;
    }
}
