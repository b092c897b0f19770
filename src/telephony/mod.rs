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
//! - [`start`]: carrier detection from the media stream's `start` message (pure parser for
//!   the later `/telephony/ws` driver).
//! - [`http`]: the outbound HTTP client (reqwest on rustls with ring) these REST calls share.
//!
//! The G.711 codecs live in [`crate::audio::codec::g711`].

pub mod daily;
pub mod hangup;
pub mod http;
pub mod public;
pub mod signature;
pub mod start;
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

/// Start-up warnings for the telephony and dial-in settings (`wire.md` §3.1, §3.4;
/// `http.md` §10–11): unsigned carrier routes, missing hang-up credentials, an open dial-in
/// webhook. Never contains a secret value.
pub fn startup_warnings(
    config: &crate::config::Config,
    secrets: &crate::config::Secrets,
) -> Vec<String> {
    let mut out = Vec::new();
    match Carrier::from_runner_transport(&config.runner_transport) {
        Some(Carrier::Twilio) => {
            if secrets.twilio_auth_token.is_none() {
                out.push(
                    "runner_transport \"twilio\" without twilio_auth_token: X-Twilio-Signature is not \
                     checked, so anyone who reaches POST / can get a stream URL; set TWILIO_AUTH_TOKEN"
                        .to_string(),
                );
            }
            if config.twilio_account_sid.is_empty() || secrets.twilio_auth_token.is_none() {
                out.push("twilio_account_sid/twilio_auth_token unset: voxray cannot hang up Twilio calls through the REST API".to_string());
            }
        }
        Some(c) => {
            out.push(format!(
                "runner_transport {:?}: {} requests carry no signature voxray checks; restrict POST / \
                 and /telephony/ws to the carrier's IP ranges at the firewall or proxy",
                c.name(),
                c.name()
            ));
            let missing = match c {
                Carrier::Telnyx => secrets.telnyx_api_key.is_none().then_some("telnyx_api_key"),
                Carrier::Plivo => (config.plivo_auth_id.is_empty()
                    || secrets.plivo_auth_token.is_none())
                .then_some("plivo_auth_id/plivo_auth_token"),
                _ => None,
            };
            if let Some(keys) = missing {
                out.push(format!(
                    "{keys} unset: voxray cannot hang up {} calls through the REST API",
                    c.name()
                ));
            }
        }
        None => {}
    }
    if config.dialin && secrets.daily_dialin_webhook_secret.is_none() {
        out.push(
            "dialin without daily_dialin_webhook_secret: /daily-dialin-webhook accepts requests \
             from anyone; set VOXRAY_DAILY_DIALIN_WEBHOOK_SECRET to the secret configured in Daily"
                .to_string(),
        );
    }
    out
}
