//! Opus (RFC 6716) at 48 kHz mono for WebRTC media (`wire.md` §2.3; RTP payload format
//! RFC 7587: the SDP says `opus/48000/2`, the stream itself may be mono).
//!
//! Backed by `opus2` linking the system libopus (Debian `libopus-dev` to build, `libopus0` to
//! run; found with pkg-config). The pure-Rust `mousiki` backend was tried first and panics
//! inside its CELT band decoder on ordinary speech packets, so it is not used.

use bytes::Bytes;

/// Opus sample rate used on the wire, in Hz.
pub const OPUS_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`OPUS_RATE`] (960).
pub const FRAME_SAMPLES: usize = (OPUS_RATE / 50) as usize;
/// Encoder target bit rate in bits per second (`wire.md` §2.3: 32 kb/s).
pub const BITRATE_BPS: i32 = 32_000;
/// Largest encoded packet we produce, in bytes (RFC 6716 §3.4 allows 1275 per frame).
const MAX_PACKET_BYTES: usize = 1275;
/// Longest frame a decoder may return: 120 ms at 48 kHz (RFC 6716 §2.1.4), in samples.
const MAX_DECODED_SAMPLES: usize = 5_760;

/// Codec errors (creation or a corrupt packet).
#[derive(Debug, thiserror::Error)]
#[error("opus: {0}")]
pub struct OpusError(String);

impl From<opus2::Error> for OpusError {
    fn from(e: opus2::Error) -> Self {
        Self(e.to_string())
    }
}

/// Mono VoIP encoder: 48 kHz, 32 kb/s, in-band FEC on (RFC 7587 `useinbandfec=1`).
pub struct OpusEncoder {
    inner: opus2::Encoder,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusEncoder")
    }
}

impl OpusEncoder {
    /// A new encoder.
    ///
    /// # Errors
    /// [`OpusError`] when the codec cannot be initialised.
    pub fn new() -> Result<Self, OpusError> {
        let mut inner =
            opus2::Encoder::new(OPUS_RATE, opus2::Channels::Mono, opus2::Application::Voip)?;
        inner.set_bitrate(opus2::Bitrate::Bits(BITRATE_BPS))?;
        inner.set_inband_fec(true)?;
        Ok(Self { inner })
    }

    /// Encode one 20 ms frame: exactly [`FRAME_SAMPLES`] mono samples at 48 kHz (PCM i16).
    /// Returns one Opus packet.
    ///
    /// # Errors
    /// [`OpusError`] on a wrong frame length or an encoder failure.
    pub fn encode(&mut self, frame: &[i16]) -> Result<Bytes, OpusError> {
        if frame.len() != FRAME_SAMPLES {
            return Err(OpusError(format!(
                "frame has {} samples, expected {FRAME_SAMPLES}",
                frame.len()
            )));
        }
        Ok(self.inner.encode_vec(frame, MAX_PACKET_BYTES)?.into())
    }
}

/// Decoder to 48 kHz mono (a stereo stream is down-mixed by the decoder, RFC 6716 §4).
pub struct OpusDecoder {
    inner: opus2::Decoder,
    buf: Vec<i16>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusDecoder")
    }
}

impl OpusDecoder {
    /// A new decoder.
    ///
    /// # Errors
    /// [`OpusError`] when the codec cannot be initialised.
    pub fn new() -> Result<Self, OpusError> {
        Ok(Self {
            inner: opus2::Decoder::new(OPUS_RATE, opus2::Channels::Mono)?,
            buf: vec![0; MAX_DECODED_SAMPLES],
        })
    }

    /// Decode one packet to 48 kHz mono PCM i16 (usually 960 samples for 20 ms).
    ///
    /// # Errors
    /// [`OpusError`] for a corrupt packet.
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[i16], OpusError> {
        let n = self.inner.decode(packet, &mut self.buf, false)?;
        Ok(&self.buf[..n])
    }

    /// Packet-loss concealment: synthesise `samples` (≤ 5760) of audio for a lost packet.
    ///
    /// # Errors
    /// [`OpusError`] from the decoder.
    pub fn conceal(&mut self, samples: usize) -> Result<&[i16], OpusError> {
        let n = samples.min(MAX_DECODED_SAMPLES);
        let n = self.inner.decode(&[], &mut self.buf[..n], false)?;
        Ok(&self.buf[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_round_trips_with_its_level() {
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let tone: Vec<i16> = (0..FRAME_SAMPLES * 50)
            .map(|i| {
                (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 48_000.0).sin()) as i16
            })
            .collect();
        let mut out = Vec::new();
        for frame in tone.chunks(FRAME_SAMPLES) {
            let packet = enc.encode(frame).unwrap();
            assert!(!packet.is_empty() && packet.len() < 400);
            out.extend_from_slice(dec.decode(&packet).unwrap());
        }
        assert_eq!(out.len(), tone.len());
        let rms = |s: &[i16]| {
            (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
        };
        let (a, b) = (rms(&tone[9600..]), rms(&out[9600..]));
        assert!((b / a - 1.0).abs() < 0.2, "rms in {a} out {b}");
        assert!(enc.encode(&tone[..100]).is_err());
        assert_eq!(dec.conceal(960).unwrap().len(), 960);
    }
}
