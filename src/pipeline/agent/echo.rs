//! The keyless `echo` agent (`pipeline.md` §4.1): every inbound audio frame goes back
//! unchanged (same bytes, rate and size) as bot audio; inbound text and transcriptions go back
//! unchanged too; `client-ready` gets `bot-ready`. No VAD, no speaking events.

use super::rtvi;
use crate::pipeline::frame::Frame;
use crate::pipeline::processor::{Ctx, Processor, StageResult};

/// The echo processor.
#[derive(Debug, Default)]
pub struct Echo;

impl Processor for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
        match frame {
            Frame::InputAudio { audio, t_in } => {
                ctx.push(Frame::OutputAudio {
                    audio,
                    turn_id: 0,
                    t_in: Some(t_in),
                })
                .await?
            }
            Frame::ClientMessage(msg) => {
                for f in rtvi::request_frames(&msg) {
                    match f {
                        Frame::UserText { text, .. } => {
                            ctx.push(Frame::TtsText { turn_id: 0, text }).await?
                        }
                        Frame::InputDtmf { .. } => {}
                        f => ctx.push(f).await?,
                    }
                }
            }
            Frame::UserText { text, .. } => ctx.push(Frame::TtsText { turn_id: 0, text }).await?,
            f => ctx.push(f).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::metrics::Metrics;
    use crate::pipeline::context::{SessionContext, SessionParams};
    use crate::pipeline::{AudioFrame, PipelineBuilder};

    #[tokio::test]
    async fn echo_returns_audio_unchanged_and_in_order() {
        let session = SessionContext::new("t", SessionParams::default(), Metrics::new());
        let mut p = PipelineBuilder::default().then(Echo).start(session);
        // `Start` comes first, then the audio.
        assert!(matches!(
            p.output.recv().await,
            Some((_, Frame::Start { .. }))
        ));
        for i in 0..100u8 {
            let audio = AudioFrame::mono(vec![i; 640].into(), 16000);
            p.input
                .send(Frame::InputAudio {
                    audio,
                    t_in: Instant::now(),
                })
                .await
                .unwrap();
            match p.output.recv().await {
                Some((_, Frame::OutputAudio { audio, .. })) => assert_eq!(audio.pcm[0], i),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
