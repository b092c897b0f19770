//! G.711 (ITU-T Recommendation G.711, 11/1988) μ-law and A-law companding at 8 kHz, the
//! payload of the carriers' media streams (`wire.md` §3.3: Twilio, Plivo and Telnyx PCMU are
//! μ-law, Telnyx PCMA is A-law).
//!
//! One code byte is one 8 kHz sample. Linear samples are 16-bit PCM (`i16`, PCM s16le mono on
//! the wire); G.711 itself works on 14-bit (μ-law) and 13-bit (A-law) magnitudes, which are the
//! top bits of the 16-bit value, so decoded μ-law values are ITU decoder outputs × 4 (largest
//! ±32124) and A-law values ITU decoder outputs × 8 (largest ±32256).
//!
//! Decoding is a 256-entry table lookup; encoding is a few shifts (segment from the leading
//! zeros). The slice functions append to a caller-owned buffer and never allocate per sample:
//! a serializer keeps one buffer per call and reuses it.
//!
//! [`Decoder`] and [`Encoder`] add the rate change to/from the pipeline's 16 kHz PCM with the
//! project's stateful rubato resampler ([`crate::audio::resample::StreamResampler`]), one per
//! call and direction; their scratch buffers are reused, so steady 20 ms frames allocate
//! nothing beyond growing the caller's output buffer.

use crate::audio::pcm;
use crate::audio::resample::{ResampleError, StreamResampler};

/// The G.711 sample rate, in Hz.
pub const G711_RATE: u32 = 8_000;
/// The pipeline's PCM rate the converters produce and accept, in Hz.
pub const PIPELINE_RATE: u32 = 16_000;
/// μ-law code of a zero sample (positive zero; `0x7F` is negative zero).
pub const ULAW_SILENCE: u8 = 0xFF;
/// A-law code of the smallest positive sample (A-law has no exact zero).
pub const ALAW_SILENCE: u8 = 0xD5;

/// μ-law bias added before segment search (G.711 §2: 33 in 14-bit units, ×4 in 16-bit).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude μ-law represents before the bias (16-bit units).
const ULAW_CLIP: i32 = 32_635;

/// Which companding law a payload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// μ-law (PCMU, `audio/x-mulaw`), North America and Japan.
    Mulaw,
    /// A-law (PCMA, `audio/x-alaw`), elsewhere.
    Alaw,
}

impl Law {
    /// The law for a carrier's encoding name: `PCMU`/`mulaw`/`ulaw`/`audio/x-mulaw` → μ-law,
    /// `PCMA`/`alaw`/`audio/x-alaw` → A-law (ASCII case-insensitive); anything else `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.trim().to_ascii_lowercase();
        match n.as_str() {
            "pcmu" | "mulaw" | "ulaw" | "g711_ulaw" | "audio/x-mulaw" => Some(Self::Mulaw),
            "pcma" | "alaw" | "g711_alaw" | "audio/x-alaw" => Some(Self::Alaw),
            _ => None,
        }
    }

    /// Encode one 16-bit sample.
    #[inline]
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Self::Mulaw => ulaw_encode_sample(sample),
            Self::Alaw => alaw_encode_sample(sample),
        }
    }

    /// Decode one code byte to a 16-bit sample.
    #[inline]
    pub fn decode_sample(self, code: u8) -> i16 {
        match self {
            Self::Mulaw => ULAW_DECODE[code as usize],
            Self::Alaw => ALAW_DECODE[code as usize],
        }
    }

    /// The code of a silent sample (for padding a short final frame).
    pub fn silence(self) -> u8 {
        match self {
            Self::Mulaw => ULAW_SILENCE,
            Self::Alaw => ALAW_SILENCE,
        }
    }

    /// Append the codes of `samples` to `out` (one byte per sample).
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        out.reserve(samples.len());
        match self {
            Self::Mulaw => out.extend(samples.iter().map(|&s| ulaw_encode_sample(s))),
            Self::Alaw => out.extend(samples.iter().map(|&s| alaw_encode_sample(s))),
        }
    }

    /// Append the codes of PCM s16le mono bytes to `out` (a trailing odd byte is ignored).
    pub fn encode_pcm_bytes(self, pcm_s16le: &[u8], out: &mut Vec<u8>) {
        out.reserve(pcm_s16le.len() / 2);
        out.extend(
            pcm_s16le
                .chunks_exact(2)
                .map(|b| self.encode_sample(i16::from_le_bytes([b[0], b[1]]))),
        );
    }

    /// Append the 16-bit samples of `codes` to `out`.
    pub fn decode(self, codes: &[u8], out: &mut Vec<i16>) {
        let table = self.table();
        out.reserve(codes.len());
        out.extend(codes.iter().map(|&c| table[c as usize]));
    }

    /// Append the samples of `codes` to `out` as PCM s16le mono bytes (2 bytes per code).
    pub fn decode_to_pcm_bytes(self, codes: &[u8], out: &mut Vec<u8>) {
        let table = self.table();
        out.reserve(codes.len() * 2);
        for &c in codes {
            out.extend_from_slice(&table[c as usize].to_le_bytes());
        }
    }

    fn table(self) -> &'static [i16; 256] {
        match self {
            Self::Mulaw => &ULAW_DECODE,
            Self::Alaw => &ALAW_DECODE,
        }
    }
}

