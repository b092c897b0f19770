//! Pipecat's `frames.proto`, byte-compatible (`wire.md` §1.3). One binary WebSocket message
//! carries exactly one [`Frame`], no length prefix. Decoding skips unknown fields as protobuf
//! requires; an empty frame decodes to `frame: None`.

/// `TextFrame { id = 1; name = 2; text = 3 }`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TextFrame {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub text: String,
}

/// `AudioRawFrame { id = 1; name = 2; audio = 3 (s16le); sample_rate = 4 (Hz); num_channels = 5; optional pts = 6 }`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AudioRawFrame {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(bytes = "bytes", tag = "3")]
    pub audio: bytes::Bytes,
    #[prost(uint32, tag = "4")]
    pub sample_rate: u32,
    #[prost(uint32, tag = "5")]
    pub num_channels: u32,
    #[prost(uint64, optional, tag = "6")]
    pub pts: Option<u64>,
}

/// `TranscriptionFrame { id = 1; name = 2; text = 3; user_id = 4; timestamp = 5 }`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TranscriptionFrame {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub text: String,
    #[prost(string, tag = "4")]
    pub user_id: String,
    #[prost(string, tag = "5")]
    pub timestamp: String,
}

/// `MessageFrame { data = 1 }`: a JSON document as text.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MessageFrame {
    #[prost(string, tag = "1")]
    pub data: String,
}

/// `InterruptionFrame { id = 1; name = 2 }`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptionFrame {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
}

/// `Frame { oneof frame { text = 1; audio = 2; transcription = 3; message = 4; interruption = 5 } }`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Frame {
    #[prost(oneof = "Kind", tags = "1, 2, 3, 4, 5")]
    pub frame: Option<Kind>,
}

/// The members of `Frame.frame`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    #[prost(message, tag = "1")]
    Text(TextFrame),
    #[prost(message, tag = "2")]
    Audio(AudioRawFrame),
    #[prost(message, tag = "3")]
    Transcription(TranscriptionFrame),
    #[prost(message, tag = "4")]
    Message(MessageFrame),
    #[prost(message, tag = "5")]
    Interruption(InterruptionFrame),
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn golden_audio_bytes() {
        let f = Frame {
            frame: Some(Kind::Audio(AudioRawFrame {
                id: 1,
                name: String::new(),
                audio: vec![1u8, 2, 3, 4].into(),
                sample_rate: 16000,
                num_channels: 1,
                pts: None,
            })),
        };
        // field 2 (LEN) { id=1, audio=[1,2,3,4], sample_rate=16000 (0x80 0x7d), num_channels=1 }
        let expected = [
            0x12, 0x0d, 0x08, 0x01, 0x1a, 0x04, 1, 2, 3, 4, 0x20, 0x80, 0x7d, 0x28, 0x01,
        ];
        assert_eq!(f.encode_to_vec(), expected);
        assert_eq!(Frame::decode(&expected[..]).unwrap(), f);
    }

    #[test]
    fn unknown_fields_are_skipped() {
        // text frame with an unknown varint field 9 and a fixed32 field 10 inside.
        let bytes = [
            0x0a, 0x0b, 0x1a, 0x02, b'h', b'i', 0x48, 0x05, 0x55, 1, 2, 3, 4,
        ];
        let f = Frame::decode(&bytes[..]).unwrap();
        assert!(matches!(f.frame, Some(Kind::Text(t)) if t.text == "hi"));
        assert_eq!(Frame::decode(&[][..]).unwrap().frame, None);
    }
}
