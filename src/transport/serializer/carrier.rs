//! Carrier media-stream serializers (`wire.md` §3.3): Twilio, Telnyx, Plivo and Exotel.
//!
//! One [`CarrierSerializer`] per call, built from the detected start message
//! ([`crate::telephony::start::CallStart`]). Inbound `media` payloads (base64 G.711 μ-law /
//! A-law at 8 kHz, or Exotel PCM s16le) become [`Inbound::Audio`] PCM s16le at the carrier's
//! rate (8 kHz); the driver's `AudioIn` resamples to the pipeline rate (one place). `dtmf`
//! becomes [`Inbound::Dtmf`], `stop` [`Inbound::Stop`], a Twilio `mark` echo [`Inbound::Mark`].
//!
//! Outbound, the shared output stage hands over 20 ms chunks already at the wire rate; each
//! becomes one carrier media message of 160 bytes of G.711. Exotel wants PCM payloads of at
//! least 100 ms in multiples of 320 bytes (`wire.md` §3.3): its chunks are gathered into
//! 100 ms messages, and the rest of a bot turn is padded with silence and sent when the turn
//! ends (`BotStoppedSpeaking`); an interruption discards what was gathered.
//! [`Frame::Interruption`] becomes the carrier's clear message; for Twilio, the end of a bot
//! turn ([`Frame::TtsStopped`]) becomes a `mark` named `turn-<id>`. RTVI events are never sent
//! to carriers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::{DecodeError, Inbound, Outgoing, Serializer, WireMessage};
use crate::audio::codec::g711::Law;
use crate::pipeline::frame::Frame;
use crate::telephony::Carrier;
use crate::telephony::start::{CallStart, Encoding};

/// The G.711 rate of every carrier except Exotel's configured PCM rate, Hz.
pub const CARRIER_RATE: u32 = 8_000;

/// A carrier's per-call serializer (`wire.md` §3.3).
#[derive(Debug)]
pub struct CarrierSerializer {
    carrier: Carrier,
    stream_id: String,
    encoding: Encoding,
    /// Reused payload buffer (decoded base64 / encoded G.711), bytes.
    scratch: Vec<u8>,
    /// Reused PCM buffer, s16le bytes; for Exotel, the outbound audio gathered so far.
    pcm: Vec<u8>,
}

/// Exotel outbound messages carry a multiple of this many bytes (`wire.md` §3.3).
pub const EXOTEL_BLOCK_BYTES: usize = 320;

/// The smallest Exotel outbound payload at `rate` Hz: 100 ms of PCM s16le, rounded up to a
/// multiple of [`EXOTEL_BLOCK_BYTES`].
pub fn exotel_min_bytes(rate: u32) -> usize {
    let bytes = rate as usize / 10 * 2;
    bytes.div_ceil(EXOTEL_BLOCK_BYTES) * EXOTEL_BLOCK_BYTES
}

impl CarrierSerializer {
    /// The serializer for one call.
    pub fn new(start: &CallStart) -> Self {
        Self {
            carrier: start.carrier,
            stream_id: start.stream_id.clone(),
            encoding: start.encoding,
            scratch: Vec::with_capacity(320),
            pcm: Vec::with_capacity(640),
        }
    }

    /// The wire rate of this call's audio, Hz (8000, or Exotel's `media_format.sample_rate`).
    pub fn wire_rate(&self) -> u32 {
        match self.encoding {
            Encoding::G711(_) => CARRIER_RATE,
            Encoding::Pcm(rate) => rate,
        }
    }

    /// The carrier.
    pub fn carrier(&self) -> Carrier {
        self.carrier
    }

    fn media(&self, payload: &str) -> Value {
        match self.carrier {
            Carrier::Twilio => {
                json!({"event": "media", "streamSid": self.stream_id, "media": {"payload": payload}})
            }
            Carrier::Telnyx => json!({"event": "media", "media": {"payload": payload}}),
            Carrier::Plivo => json!({
                "event": "playAudio",
                "media": {"contentType": "audio/x-mulaw", "sampleRate": CARRIER_RATE, "payload": payload},
                "streamId": self.stream_id,
            }),
            Carrier::Exotel => {
                json!({"event": "media", "stream_sid": self.stream_id, "media": {"payload": payload}})
            }
        }
    }

