//! Carrier detection from the media stream's first messages (`wire.md` §3.2), as a pure
//! parser: the `/telephony/ws` driver (with its 2-message / 5 s handshake limit) feeds it
//! each text message until it returns [`Detected::Start`].
//!
//! | Carrier | Rule on a message (first match wins) |
//! |---|---|
//! | Twilio | `event=="start"` and `start.streamSid` and `start.callSid` exist |
//! | Telnyx | top-level `stream_id` and `start.call_control_id` exist |
//! | Plivo | `start.streamId` and `start.callId` exist |
//! | Exotel | `event=="start"` and `start.stream_sid`, `start.call_sid`, `start.account_sid` exist |
//!
//! A Twilio `connected` message is [`Detected::Skip`]. What a call keeps is in [`CallStart`].

use serde_json::{Map, Value};

use super::Carrier;
use super::hangup::CallRef;
use crate::audio::codec::g711::Law;

/// The media encoding the carrier streams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// G.711 at 8 kHz with this law.
    G711(Law),
    /// PCM s16le mono at this rate in Hz (Exotel).
    Pcm(u32),
}

/// A call's `start` message, reduced to what the session keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStart {
    /// The detected carrier.
    pub carrier: Carrier,
    /// Stream id (`streamSid` / `stream_id` / `streamId` / `stream_sid`).
    pub stream_id: String,
    /// Call id (`callSid` / `call_control_id` / `callId` / `call_sid`).
    pub call_id: String,
    /// Caller number when the carrier gives one (Twilio: `customParameters.from_number`).
    pub from: Option<String>,
    /// Dialled number when the carrier gives one (Twilio: `customParameters.to_number`).
    pub to: Option<String>,
    /// Twilio `customParameters` / Exotel `custom_parameters` (empty otherwise).
    pub custom_parameters: Map<String, Value>,
    /// Inbound and outbound encoding: μ-law for Twilio and Plivo, Telnyx per
    /// `media_format.encoding` (PCMU default, PCMA), Exotel PCM at `media_format.sample_rate`
    /// (8000 default).
    pub encoding: Encoding,
}

impl CallStart {
    /// The reference [`super::hangup::HangupClient::hang_up`] needs.
    pub fn call_ref(&self) -> CallRef {
        let call_id = self.call_id.clone();
        match self.carrier {
            Carrier::Twilio => CallRef::Twilio { call_sid: call_id },
            Carrier::Telnyx => CallRef::Telnyx {
                call_control_id: call_id,
            },
            Carrier::Plivo => CallRef::Plivo { call_id },
            Carrier::Exotel => CallRef::Exotel { call_sid: call_id },
        }
    }
}

