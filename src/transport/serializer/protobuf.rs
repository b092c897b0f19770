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

/// Append the encoding of `Frame { audio: AudioRawFrame { id, name: "OutputAudioRawFrame#<id>",
/// audio: pcm, sample_rate, num_channels } }` to `out`: byte-for-byte what prost's
/// `encode_to_vec` gives for that frame (fields in tag order, defaults omitted), without
/// building the message, formatting the name into a `String` or allocating a buffer per frame
/// (`pipeline.md` §10: the echo path's only per-frame allocation is the payload).
/// `pcm` is PCM s16le, `sample_rate` in Hz.
pub fn encode_output_audio(
    out: &mut bytes::BytesMut,
    id: u64,
    pcm: &[u8],
    sample_rate: u32,
    num_channels: u32,
) {
    use bytes::BufMut;
    use prost::encoding::{encode_varint, encoded_len_varint};
    const PREFIX: &[u8] = b"OutputAudioRawFrame#";
    let mut digits = [0u8; 20];
    let mut n = digits.len();
    let mut v = id;
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = &digits[n..];
    let name_len = PREFIX.len() + digits.len();
    let mut inner = 0usize;
    if id != 0 {
        inner += 1 + encoded_len_varint(id);
    }
    inner += 1 + encoded_len_varint(name_len as u64) + name_len;
    if !pcm.is_empty() {
        inner += 1 + encoded_len_varint(pcm.len() as u64) + pcm.len();
    }
    if sample_rate != 0 {
        inner += 1 + encoded_len_varint(u64::from(sample_rate));
    }
    if num_channels != 0 {
        inner += 1 + encoded_len_varint(u64::from(num_channels));
    }
    out.reserve(1 + encoded_len_varint(inner as u64) + inner);
    out.put_u8(0x12); // field 2 (audio), LEN
    encode_varint(inner as u64, out);
    if id != 0 {
        out.put_u8(0x08);
        encode_varint(id, out);
    }
    out.put_u8(0x12);
    encode_varint(name_len as u64, out);
    out.put_slice(PREFIX);
    out.put_slice(digits);
    if !pcm.is_empty() {
        out.put_u8(0x1a);
        encode_varint(pcm.len() as u64, out);
        out.put_slice(pcm);
    }
    if sample_rate != 0 {
        out.put_u8(0x20);
        encode_varint(u64::from(sample_rate), out);
    }
    if num_channels != 0 {
        out.put_u8(0x28);
        encode_varint(u64::from(num_channels), out);
    }
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
    fn fast_audio_encoding_matches_prost() {
        for (id, len, rate, ch) in [
            (1u64, 640usize, 16_000u32, 1u32),
            (9, 0, 0, 0),
            (10, 3840, 48_000, 2),
            (u64::MAX, 200, 8_000, 1),
        ] {
            let pcm: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let want = Frame {
                frame: Some(Kind::Audio(AudioRawFrame {
                    id,
                    name: format!("OutputAudioRawFrame#{id}"),
                    audio: pcm.clone().into(),
                    sample_rate: rate,
                    num_channels: ch,
                    pts: None,
                })),
            }
            .encode_to_vec();
            let mut got = bytes::BytesMut::new();
            got.extend_from_slice(b"xy");
            encode_output_audio(&mut got, id, &pcm, rate, ch);
            assert_eq!(&got[2..], &want[..], "id {id} len {len}");
        }
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