    fn clear(&self) -> Value {
        match self.carrier {
            Carrier::Twilio => json!({"event": "clear", "streamSid": self.stream_id}),
            Carrier::Telnyx => json!({"event": "clear"}),
            Carrier::Plivo => json!({"event": "clearAudio", "streamId": self.stream_id}),
            Carrier::Exotel => json!({"event": "clear", "stream_sid": self.stream_id}),
        }
    }
}

impl CarrierSerializer {
    /// Base64 of the whole 320-byte blocks gathered for Exotel; the odd rest stays.
    fn take_exotel_payload(&mut self) -> String {
        let whole = self.pcm.len() / EXOTEL_BLOCK_BYTES * EXOTEL_BLOCK_BYTES;
        let payload = B64.encode(&self.pcm[..whole]);
        self.pcm.drain(..whole);
        payload
    }
}

/// A DTMF digit the pipeline accepts (`0`–`9`, `*`, `#`, `A`–`D`).
fn dtmf_digit(v: &Value) -> Option<char> {
    let s = v["dtmf"]["digit"].as_str()?;
    let mut chars = s.chars();
    let c = chars.next()?.to_ascii_uppercase();
    (chars.next().is_none() && (c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')))
        .then_some(c)
}

impl Serializer for CarrierSerializer {
    fn decode(&mut self, msg: WireMessage<'_>, out: &mut Vec<Inbound>) -> Result<(), DecodeError> {
        let WireMessage::Text(text) = msg else {
            out.push(Inbound::Ignored);
            return Ok(());
        };
        let value: Value =
            serde_json::from_str(text).map_err(|_| DecodeError::Malformed("JSON"))?;
        match value["event"].as_str() {
            Some("media") => {
                // Only the caller's track: Twilio/Telnyx may label it (`inbound`).
                if let Some(track) = value["media"]["track"].as_str()
                    && !matches!(track, "inbound" | "inbound_track")
                {
                    out.push(Inbound::Ignored);
                    return Ok(());
                }
                let payload = value["media"]["payload"]
                    .as_str()
                    .ok_or(DecodeError::Malformed("media"))?;
                self.scratch.clear();
                B64.decode_vec(payload, &mut self.scratch)
                    .map_err(|_| DecodeError::Malformed("base64"))?;
                let pcm = match self.encoding {
                    Encoding::G711(law) => {
                        self.pcm.clear();
                        law.decode_to_pcm_bytes(&self.scratch, &mut self.pcm);
                        bytes::Bytes::copy_from_slice(&self.pcm)
                    }
                    Encoding::Pcm(_) => {
                        let even = self.scratch.len() & !1;
                        bytes::Bytes::copy_from_slice(&self.scratch[..even])
                    }
                };
                out.push(Inbound::Audio {
                    pcm,
                    sample_rate: self.wire_rate(),
                    num_channels: 1,
                });
            }
            Some("dtmf") => out.push(dtmf_digit(&value).map_or(Inbound::Ignored, Inbound::Dtmf)),
            Some("stop") => out.push(Inbound::Stop),
            Some("mark") => match value["mark"]["name"].as_str() {
                Some(name) => out.push(Inbound::Mark(name.to_owned())),
                None => out.push(Inbound::Ignored),
            },
            // `connected`, a repeated `start`, and anything else carry nothing for the pipeline.
            _ => {}
        }
        Ok(())
    }

    fn encode(&mut self, frame: &Frame) -> Option<Outgoing> {
        match frame {
            Frame::OutputAudio { audio, .. } => {
                let payload = match self.encoding {
                    Encoding::G711(law) => {
                        self.scratch.clear();
                        law.encode_pcm_bytes(&audio.pcm, &mut self.scratch);
                        B64.encode(&self.scratch)
                    }
                    Encoding::Pcm(rate) => {
                        self.pcm.extend_from_slice(&audio.pcm);
                        if self.pcm.len() < exotel_min_bytes(rate) {
                            return None;
                        }
                        self.take_exotel_payload()
                    }
                };
                Some(Outgoing::Text(self.media(&payload).to_string()))
            }
            Frame::BotStoppedSpeaking { .. }
                if matches!(self.encoding, Encoding::Pcm(_)) && !self.pcm.is_empty() =>
            {
                let Encoding::Pcm(rate) = self.encoding else {
                    return None;
                };
                let len = self.pcm.len().max(exotel_min_bytes(rate));
                self.pcm
                    .resize(len.div_ceil(EXOTEL_BLOCK_BYTES) * EXOTEL_BLOCK_BYTES, 0);
                let payload = self.take_exotel_payload();
                Some(Outgoing::Text(self.media(&payload).to_string()))
            }
            Frame::Interruption { .. } => {
                self.pcm.clear();
                Some(Outgoing::Text(self.clear().to_string()))
            }
            Frame::TtsStopped { turn_id } if self.carrier == Carrier::Twilio => Some(
                Outgoing::Text(
                    json!({"event": "mark", "streamSid": self.stream_id, "mark": {"name": mark_name(*turn_id)}})
                        .to_string(),
                ),
            ),
            _ => None,
        }
    }
}

/// The name of the Twilio `mark` sent after the last audio of bot turn `turn_id`.
pub fn mark_name(turn_id: u64) -> String {
    format!("turn-{turn_id}")
}

/// The bot turn a Twilio `mark` echo names (`turn-<id>`, as [`mark_name`] made it); `None`
/// for any other name.
pub fn mark_turn(name: &str) -> Option<u64> {
    name.strip_prefix("turn-")?.parse().ok()
}

/// The law of a G.711 call, `None` for PCM (Exotel).
pub fn law(start: &CallStart) -> Option<Law> {
    match start.encoding {
        Encoding::G711(l) => Some(l),
        Encoding::Pcm(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::start::{Detected, detect};

    fn start(msg: &str) -> CallStart {
        match detect(msg) {
            Detected::Start(s) => s,
            other => panic!("not a start: {other:?}"),
        }
    }

    const TWILIO: &str = r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{}},"streamSid":"MZ1"}"#;
    const TELNYX_A: &str = r#"{"event":"start","sequence_number":"1","start":{"user_id":"u","call_control_id":"v3:cc","client_state":null,"media_format":{"encoding":"PCMA","sample_rate":8000,"channels":1}},"stream_id":"st1"}"#;
    const PLIVO: &str = r#"{"event":"start","sequenceNumber":1,"start":{"callId":"c1","streamId":"s1","accountId":"a","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}}}"#;
    const EXOTEL: &str = r#"{"event":"start","sequence_number":1,"stream_sid":"x1","start":{"stream_sid":"x1","call_sid":"xc","account_sid":"xa","from":"1","to":"2","media_format":{"encoding":"base64","sample_rate":"8000"}}}"#;

    fn media(b64: &str) -> String {
        json!({"event":"media","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":b64}})
            .to_string()
    }

    #[test]
    fn media_round_trips_in_each_carriers_shape() {
        let samples: Vec<i16> = (0..160)
            .map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16)
            .collect();
        let audio = super::super::audio_frame(&samples, 8_000);
        for (msg, event, id_key) in [
            (TWILIO, "media", Some("streamSid")),
            (TELNYX_A, "media", None),
            (PLIVO, "playAudio", Some("streamId")),
            (EXOTEL, "media", Some("stream_sid")),
        ] {
            let st = start(msg);
            let mut s = CarrierSerializer::new(&st);
            let exotel = st.carrier == Carrier::Exotel;
            // Exotel gathers five 20 ms chunks into one 100 ms message.
            for _ in 0..if exotel { 4 } else { 0 } {
                let frame = Frame::OutputAudio {
                    audio: audio.clone(),
                    turn_id: 1,
                    t_in: None,
                };
                assert_eq!(s.encode(&frame), None);
            }
            let Some(Outgoing::Text(out)) = s.encode(&Frame::OutputAudio {
                audio: audio.clone(),
                turn_id: 1,
                t_in: None,
            }) else {
                panic!("no media for {:?}", st.carrier)
            };
            let v: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["event"], event);
            if let Some(k) = id_key {
                assert_eq!(v[k], st.stream_id.as_str());
            }
            let payload = v["media"]["payload"].as_str().unwrap();
            let raw = B64.decode(payload).unwrap();
            let expect_len = if exotel { 1600 } else { 160 };
            assert_eq!(raw.len(), expect_len, "{:?}", st.carrier);
            // Decode our own output as inbound media: the samples come back (G.711 error only).
            let mut items = Vec::new();
            s.decode(WireMessage::Text(&media(payload)), &mut items)
                .unwrap();
            let Inbound::Audio {
                pcm, sample_rate, ..
            } = &items[0]
            else {
                panic!()
            };
            assert_eq!(*sample_rate, 8_000);
            let back = crate::audio::pcm::from_bytes(pcm);
            assert_eq!(back.len(), if exotel { 800 } else { 160 });
            for (a, b) in samples.iter().zip(&back) {
                assert!((i32::from(*a) - i32::from(*b)).abs() <= 300, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn exotel_sends_100_ms_blocks_and_pads_the_end_of_a_turn() {
        let mut s = CarrierSerializer::new(&start(EXOTEL));
        let chunk = |n: usize| Frame::OutputAudio {
            audio: super::super::audio_frame(&vec![100i16; n], 8_000),
            turn_id: 1,
            t_in: None,
        };
        let payload_len = |o: Option<Outgoing>| {
            let Some(Outgoing::Text(t)) = o else {
                panic!("no message")
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            B64.decode(v["media"]["payload"].as_str().unwrap())
                .unwrap()
                .len()
        };
        for _ in 0..4 {
            assert_eq!(s.encode(&chunk(160)), None);
        }
        assert_eq!(payload_len(s.encode(&chunk(160))), 1600);
        // 30 ms left at the end of the turn: padded to 100 ms.
        assert_eq!(s.encode(&chunk(160)), None);
        assert_eq!(s.encode(&chunk(80)), None);
        let stopped = Frame::BotStoppedSpeaking {
            turn_id: 1,
            at: std::time::Instant::now(),
        };
        assert_eq!(payload_len(s.encode(&stopped)), 1600);
        assert_eq!(s.encode(&stopped), None);
        // An interruption drops what was gathered.
        assert_eq!(s.encode(&chunk(160)), None);
        assert!(s.encode(&Frame::Interruption { turn_id: 1 }).is_some());
        assert_eq!(s.encode(&stopped), None);
    }

    #[test]
    fn mark_names_round_trip() {
        assert_eq!(mark_turn(&mark_name(42)), Some(42));
        assert_eq!(mark_turn("turn-"), None);
        assert_eq!(mark_turn("other"), None);
    }

    #[test]
    fn telnyx_pcma_uses_a_law() {
        let st = start(TELNYX_A);
        assert_eq!(law(&st), Some(Law::Alaw));
    }

    #[test]
    fn clear_dtmf_stop_and_mark() {
        let mut s = CarrierSerializer::new(&start(TWILIO));
        let Some(Outgoing::Text(c)) = s.encode(&Frame::Interruption { turn_id: 3 }) else {
            panic!()
        };
        assert_eq!(
            serde_json::from_str::<Value>(&c).unwrap(),
            json!({"event":"clear","streamSid":"MZ1"})
        );
        let Some(Outgoing::Text(m)) = s.encode(&Frame::TtsStopped { turn_id: 3 }) else {
            panic!()
        };
        assert_eq!(
            serde_json::from_str::<Value>(&m).unwrap(),
            json!({"event":"mark","streamSid":"MZ1","mark":{"name":"turn-3"}})
        );
        assert_eq!(s.encode(&Frame::TtsStarted { turn_id: 3 }), None);
        let mut out = Vec::new();
        for m in [
            r#"{"event":"dtmf","streamSid":"MZ1","dtmf":{"track":"inbound_track","digit":"5"}}"#,
            r#"{"event":"dtmf","dtmf":{"digit":"x"}}"#,
            r#"{"event":"mark","streamSid":"MZ1","mark":{"name":"turn-3"}}"#,
            r#"{"event":"stop","streamSid":"MZ1","stop":{"callSid":"CA1"}}"#,
        ] {
            s.decode(WireMessage::Text(m), &mut out).unwrap();
        }
        assert_eq!(
            out,
            vec![
                Inbound::Dtmf('5'),
                Inbound::Ignored,
                Inbound::Mark("turn-3".into()),
                Inbound::Stop
            ]
        );
        let mut p = CarrierSerializer::new(&start(PLIVO));
        let Some(Outgoing::Text(c)) = p.encode(&Frame::Interruption { turn_id: 1 }) else {
            panic!()
        };
        assert_eq!(
            serde_json::from_str::<Value>(&c).unwrap(),
            json!({"event":"clearAudio","streamId":"s1"})
        );
        assert_eq!(p.encode(&Frame::TtsStopped { turn_id: 1 }), None);
        assert!(s.decode(WireMessage::Text("{"), &mut out).is_err());
    }
}
