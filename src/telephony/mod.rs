//! Phone calls (`wire.md` §3, `http.md` §10–11): the parts that do not depend on the media
//! pipeline.
//!
//! - [`Carrier`]: the four media-stream carriers of `runner_transport`.
//! - [`public`]: the public URL of a request (`proxy_host` or `Host`, TLS or
//!   `X-Forwarded-Proto`), used by the webhook answers and the Twilio signature.
//! - [`webhook`]: the `POST /` answers (TwiML, Telnyx and Plivo XML, Exotel's JSON note).
//! - [`signature`]: `X-Twilio-Signature` (HMAC-SHA1), a pure function for `POST /` and the
//!   `/telephony/ws` upgrade.
//! - [`hangup`]: ending a call through the carrier's REST API.
//! - [`daily`]: the Daily dial-in webhook's request validation and the Daily REST client.
//! - [`http`]: the outbound HTTP client (reqwest on rustls with ring) these REST calls share.
//!
//! The G.711 codecs live in [`crate::audio::codec::g711`].

pub mod daily;
pub mod hangup;
pub mod http;
pub mod public;
pub mod signature;
pub mod webhook;

/// A carrier that streams call audio over `/telephony/ws` (`runner_transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// Twilio Media Streams (μ-law 8 kHz, signed requests).
    Twilio,
    /// Telnyx media streaming (PCMU or PCMA 8 kHz).
    Telnyx,
    /// Plivo audio streams (μ-law 8 kHz).
    Plivo,
    /// Exotel Voicebot (PCM s16le, 8 kHz by default).
    Exotel,
}

impl Carrier {
    /// The carrier named by `runner_transport`; `None` for `""`, `daily` and anything else.
    pub fn from_runner_transport(value: &str) -> Option<Self> {
        match value {
            "twilio" => Some(Self::Twilio),
            "telnyx" => Some(Self::Telnyx),
            "plivo" => Some(Self::Plivo),
            "exotel" => Some(Self::Exotel),
            _ => None,
        }
    }

    /// The `runner_transport` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Telnyx => "telnyx",
            Self::Plivo => "plivo",
            Self::Exotel => "exotel",
        }
    }
}
