//! The RTVI data channel (`wire.md` §2.4): the first channel the client opens, its queue until
//! it opens, `trackStatus` signalling and the reader task.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

/// Data-channel messages queued until the channel opens; older ones are dropped first.
const DC_QUEUE: usize = 50;
/// Control messages from the data channel waiting for room in the pipeline; when full, the
/// data channel is not read until one goes.
pub(super) const DC_PENDING: usize = 32;

/// The data channel: the first one the client opened, its state, and what waits for it.
pub(super) struct Channel {
    pub(super) dc: Option<Arc<dyn DataChannel>>,
    pub(super) open: bool,
    pub(super) queue: VecDeque<String>,
}

impl Channel {
    pub(super) async fn send(&mut self, text: String) {
        match &self.dc {
            Some(dc) if self.open => {
                if let Err(e) = dc.send_text(&text).await {
                    tracing::debug!(error = %e, "data channel send failed");
                }
            }
            _ => {
                if self.queue.len() == DC_QUEUE {
                    self.queue.pop_front();
                }
                self.queue.push_back(text);
            }
        }
    }

    pub(super) async fn opened(&mut self) {
        self.open = true;
        while let Some(text) = self.queue.pop_front() {
            self.send(text).await;
        }
    }
}

/// Messages from the data channel reader task.
pub(super) enum DcEvent {
    Open,
    Text(String),
    Closed,
    /// The remote audio track ended (its transport closed): the peer is gone.
    MediaEnded,
}

/// A `trackStatus` signalling message: which of the client's receivers (its transceiver
/// index, i.e. the offer's m-line index) is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TrackStatus {
    /// `receiver_index`; `None` when absent (taken to mean the audio track).
    pub(super) receiver_index: Option<u64>,
    /// `enabled` (`true` when absent).
    pub(super) enabled: bool,
}

impl TrackStatus {
    /// Whether this message is about the audio of m-line `audio_mline`. Pipecat's client sends
    /// one per transceiver (0 = microphone, 1 = camera, 2 = screen) on every data-channel open:
    /// a disabled camera must not mute the microphone.
    pub(super) fn is_for(&self, audio_mline: usize) -> bool {
        self.receiver_index.is_none_or(|i| i == audio_mline as u64)
    }
}

/// `{"type":"signalling","message":{"type":"trackStatus","receiver_index":n,"enabled":bool}}`
/// (`wire.md` §2.4) → `Some(TrackStatus)`; anything else → `None`.
pub(super) fn track_status(text: &str) -> Option<TrackStatus> {
    if !text.contains("trackStatus") {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    (v["type"] == "signalling" && v["message"]["type"] == "trackStatus").then(|| TrackStatus {
        receiver_index: v["message"]["receiver_index"].as_u64(),
        enabled: v["message"]["enabled"].as_bool().unwrap_or(true),
    })
}

/// Forward a data channel's events; `ping…` keep-alives are dropped here.
pub(super) async fn read_channel(dc: Arc<dyn DataChannel>, tx: mpsc::Sender<DcEvent>) {
    if dc
        .ready_state()
        .await
        .is_ok_and(|s| s == webrtc::data_channel::RTCDataChannelState::Open)
    {
        let _ = tx.send(DcEvent::Open).await;
    }
    while let Some(ev) = dc.poll().await {
        let forward = match ev {
            DataChannelEvent::OnOpen => DcEvent::Open,
            DataChannelEvent::OnMessage(msg) => match String::from_utf8(msg.data.to_vec()) {
                Ok(text) if text.starts_with("ping") => continue,
                Ok(text) => DcEvent::Text(text),
                Err(_) => continue,
            },
            DataChannelEvent::OnClose => DcEvent::Closed,
            _ => continue,
        };
        if tx.send(forward).await.is_err() {
            return;
        }
    }
    // The channel is gone without an OnClose event: the peer went away all the same.
    let _ = tx.send(DcEvent::Closed).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_status_of_another_receiver_does_not_touch_the_audio() {
        let msg = |i: Option<u64>, on: bool| {
            let mut m = serde_json::json!({"type": "trackStatus", "enabled": on});
            if let Some(i) = i {
                m["receiver_index"] = i.into();
            }
            serde_json::json!({"type": "signalling", "message": m}).to_string()
        };
        // Pipecat's client on open: mic on, camera off, screen off.
        let mic = track_status(&msg(Some(0), true)).unwrap();
        let cam = track_status(&msg(Some(1), false)).unwrap();
        assert!(mic.is_for(0) && mic.enabled);
        assert!(!cam.is_for(0) && !cam.enabled);
        assert!(track_status(&msg(None, false)).unwrap().is_for(0));
        assert!(track_status(&msg(Some(2), false)).unwrap().is_for(2));
        assert_eq!(track_status(r#"{"type":"client-ready"}"#), None);
    }
}
