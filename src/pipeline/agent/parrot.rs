//! The keyless `parrot` agent (`pipeline.md` §4.2): transport in → user turn (VAD + turn
//! detection) → parrot → transport out. Each user turn's recording ([`Frame::UserTurnAudio`])
//! is played back at real time as a new bot turn; the output stage paces it and emits the bot
//! speaking events. A barge-in (the user turn stage interrupts the active bot turn) cancels the
//! playback task; its queued audio is discarded on dequeue everywhere.

use tokio_util::sync::CancellationToken;

use super::rtvi;
use crate::audio::turn::{RecorderParams, TurnError};
use crate::config::Config;
use crate::pipeline::PipelineBuilder;
use crate::pipeline::frame::{AudioFrame, Frame};
use crate::pipeline::processor::{Ctx, Processor, StageResult};
use crate::pipeline::user_turn::UserTurn;

/// Playback is pushed in chunks of this many milliseconds (the output stage re-chunks to 20).
const PUSH_MS: usize = 100;

/// The parrot chain (input PCM s16le mono 16 kHz).
///
/// # Errors
/// [`TurnError`] for out-of-range VAD or turn keys (refused earlier by config validation).
pub fn pipeline(config: &Config) -> Result<PipelineBuilder, TurnError> {
    Ok(PipelineBuilder::default()
        .then(UserTurn::from_config(
            config,
            Some(RecorderParams::parrot()),
        )?)
        .then(Parrot::default()))
}

/// Plays each recorded user turn back as a bot turn.
#[derive(Debug, Default)]
pub struct Parrot {
    /// The playback in progress: its turn and cancellation token, and the task.
    playing: Option<(u64, CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl Processor for Parrot {
    fn name(&self) -> &'static str {
        "parrot"
    }

    async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
        match frame {
            Frame::UserTurnAudio { audio } => self.play(audio, ctx),
            // The recording is what parrot returns; live audio goes no further.
            Frame::InputAudio { .. } => {}
            Frame::ClientMessage(msg) => {
                for f in rtvi::request_frames(&msg) {
                    if f.is_system() {
                        ctx.push(f).await?;
                    }
                }
            }
            Frame::End { reason } => {
                // Drain: the playback in progress finishes first.
                if let Some((_, _, task)) = self.playing.take() {
                    let _ = task.await;
                }
                ctx.push(Frame::End { reason }).await?;
            }
            f => ctx.push(f).await?,
        }
        Ok(())
    }

    async fn on_interruption(&mut self, turn_id: u64, _ctx: &mut Ctx) {
        if let Some((t, cancel, _)) = &self.playing
            && *t <= turn_id
        {
            cancel.cancel();
            self.playing = None;
        }
    }

    async fn stop(&mut self, _ctx: &mut Ctx) {
        if let Some((_, cancel, _)) = self.playing.take() {
            cancel.cancel();
        }
    }
}

impl Parrot {
    /// Start playing `audio` as a new bot turn, after the playback in progress (if any).
    fn play(&mut self, audio: AudioFrame, ctx: &Ctx) {
        let session = ctx.session().clone();
        let turn_id = session.new_turn();
        let cancel = session.cancel.child_token();
        let link = ctx.downstream();
        let previous = self.playing.take().map(|(_, _, task)| task);
        let token = cancel.clone();
        let task = session.tasks.spawn(async move {
            if let Some(p) = previous {
                let _ = p.await;
            }
            let chunk = (audio.sample_rate as usize * PUSH_MS / 1000) * 2;
            let play = async {
                for part in audio.pcm.chunks(chunk) {
                    let frame = Frame::OutputAudio {
                        audio: AudioFrame::mono(audio.pcm.slice_ref(part), audio.sample_rate),
                        turn_id,
                        t_in: None,
                    };
                    link.send(frame).await?;
                }
                link.send(Frame::TtsStopped { turn_id }).await
            };
            tokio::select! {
                _ = token.cancelled() => {}
                _ = play => {}
            }
        });
        self.playing = Some((turn_id, cancel, task));
    }
}