/// The outcome of one handshake message.
#[derive(Debug, Clone, PartialEq)]
pub enum Detected {
    /// A carrier's start message.
    Start(CallStart),
    /// Twilio's `connected` preamble: read the next message.
    Skip,
    /// Not JSON, or no rule matched.
    Unknown,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn object(v: &Value, key: &str) -> Map<String, Value> {
    v.get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Apply the detection rules to one text message.
pub fn detect(message: &str) -> Detected {
    let Ok(msg) = serde_json::from_str::<Value>(message) else {
        return Detected::Unknown;
    };
    let event = text(&msg, "event");
    let start = msg.get("start").cloned().unwrap_or(Value::Null);
    let owned = |s: Option<&str>| s.map(str::to_string);

    if event == Some("start")
        && let (Some(stream), Some(call)) = (text(&start, "streamSid"), text(&start, "callSid"))
    {
        let custom = object(&start, "customParameters");
        let param = |k: &str| custom.get(k).and_then(Value::as_str).map(str::to_string);
        return Detected::Start(CallStart {
            carrier: Carrier::Twilio,
            stream_id: stream.into(),
            call_id: call.into(),
            from: param("from_number"),
            to: param("to_number"),
            encoding: Encoding::G711(Law::Mulaw),
            custom_parameters: custom,
        });
    }
    if let (Some(stream), Some(call)) = (text(&msg, "stream_id"), text(&start, "call_control_id")) {
        let encoding = start
            .get("media_format")
            .and_then(|f| text(f, "encoding"))
            .and_then(Law::from_name)
            .unwrap_or(Law::Mulaw);
        return Detected::Start(CallStart {
            carrier: Carrier::Telnyx,
            stream_id: stream.into(),
            call_id: call.into(),
            from: owned(text(&start, "from")),
            to: owned(text(&start, "to")),
            custom_parameters: Map::new(),
            encoding: Encoding::G711(encoding),
        });
    }
    if let (Some(stream), Some(call)) = (text(&start, "streamId"), text(&start, "callId")) {
        return Detected::Start(CallStart {
            carrier: Carrier::Plivo,
            stream_id: stream.into(),
            call_id: call.into(),
            from: None,
            to: None,
            custom_parameters: Map::new(),
            encoding: Encoding::G711(Law::Mulaw),
        });
    }
    if event == Some("start")
        && let (Some(stream), Some(call), Some(_)) = (
            text(&start, "stream_sid"),
            text(&start, "call_sid"),
            text(&start, "account_sid"),
        )
    {
        // `sample_rate` arrives as a number or a numeric string; 8000 otherwise.
        let rate = start
            .get("media_format")
            .and_then(|f| f.get("sample_rate"))
            .and_then(|r| {
                r.as_u64()
                    .or_else(|| r.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .and_then(|r| u32::try_from(r).ok())
            .filter(|r| (8_000..=48_000).contains(r))
            .unwrap_or(8_000);
        return Detected::Start(CallStart {
            carrier: Carrier::Exotel,
            stream_id: stream.into(),
            call_id: call.into(),
            from: owned(text(&start, "from")),
            to: owned(text(&start, "to")),
            custom_parameters: object(&start, "custom_parameters"),
            encoding: Encoding::Pcm(rate),
        });
    }
    if event == Some("connected") {
        return Detected::Skip;
    }
    Detected::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Start messages in the shapes of the carriers' media-stream references.
    const TWILIO_CONNECTED: &str = r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#;
    const TWILIO_START: &str = r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC0123456789abcdef0123456789abcdef","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","callSid":"CA0123456789abcdef0123456789abcdef","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"from_number":"+15550100","to_number":"+15550101"}},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"}"#;
    const TELNYX_START: &str = r#"{"event":"start","sequence_number":"1","start":{"user_id":"3e6f995f-85f7-4705-9741-53b116d28237","call_control_id":"v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg","call_session_id":"1f1a3b2c-0d0e-11ef-9b7c-02420a0d4166","from":"+15550100","to":"+15550101","media_format":{"encoding":"PCMA","sample_rate":8000,"channels":1}},"stream_id":"32de0dea-53cb-4b21-89a4-9e1819c043bc"}"#;
    const PLIVO_START: &str = r#"{"event":"start","sequenceNumber":0,"start":{"callId":"8a6f2b1e-0d0e-4e55-9c2d-3d4f0a1b2c3d","streamId":"b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","accountId":"MAPLIVOID1234567890","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}},"extra_headers":"{}"}"#;
    const EXOTEL_START: &str = r#"{"event":"start","sequence_number":1,"stream_sid":"ae2c9e9f3b0d4c5e8f7a","start":{"stream_sid":"ae2c9e9f3b0d4c5e8f7a","call_sid":"b6c1e2a3d4f5","account_sid":"exotel-acct","from":"09876543210","to":"08012345678","custom_parameters":{"lang":"hi"},"media_format":{"encoding":"base64","sample_rate":"16000","bit_rate":"256kbps"}}}"#;

    #[test]
    fn each_carrier_start_is_detected() {
        assert_eq!(detect(TWILIO_CONNECTED), Detected::Skip);
        let Detected::Start(t) = detect(TWILIO_START) else {
            panic!("twilio")
        };
        assert_eq!(t.carrier, Carrier::Twilio);
        assert_eq!(t.stream_id, "MZ18ad3ab5a668481ce02b83e7395059f0");
        assert_eq!(t.from.as_deref(), Some("+15550100"));
        assert_eq!(t.to.as_deref(), Some("+15550101"));
        assert_eq!(t.encoding, Encoding::G711(Law::Mulaw));
        assert_eq!(
            t.call_ref(),
            CallRef::Twilio {
                call_sid: "CA0123456789abcdef0123456789abcdef".into()
            }
        );

        let Detected::Start(x) = detect(TELNYX_START) else {
            panic!("telnyx")
        };
        assert_eq!(x.carrier, Carrier::Telnyx);
        assert_eq!(x.stream_id, "32de0dea-53cb-4b21-89a4-9e1819c043bc");
        assert_eq!(x.encoding, Encoding::G711(Law::Alaw));
        assert_eq!(x.from.as_deref(), Some("+15550100"));
        assert!(
            matches!(x.call_ref(), CallRef::Telnyx { call_control_id } if call_control_id.starts_with("v3:"))
        );
        let pcmu = TELNYX_START.replace("PCMA", "PCMU");
        let Detected::Start(x) = detect(&pcmu) else {
            panic!("telnyx")
        };
        assert_eq!(x.encoding, Encoding::G711(Law::Mulaw));

        let Detected::Start(p) = detect(PLIVO_START) else {
            panic!("plivo")
        };
        assert_eq!(p.carrier, Carrier::Plivo);
        assert_eq!(p.call_id, "8a6f2b1e-0d0e-4e55-9c2d-3d4f0a1b2c3d");
        assert_eq!(p.stream_id, "b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e");

        let Detected::Start(e) = detect(EXOTEL_START) else {
            panic!("exotel")
        };
        assert_eq!(e.carrier, Carrier::Exotel);
        assert_eq!(e.encoding, Encoding::Pcm(16_000));
        assert_eq!(e.custom_parameters["lang"], "hi");
        assert_eq!(
            e.call_ref(),
            CallRef::Exotel {
                call_sid: "b6c1e2a3d4f5".into()
            }
        );
    }

    #[test]
    fn media_or_garbage_is_not_a_start() {
        for m in [
            r#"{"event":"media","media":{"payload":"//8="}}"#,
            r#"{"event":"start","start":{"streamSid":"MZ1"}}"#,
            r#"{"event":"start","start":{"stream_sid":"s","call_sid":"c"}}"#,
            "not json",
            "[]",
        ] {
            assert_eq!(detect(m), Detected::Unknown, "{m}");
        }
    }
}
