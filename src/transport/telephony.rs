//! `/telephony/ws` after the upgrade (`wire.md` §3.2–3.4): the handshake that detects the
//! carrier from the first messages, then the one WebSocket driver
//! ([`super::websocket::run_wire`]) with the carrier's serializer
//! ([`super::serializer::carrier::CarrierSerializer`]) — a carrier is a serializer plus the
//! same drive loop, never a copy of it.
//!
//! - Handshake: at most [`HANDSHAKE_MESSAGES`] messages and [`HANDSHAKE_TIMEOUT`] to see the
//!   carrier's `start` (Twilio's `connected` preamble counts as one), else close 1008
//!   `handshake_timeout`; a `start` of another carrier than `runner_transport` closes 1008
//!   `carrier mismatch`.
//! - The pipeline runs at [`PIPELINE_RATE`] (16 kHz): carrier audio (8 kHz G.711, or Exotel
//!   PCM) is resampled up on the way in and back to the call's rate on the way out, in 20 ms
//!   messages.
//! - `stop` or socket loss ends the session at once; when voxray ends the call itself (agent
//!   `End`, max duration, fatal error, shutdown) the driver plays what is queued (at most 2 s)
//!   and then calls [`PhoneCall::hang_up`].

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use tokio::time::timeout;

use super::serializer::WireFormat;
use super::serializer::carrier::CarrierSerializer;
use super::websocket::{Wire, WsParams, run_wire};
use crate::metrics::Metrics;
use crate::pipeline::agent::{Agent, AgentError};
use crate::session::Slot;
use crate::telephony::Carrier;
use crate::telephony::hangup::{CallRef, HangupClient, HangupError, HangupOutcome};
use crate::telephony::start::{CallStart, Detected, detect};

/// The handshake must show the carrier's `start` within this time (`wire.md` §3.2).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// … and within this many messages.
pub const HANDSHAKE_MESSAGES: usize = 2;
/// The rate the call's pipeline runs at, Hz (the VAD's rate; echo too, so a call always
/// pays decode + resample + encode).
pub const PIPELINE_RATE: u32 = 16_000;

/// The phone call a session carries: what the driver needs to end it through the carrier.
#[derive(Debug)]
pub struct PhoneCall {
    call: CallRef,
    hangup: Option<HangupClient>,
}

impl PhoneCall {
    /// The call of `start`; `hangup` is `None` when no REST client could be built (the
    /// hang-up is then skipped with a WARN).
    pub fn new(start: &CallStart, hangup: Option<HangupClient>) -> Self {
        Self {
            call: start.call_ref(),
            hangup,
        }
    }

    /// The carrier.
    pub fn carrier(&self) -> Carrier {
        self.call.carrier()
    }

    /// Whether the carrier confirms playout with marks (Twilio): then `bot-stopped-speaking`
    /// waits for the echo of the mark sent after a turn's last audio.
    pub fn confirms_playout(&self) -> bool {
        self.carrier() == Carrier::Twilio
    }

    /// End the call through the carrier's REST API (`wire.md` §3.4): one request, 5 s per
    /// attempt, one retry on 5xx or network error (so at most about 10 s). "Already ended"
    /// answers are not errors; failures and missing credentials are logged (WARN), never
    /// returned: the session ends either way.
    pub async fn hang_up(&self, session: &str) {
        let carrier = self.carrier().name();
        let Some(client) = &self.hangup else {
            tracing::warn!(session, carrier, "call not hung up: no REST client");
            return;
        };
        match client.hang_up(&self.call).await {
            Ok(HangupOutcome::Ended) => tracing::info!(session, carrier, "call hung up"),
            Ok(HangupOutcome::AlreadyEnded) => {
                tracing::info!(session, carrier, "call was already over");
            }
            Ok(HangupOutcome::NoRestCall) => {
                tracing::debug!(
                    session,
                    carrier,
                    "carrier has no hang-up API; socket closed"
                );
            }
            Err(e @ HangupError::MissingCredentials { .. }) => {
                tracing::warn!(session, carrier, error = %e, "call not hung up");
            }
            Err(e) => tracing::warn!(session, carrier, error = %e, "call hang-up failed"),
        }
    }
}

