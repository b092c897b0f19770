//! PCM s16le helpers: bytes ↔ samples, down-mixing, float conversion.

use bytes::Bytes;

/// Samples (i16) → s16le bytes.
pub fn to_bytes(samples: &[i16]) -> Bytes {
    let mut out = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.into()
}

/// s16le bytes → samples; a trailing odd byte is ignored.
pub fn from_bytes(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Average interleaved s16le channels to mono s16le. `channels` ≤ 1 returns the input.
pub fn downmix(pcm: &Bytes, channels: usize) -> Bytes {
    if channels <= 1 {
        return pcm.clone();
    }
    let samples = from_bytes(pcm);
    let mono: Vec<i16> = samples
        .chunks_exact(channels)
        .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / channels as i32) as i16)
        .collect();
    to_bytes(&mono)
}

/// f32 in [-1, 1] → i16 with rounding and clipping.
pub fn f32_to_i16(x: f32) -> i16 {
    (x * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

/// i16 → f32 in [-1, 1).
pub fn i16_to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_downmix() {
        let s = [1i16, -2, 300, -32768];
        assert_eq!(from_bytes(&to_bytes(&s)), s);
        let stereo = to_bytes(&[100, 300, -100, -300]);
        assert_eq!(from_bytes(&downmix(&stereo, 2)), [200, -200]);
    }
}
