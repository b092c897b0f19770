//! Text-to-speech providers: OpenAI-compatible `/audio/speech` ([`openai`], `providers.md`
//! §2.3), ElevenLabs HTTP streaming ([`elevenlabs`], §4) and Cartesia over WebSocket
//! ([`cartesia`], §5). Shared here: the PCM re-chunker that keeps frames whole across reads
//! and the streamed-WAV header reader.

pub mod cartesia;
pub mod elevenlabs;
pub mod openai;

use bytes::{Bytes, BytesMut};

/// Splits a PCM byte stream into chunks of whole frames (`2 × channels` bytes), carrying a
/// partial frame over to the next read and down-mixing to mono.
#[derive(Debug)]
pub struct PcmChunker {
    channels: usize,
    carry: BytesMut,
}

impl PcmChunker {
    /// A chunker for s16le PCM with `channels` interleaved channels (≥ 1).
    pub fn new(channels: usize) -> Self {
        Self {
            channels: channels.max(1),
            carry: BytesMut::new(),
        }
    }

    /// Feed bytes; returns the mono s16le bytes of the whole frames available, if any.
    pub fn push(&mut self, bytes: Bytes) -> Option<Bytes> {
        let frame = 2 * self.channels;
        let whole = if self.carry.is_empty() && bytes.len().is_multiple_of(frame) {
            bytes
        } else {
            self.carry.extend_from_slice(&bytes);
            let n = self.carry.len() / frame * frame;
            self.carry.split_to(n).freeze()
        };
        let out = if self.channels == 1 {
            whole
        } else {
            let mut mono = BytesMut::with_capacity(whole.len() / self.channels);
            for f in whole.chunks_exact(frame) {
                let sum: i32 = f
                    .chunks_exact(2)
                    .map(|s| i16::from_le_bytes([s[0], s[1]]) as i32)
                    .sum();
                mono.extend_from_slice(&((sum / self.channels as i32) as i16).to_le_bytes());
            }
            mono.freeze()
        };
        (!out.is_empty()).then_some(out)
    }
}

/// Format of a streamed WAV, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Hz.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
}

/// Reads a RIFF/WAVE header from the start of a stream: `fmt ` (PCM 16-bit), any other
/// chunks skipped, up to the `data` chunk header. The `data` size is ignored (streamed WAVs
/// send 0 or `0xFFFFFFFF`); the audio runs to end of body.
#[derive(Debug, Default)]
pub struct WavHeaderReader {
    buf: Vec<u8>,
}

/// Largest WAV header accepted, bytes.
const MAX_WAV_HEADER: usize = 64 * 1024;

impl WavHeaderReader {
    /// Feed bytes. `Ok(None)`: more bytes needed. `Ok(Some((format, rest)))`: the header is
    /// complete and `rest` holds the first audio bytes.
    ///
    /// # Errors
    /// A text naming what is wrong (not RIFF/WAVE, not 16-bit PCM, header too long).
    pub fn push(&mut self, bytes: &[u8]) -> Result<Option<(WavFormat, Bytes)>, String> {
        self.buf.extend_from_slice(bytes);
        let b = &self.buf;
        if b.len() < 12 {
            return Ok(None);
        }
        if &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
            return Err("not a RIFF/WAVE stream".into());
        }
        let mut pos = 12;
        let mut format = None;
        loop {
            if b.len() < pos + 8 {
                break;
            }
            let id = &b[pos..pos + 4];
            let size = u32::from_le_bytes([b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]]);
            if id == b"data" {
                let Some(format) = format else {
                    return Err("WAV data before its fmt chunk".into());
                };
                let rest = Bytes::copy_from_slice(&b[pos + 8..]);
                return Ok(Some((format, rest)));
            }
            let size = size as usize + (size as usize & 1);
            if b.len() < pos + 8 + size {
                break;
            }
            if id == b"fmt " {
                let f = &b[pos + 8..pos + 8 + size];
                if f.len() < 16 {
                    return Err("short WAV fmt chunk".into());
                }
                let tag = u16::from_le_bytes([f[0], f[1]]);
                let channels = u16::from_le_bytes([f[2], f[3]]);
                let sample_rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                let bits = u16::from_le_bytes([f[14], f[15]]);
                if !(tag == 1 || tag == 0xFFFE) || bits != 16 || channels == 0 || sample_rate == 0 {
                    return Err(format!(
                        "WAV is not 16-bit PCM (format {tag}, {bits} bits, {channels} channels)"
                    ));
                }
                format = Some(WavFormat {
                    sample_rate,
                    channels,
                });
            }
            pos += 8 + size;
        }
        if b.len() > MAX_WAV_HEADER {
            return Err("WAV header too long".into());
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_bytes_carry_over() {
        let mut c = PcmChunker::new(1);
        assert_eq!(c.push(Bytes::from_static(&[1, 2, 3])).unwrap(), &[1, 2][..]);
        assert_eq!(c.push(Bytes::from_static(&[4])).unwrap(), &[3, 4][..]);
        assert_eq!(c.push(Bytes::from_static(&[5])), None);
        assert_eq!(
            c.push(Bytes::from_static(&[6, 7, 8])).unwrap(),
            &[5, 6, 7, 8][..]
        );
    }

    #[test]
    fn stereo_is_downmixed() {
        let mut c = PcmChunker::new(2);
        let frame: Vec<u8> = [100i16, 300].iter().flat_map(|s| s.to_le_bytes()).collect();
        assert_eq!(
            c.push(Bytes::from(frame)).unwrap(),
            &200i16.to_le_bytes()[..]
        );
    }

    #[test]
    fn streamed_wav_header_with_list_chunk_and_unknown_size() {
        let mut h = Vec::new();
        h.extend_from_slice(b"RIFF\xff\xff\xff\xffWAVE");
        h.extend_from_slice(b"fmt \x10\0\0\0");
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&48_000u32.to_le_bytes());
        h.extend_from_slice(&96_000u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        h.extend_from_slice(b"data\xff\xff\xff\xff");
        h.extend_from_slice(&[9, 9]);
        let mut r = WavHeaderReader::default();
        let mut got = None;
        for b in &h {
            if let Some(x) = r.push(std::slice::from_ref(b)).unwrap() {
                got = Some(x);
                break;
            }
        }
        let (f, rest) = got.unwrap();
        assert_eq!(
            f,
            WavFormat {
                sample_rate: 48_000,
                channels: 1
            }
        );
        // The header completed at the `data` chunk header: the audio comes later.
        assert!(rest.is_empty());
        assert!(
            WavHeaderReader::default()
                .push(b"ID3\x03xxxxxxxxxxxx")
                .is_err()
        );
    }
}
