//! G.711 converter throughput: the codec work a Twilio call costs (`cargo bench --bench g711`).
//!
//! Per 20 ms frame and call: μ-law 160 B → 16 kHz PCM (table decode + rubato 8k→16k) and
//! 16 kHz PCM → μ-law (rubato 16k→8k + encode), one stateful converter pair per call. Prints
//! µs per frame and the concurrent calls one core carries for this work alone (no base64,
//! JSON or WebSocket; the serializer benchmark of issue 14 adds those).

use voxray::audio::codec::g711::{Decoder, Encoder, Law, PIPELINE_RATE};

fn main() {
    let calls = 200usize;
    let frames = 500usize; // 10 s of audio per call
    let pcm: Vec<i16> = (0..160)
        .map(|i| (6000.0 * (i as f32 * 0.3).sin()) as i16)
        .collect();
    let mut codes = Vec::new();
    Law::Mulaw.encode(&pcm, &mut codes);
    let mut decoders: Vec<Decoder> = (0..calls)
        .map(|_| Decoder::new(Law::Mulaw).unwrap())
        .collect();
    let mut encoders: Vec<Encoder> = (0..calls)
        .map(|_| Encoder::new(Law::Mulaw, PIPELINE_RATE).unwrap())
        .collect();
    let mut pcm16k = Vec::with_capacity(4096);
    let mut back = Vec::with_capacity(4096);
    let started = std::time::Instant::now();
    let mut out_codes = 0usize;
    for _ in 0..frames {
        for (dec, enc) in decoders.iter_mut().zip(encoders.iter_mut()) {
            pcm16k.clear();
            back.clear();
            dec.decode(&codes, &mut pcm16k);
            enc.encode(&pcm16k, &mut back);
            out_codes += back.len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let per_frame_us = secs * 1e6 / (calls * frames) as f64;
    println!(
        "g711: {} call-frames in {secs:.3} s: {per_frame_us:.2} us per 20 ms frame \
         (decode + 8k->16k, 16k->8k + encode); {:.0} concurrent calls per core for the codec \
         work alone ({out_codes} codes out)",
        calls * frames,
        1e6 / (per_frame_us * 50.0)
    );
}
