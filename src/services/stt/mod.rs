//! Speech-to-text providers: batch OpenAI-compatible `/audio/transcriptions` ([`openai`],
//! `providers.md` §2.2) and Deepgram live over WebSocket ([`deepgram`], §3).

pub mod deepgram;
pub mod openai;

/// A WAV file (44-byte RIFF/WAVE header, PCM 16-bit mono) holding `pcm` at `sample_rate` Hz.
pub fn wav_bytes(pcm: &[i16], sample_rate: u32) -> Vec<u8> {
    let data_len = (pcm.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + pcm.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn wav_header_is_44_bytes_and_hound_reads_it() {
        let pcm: Vec<i16> = (0..160).map(|i| (i * 100) as i16).collect();
        let wav = super::wav_bytes(&pcm, 16_000);
        assert_eq!(wav.len(), 44 + 320);
        let r = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
        let spec = r.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16_000, 16)
        );
        let back: Vec<i16> = r.into_samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(back, pcm);
    }
}