/// Per-call settings from the configuration.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// The configured carrier (`runner_transport`).
    pub carrier: Carrier,
    /// `ws_idle_timeout_secs` (0 = off).
    pub idle_timeout: Option<Duration>,
    /// `rtc_max_duration_secs` (0 = off), from the first inbound audio.
    pub max_duration: Option<Duration>,
    /// The REST client that hangs calls up (`None`: it could not be built).
    pub hangup: Option<HangupClient>,
}

/// How the handshake ended.
#[derive(Debug)]
enum Handshake {
    Start(Box<CallStart>),
    Close(u16, &'static str),
    Gone,
}

/// Read the first messages until the carrier's `start` (see the module documentation).
async fn handshake(socket: &mut WebSocket) -> Handshake {
    let read = async {
        let mut seen = 0;
        while seen < HANDSHAKE_MESSAGES {
            match socket.recv().await {
                None | Some(Err(_) | Ok(Message::Close(_))) => return Handshake::Gone,
                Some(Ok(Message::Text(text))) => {
                    seen += 1;
                    match detect(text.as_str()) {
                        Detected::Start(start) => return Handshake::Start(Box::new(start)),
                        Detected::Skip | Detected::Unknown => {}
                    }
                }
                Some(Ok(Message::Binary(_))) => seen += 1,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            }
        }
        Handshake::Close(1008, "handshake_timeout")
    };
    timeout(HANDSHAKE_TIMEOUT, read)
        .await
        .unwrap_or(Handshake::Close(1008, "handshake_timeout"))
}

/// Close `socket` with `code` and `reason`, waiting briefly for the peer's close.
async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    crate::transport::websocket::close_with(&mut socket, code, reason).await;
}

/// Run one call: handshake, then the shared driver with the carrier's serializer until the
/// call ends. `build` makes the agent for a call whose wire rate is the given Hz. `slot` is
/// the admission slot the call holds.
pub async fn run(
    mut socket: WebSocket,
    settings: CallSettings,
    metrics: Metrics,
    close_signal: tokio::sync::watch::Receiver<bool>,
    slot: Slot,
    build: impl FnOnce(u32) -> Result<Agent, AgentError>,
) {
    let start = match handshake(&mut socket).await {
        Handshake::Start(s) => s,
        Handshake::Gone => {
            tracing::info!("telephony socket closed before the start message");
            return;
        }
        Handshake::Close(code, reason) => {
            tracing::warn!(code, reason, "telephony handshake failed: no start message");
            close(socket, code, reason).await;
            return;
        }
    };
    if start.carrier != settings.carrier {
        tracing::warn!(
            detected = start.carrier.name(),
            configured = settings.carrier.name(),
            "telephony start message of another carrier"
        );
        close(socket, 1008, "carrier mismatch").await;
        return;
    }
    let serializer = CarrierSerializer::new(&start);
    let wire_rate = serializer.wire_rate();
    let agent = match build(wire_rate) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "telephony call could not build its pipeline");
            close(socket, 1011, "internal error").await;
            return;
        }
    };
    tracing::info!(
        carrier = start.carrier.name(),
        call = %start.call_id,
        stream = %start.stream_id,
        wire_rate,
        "telephony call started"
    );
    let params = WsParams {
        // Not used: the carrier serializer is the wire format.
        format: WireFormat::Raw,
        sample_rate: wire_rate,
        out_sample_rate: Some(wire_rate),
        idle_timeout: settings.idle_timeout,
        max_duration: settings.max_duration,
    };
    let wire = Wire {
        transport: "telephony",
        serializer: Box::new(serializer),
        call: Some(PhoneCall::new(&start, settings.hangup)),
    };
    run_wire(socket, params, metrics, close_signal, slot, agent, wire).await;
}