/// μ-law encode one 16-bit sample (G.711 Table 2, 14-bit magnitude = `sample >> 2`).
#[inline]
pub fn ulaw_encode_sample(sample: i16) -> u8 {
    let s = i32::from(sample);
    let (sign, mag) = if s < 0 { (0x80, -s) } else { (0x00, s) };
    let biased = mag.min(ULAW_CLIP) + ULAW_BIAS;
    // biased is in 0x84..=0x7FFF: its top set bit is 7..=14, the segment is that minus 7.
    let exponent = (31 - biased.leading_zeros() as i32) - 7;
    let mantissa = (biased >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// μ-law decode one code byte.
#[inline]
pub fn ulaw_decode_sample(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// A-law encode one 16-bit sample (G.711 Table 1, 13-bit value = `sample >> 3`; even bits
/// inverted per §3.1).
#[inline]
pub fn alaw_encode_sample(sample: i16) -> u8 {
    let v = i32::from(sample) >> 3;
    let (mask, mag) = if v >= 0 { (0xD5, v) } else { (0x55, -v - 1) };
    // Segment 0 and 1 share a step of 2 (13-bit units); segment n ≥ 1 starts at 32 << (n-1).
    let seg = if mag < 32 {
        0
    } else {
        (31 - mag.leading_zeros() as i32) - 4
    };
    let code = if seg >= 8 {
        0x7F
    } else if seg < 2 {
        (seg << 4) | ((mag >> 1) & 0x0F)
    } else {
        (seg << 4) | ((mag >> seg) & 0x0F)
    };
    (code ^ mask) as u8
}

/// A-law decode one code byte.
#[inline]
pub fn alaw_decode_sample(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

const fn ulaw_decode_const(code: u8) -> i16 {
    let u = !code;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let t = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 { -t as i16 } else { t as i16 }
}

const fn alaw_decode_const(code: u8) -> i16 {
    let a = code ^ 0x55;
    let seg = ((a & 0x70) >> 4) as i32;
    let mut t = ((a & 0x0F) as i32) << 4;
    t = match seg {
        0 => t + 8,
        1 => t + 0x108,
        _ => (t + 0x108) << (seg - 1),
    };
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const fn build_table(ulaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if ulaw {
            ulaw_decode_const(i as u8)
        } else {
            alaw_decode_const(i as u8)
        };
        i += 1;
    }
    t
}

/// μ-law code → 16-bit sample.
static ULAW_DECODE: [i16; 256] = build_table(true);
/// A-law code → 16-bit sample.
static ALAW_DECODE: [i16; 256] = build_table(false);

/// Carrier payload (G.711 at 8 kHz) → pipeline PCM s16le mono at 16 kHz, stateful across
/// messages (one per call). Output lags input by the resampler delay (a few ms).
pub struct Decoder {
    law: Law,
    resampler: StreamResampler,
    scratch: Vec<f32>,
    resampled: Vec<f32>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("g711::Decoder")
            .field("law", &self.law)
            .finish()
    }
}

impl Decoder {
    /// A decoder for `law`, 8 kHz → `PIPELINE_RATE` (16 kHz).
    ///
    /// # Errors
    /// [`ResampleError`] when the resampler cannot be built (does not happen for 8k → 16k).
    pub fn new(law: Law) -> Result<Self, ResampleError> {
        Ok(Self {
            law,
            resampler: StreamResampler::new(G711_RATE, PIPELINE_RATE)?,
            scratch: Vec::with_capacity(320),
            resampled: Vec::with_capacity(640),
        })
    }

    /// The law this decoder reads.
    pub fn law(&self) -> Law {
        self.law
    }

    /// Decode one payload (any length, typically 160 bytes = 20 ms) and append the 16 kHz
    /// PCM s16le bytes that are ready to `out` (about 4 output bytes per input byte).
    pub fn decode(&mut self, codes: &[u8], out: &mut Vec<u8>) {
        let table = self.law.table();
        self.scratch.clear();
        self.scratch
            .extend(codes.iter().map(|&c| pcm::i16_to_f32(table[c as usize])));
        self.resampled.clear();
        self.resampler
            .process_into(&self.scratch, &mut self.resampled);
        out.reserve(self.resampled.len() * 2);
        for &x in &self.resampled {
            out.extend_from_slice(&pcm::f32_to_i16(x).to_le_bytes());
        }
    }
}

/// Pipeline PCM s16le mono at 16 kHz → G.711 codes at 8 kHz, stateful (one per call).
pub struct Encoder {
    law: Law,
    resampler: StreamResampler,
    scratch: Vec<f32>,
    resampled: Vec<f32>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("g711::Encoder")
            .field("law", &self.law)
            .finish()
    }
}

impl Encoder {
    /// An encoder for `law` from `from_rate` Hz PCM (normally 16000) to 8 kHz codes.
    ///
    /// # Errors
    /// [`ResampleError`] when rubato rejects `from_rate`.
    pub fn new(law: Law, from_rate: u32) -> Result<Self, ResampleError> {
        Ok(Self {
            law,
            resampler: StreamResampler::new(from_rate, G711_RATE)?,
            scratch: Vec::with_capacity(320),
            resampled: Vec::with_capacity(640),
        })
    }

    /// The law this encoder writes.
    pub fn law(&self) -> Law {
        self.law
    }

    /// Encode PCM s16le mono bytes and append the 8 kHz codes that are ready to `out`
    /// (one byte per 8 kHz sample; chunking into 160-byte messages is the serializer's job).
    pub fn encode(&mut self, pcm_s16le: &[u8], out: &mut Vec<u8>) {
        self.scratch.clear();
        self.scratch.extend(
            pcm_s16le
                .chunks_exact(2)
                .map(|b| pcm::i16_to_f32(i16::from_le_bytes([b[0], b[1]]))),
        );
        self.resampled.clear();
        self.resampler
            .process_into(&self.scratch, &mut self.resampled);
        let law = self.law;
        out.reserve(self.resampled.len());
        out.extend(
            self.resampled
                .iter()
                .map(|&x| law.encode_sample(pcm::f32_to_i16(x))),
        );
    }

    /// Push out what the resampler still holds (end of a bot turn), appending codes to `out`.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        let rest = self.resampler.flush();
        out.extend(
            rest.into_iter()
                .map(|x| self.law.encode_sample(pcm::f32_to_i16(x))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ITU-T G.711 Table 2 (μ-law), positive half: (code as transmitted, decoder output in
    /// 14-bit units). The first and last code of every segment; codes are the character
    /// signal after inversion of all bits (0x80 | segment<<4 | step, inverted).
    const ULAW_ITU: &[(u8, i32)] = &[
        (0xFF, 0),
        (0xF0, 30),
        (0xEF, 33),
        (0xE0, 93),
        (0xDF, 99),
        (0xD0, 219),
        (0xCF, 231),
        (0xC0, 471),
        (0xBF, 495),
        (0xB0, 975),
        (0xAF, 1023),
        (0xA0, 1983),
        (0x9F, 2079),
        (0x90, 3999),
        (0x8F, 4191),
        (0x80, 8031),
    ];

    /// ITU-T G.711 Table 1 (A-law), positive half: (code as transmitted, decoder output in
    /// 13-bit units). Even bits inverted (XOR 0x55) on the line.
    const ALAW_ITU: &[(u8, i32)] = &[
        (0xD5, 1),
        (0xDA, 31),
        (0xC5, 33),
        (0xCA, 63),
        (0xF5, 66),
        (0xFA, 126),
        (0xE5, 132),
        (0xEA, 252),
        (0x95, 264),
        (0x9A, 504),
        (0x85, 528),
        (0x8A, 1008),
        (0xB5, 1056),
        (0xBA, 2016),
        (0xA5, 2112),
        (0xAA, 4032),
    ];

    #[test]
    fn ulaw_decoder_outputs_match_itu_table() {
        for &(code, out14) in ULAW_ITU {
            assert_eq!(
                i32::from(ulaw_decode_sample(code)),
                out14 * 4,
                "code {code:#04x}"
            );
            // The negative half differs only in the sign bit (bit 8 of the inverted code).
            let neg = code & 0x7F;
            assert_eq!(
                i32::from(ulaw_decode_sample(neg)),
                -out14 * 4,
                "code {neg:#04x}"
            );
        }
    }

    #[test]
    fn alaw_decoder_outputs_match_itu_table() {
        for &(code, out13) in ALAW_ITU {
            assert_eq!(
                i32::from(alaw_decode_sample(code)),
                out13 * 8,
                "code {code:#04x}"
            );
            let neg = code & 0x7F;
            assert_eq!(
                i32::from(alaw_decode_sample(neg)),
                -out13 * 8,
                "code {neg:#04x}"
            );
        }
    }

    /// Decision values of the tables (14-bit μ-law / 13-bit A-law units): an input just below
    /// a decision value takes the lower code, at it the upper one.
    #[test]
    fn encoder_decision_values_match_itu_table() {
        // μ-law: (14-bit input, code). Decision values 1, 3, …, 29 | 31 | 35, …, 95 | …,
        // 4063 | …, 8159 (overload).
        let ulaw: &[(i32, u8)] = &[
            (0, 0xFF),
            (1, 0xFE),
            (28, 0xF1),
            (29, 0xF0),
            (30, 0xF0),
            (31, 0xEF),
            (32, 0xEF),
            (94, 0xE0),
            (95, 0xDF),
            (4062, 0x90),
            (4063, 0x8F),
            (8158, 0x80),
            (8159, 0x80),
            (-1, 0x7E),
            (-2, 0x7E),
            (-8159, 0x00),
        ];
        for &(x, code) in ulaw {
            let s = (x * 4).clamp(-32768, 32767) as i16;
            assert_eq!(ulaw_encode_sample(s), code, "μ-law input {x} (16-bit {s})");
        }
        // A-law: (13-bit input, code). Decision values 2, 32, 64, …, 4096 (overload).
        let alaw: &[(i32, u8)] = &[
            (0, 0xD5),
            (1, 0xD5),
            (2, 0xD4),
            (31, 0xDA),
            (32, 0xC5),
            (63, 0xCA),
            (64, 0xF5),
            (4031, 0xAA),
            (4095, 0xAA),
            (-1, 0x55),
            (-3, 0x54),
            (-4096, 0x2A),
        ];
        for &(x, code) in alaw {
            let s = (x * 8).clamp(-32768, 32767) as i16;
            assert_eq!(alaw_encode_sample(s), code, "A-law input {x} (16-bit {s})");
        }
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            let back = ulaw_encode_sample(ulaw_decode_sample(code));
            // 0x7F is negative zero, which decodes to 0 and encodes as positive zero.
            let want = if code == 0x7F { 0xFF } else { code };
            assert_eq!(back, want, "μ-law {code:#04x}");
            assert_eq!(
                alaw_encode_sample(alaw_decode_sample(code)),
                code,
                "A-law {code:#04x}"
            );
        }
    }

    #[test]
    fn quantisation_error_is_bounded_over_the_whole_range() {
        // Every 16-bit input decodes back within half a step of its segment.
        for s in i16::MIN..=i16::MAX {
            let x = i32::from(s);
            let u = i32::from(ulaw_decode_sample(ulaw_encode_sample(s)));
            // Half a step is at most |x|/8 + 8 (μ-law) and |x|/16 + 16 (A-law) in 16-bit
            // units, including the overload region above the largest output.
            assert!((u - x).abs() <= x.abs() / 8 + 8, "μ-law {s} -> {u}");
            let a = i32::from(alaw_decode_sample(alaw_encode_sample(s)));
            assert!((a - x).abs() <= x.abs() / 16 + 16, "A-law {s} -> {a}");
        }
    }

    #[test]
    fn slice_apis_append_and_agree() {
        let samples = [0i16, 1000, -1000, 32767, -32768, 12];
        for law in [Law::Mulaw, Law::Alaw] {
            let mut codes = vec![0xAB];
            law.encode(&samples, &mut codes);
            assert_eq!(codes.len(), 7);
            assert_eq!(codes[0], 0xAB);
            let mut from_bytes = Vec::new();
            let bytes = pcm::to_bytes(&samples);
            law.encode_pcm_bytes(&bytes, &mut from_bytes);
            assert_eq!(&codes[1..], &from_bytes[..]);
            let mut back = Vec::new();
            law.decode(&codes[1..], &mut back);
            let mut back_bytes = Vec::new();
            law.decode_to_pcm_bytes(&codes[1..], &mut back_bytes);
            assert_eq!(pcm::from_bytes(&back_bytes), back);
            assert_eq!(law.encode_sample(0), law.silence());
        }
        assert_eq!(Law::from_name("PCMU"), Some(Law::Mulaw));
        assert_eq!(Law::from_name("audio/x-alaw"), Some(Law::Alaw));
        assert_eq!(Law::from_name("L16"), None);
    }

    #[test]
    fn converters_change_rate_and_keep_a_tone() {
        // 1 s of a 440 Hz tone at 16 kHz → μ-law 8 kHz → 16 kHz.
        let tone: Vec<i16> = (0..16_000)
            .map(|i| {
                (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16_000.0).sin()) as i16
            })
            .collect();
        let mut enc = Encoder::new(Law::Mulaw, PIPELINE_RATE).unwrap();
        let mut codes = Vec::new();
        for chunk in pcm::to_bytes(&tone).chunks(640) {
            enc.encode(chunk, &mut codes);
        }
        enc.flush(&mut codes);
        assert!(
            (8_000..=8_200).contains(&codes.len()),
            "{} codes",
            codes.len()
        );
        let mut dec = Decoder::new(Law::Mulaw).unwrap();
        let mut out = Vec::new();
        for chunk in codes.chunks(160) {
            dec.decode(chunk, &mut out);
        }
        let back = pcm::from_bytes(&out);
        assert!(back.len() >= 15_800, "{} samples", back.len());
        let mid = &back[4000..12000];
        let rms =
            (mid.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / mid.len() as f64).sqrt();
        assert!((rms - 8000.0 / 2f64.sqrt()).abs() < 300.0, "rms {rms}");
        let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!((435..=445).contains(&crossings), "crossings {crossings}");
    }
    /// The shared test audio (`../shared/data/audio` next to the repository; one more level
    /// up from a worktree under `wt/`).
    fn audio(name: &str) -> Option<std::path::PathBuf> {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        [
            "../shared/data/audio",
            "../../shared/data/audio",
            "shared/data/audio",
        ]
        .iter()
        .map(|d| repo.join(d).join(name))
        .find(|p| p.is_file())
    }

    /// The `data` chunk of a WAV file whose `fmt ` chunk has format tag `tag` (6 = A-law,
    /// 7 = μ-law), 8 kHz mono 8-bit.
    fn g711_wav(name: &str, tag: u16) -> Vec<u8> {
        let path = audio(name).expect("test audio present");
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(&b[8..12], b"WAVE");
        let mut i = 12;
        let mut data = None;
        while i + 8 <= b.len() {
            let id = &b[i..i + 4];
            let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
            let body = &b[i + 8..(i + 8 + len).min(b.len())];
            if id == b"fmt " {
                assert_eq!(u16::from_le_bytes([body[0], body[1]]), tag, "format tag");
                assert_eq!(u16::from_le_bytes([body[2], body[3]]), 1, "mono");
                assert_eq!(u32::from_le_bytes(body[4..8].try_into().unwrap()), 8000);
            } else if id == b"data" {
                data = Some(body.to_vec());
            }
            i += 8 + len + (len & 1);
        }
        data.expect("data chunk")
    }

    /// RMS of 20 ms windows of 16 kHz samples.
    fn envelope(samples: &[i16]) -> Vec<f64> {
        samples
            .chunks_exact(320)
            .map(|w| (w.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 320.0).sqrt())
            .collect()
    }

    fn correlation(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let ma = a.iter().sum::<f64>() / n as f64;
        let mb = b.iter().sum::<f64>() / n as f64;
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn reference_files_decode_to_the_16k_utterance() {
        let reference = {
            let path = audio("fmt_command_16k_s16le.pcm").expect("test audio present");
            pcm::from_bytes(&std::fs::read(path).unwrap())
        };
        let ref_env = envelope(&reference);
        for (name, tag, law) in [
            ("fmt_command_8k_mulaw.wav", 7, Law::Mulaw),
            ("fmt_command_8k_alaw.wav", 6, Law::Alaw),
        ] {
            let codes = g711_wav(name, tag);
            // 8 kHz codes → 16 kHz PCM in 20 ms carrier messages, as a serializer will.
            let mut dec = Decoder::new(law).unwrap();
            let mut out = Vec::new();
            for msg in codes.chunks(160) {
                dec.decode(msg, &mut out);
            }
            let decoded = pcm::from_bytes(&out);
            let expected = codes.len() * 2;
            assert!(
                decoded.len() + 400 >= expected && decoded.len() <= expected,
                "{name}: {} samples for {} codes",
                decoded.len(),
                codes.len()
            );
            // Drop the resampler delay so the envelopes line up.
            let delay = dec.resampler.delay();
            let env = envelope(&decoded[delay..]);
            let r = correlation(&env, &ref_env);
            eprintln!("{name}: envelope correlation {r:.4}");
            assert!(r > 0.97, "{name}: envelope correlation {r}");
            let level = |e: &[f64]| e.iter().sum::<f64>() / e.len() as f64;
            let ratio = level(&env) / level(&ref_env[..env.len()]);
            eprintln!("{name}: level ratio {ratio:.4}");
            assert!((0.8..1.2).contains(&ratio), "{name}: level ratio {ratio}");

            // Re-encoding the decoded 8 kHz samples gives the same bytes back.
            let mut linear = Vec::new();
            law.decode(&codes, &mut linear);
            let mut again = Vec::new();
            law.encode(&linear, &mut again);
            let differing = codes
                .iter()
                .zip(&again)
                .filter(|(a, b)| a != b && !(**a == 0x7F && **b == 0xFF))
                .count();
            assert_eq!(
                differing, 0,
                "{name}: re-encoding changed {differing} codes"
            );
        }
    }
}
