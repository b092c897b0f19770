//! The keyless `echo` agent (`pipeline.md` §4.1): every inbound audio frame goes back
//! unchanged (same bytes, rate and size) as bot audio; inbound text and transcriptions go back
//! unchanged too; `client-ready` gets `bot-ready`.

use super::rtvi;
use crate::pipeline::frame::Frame;
use crate::pipeline::processor::{Link, ProcessFuture, Processor};

/// The echo processor.
#[derive(Debug, Default)]
pub struct Echo;

impl Processor for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn process<'a>(&'a mut self, frame: Frame, out: &'a Link) -> ProcessFuture<'a> {
        Box::pin(async move {
            let reply = match frame {
                Frame::InputAudio { audio, t_in } => Frame::OutputAudio {
                    audio,
                    turn_id: 0,
                    t_in: Some(t_in),
                },
                Frame::ClientMessage(msg) => match msg["type"].as_str().unwrap_or("") {
                    "client-ready" => Frame::UrgentMessage(rtvi::bot_ready(&msg)),
                    "send-text" => match msg["data"]["content"].as_str() {
                        Some(text) => Frame::Text(text.to_string()),
                        None => Frame::UrgentMessage(rtvi::error_response(
                            &msg,
                            "send-text needs data.content",
                        )),
                    },
                    "dtmf" => return true,
                    other => Frame::UrgentMessage(rtvi::error_response(
                        &msg,
                        &format!(
                            "unsupported message type: {}",
                            other.chars().take(64).collect::<String>()
                        ),
                    )),
                },
                Frame::End { reason } => {
                    out.send(Frame::End { reason }).await;
                    return false;
                }
                Frame::Cancel { .. } => return false,
                other @ (Frame::Text(_)
                | Frame::Transcription { .. }
                | Frame::Interruption { .. }) => other,
                Frame::OutputAudio { .. } | Frame::OutMessage(_) | Frame::UrgentMessage(_) => {
                    return true;
                }
            };
            out.send(reply).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::pipeline::{AudioFrame, PipelineBuilder};

    #[tokio::test]
    async fn echo_returns_audio_unchanged_and_in_order() {
        let mut p = PipelineBuilder::default().then(Echo).start();
        for i in 0..100u8 {
            let audio = AudioFrame {
                pcm: vec![i; 640].into(),
                sample_rate: 16000,
                num_channels: 1,
            };
            assert!(
                p.input
                    .send(Frame::InputAudio {
                        audio,
                        t_in: Instant::now()
                    })
                    .await
            );
            match p.output.recv().await {
                Some(Frame::OutputAudio { audio, .. }) => assert_eq!(audio.pcm[0], i),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
