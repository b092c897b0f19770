//! Per-frame costs of the real-time path (`pipeline.md` §10, issue 15), one 20 ms frame each:
//! protobuf and JSON frame decode/encode (the `/ws` serializers), resampling 48k↔16k (the
//! session's stateful resampler), Opus encode/decode (48 kHz mono), earshot VAD (16 kHz) and
//! the output stage (push + pop of one echoed frame). Run with `cargo bench --bench frames`;
//! `bench/run.sh` passes short Criterion times and copies the figures into BENCHMARKS.md.
//!
//! Prints figures; asserts nothing.

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use voxray::audio::codec::opus::{FRAME_SAMPLES, OpusDecoder, OpusEncoder};
use voxray::audio::resample::StreamResampler;
use voxray::audio::vad::{Vad, VadParams};
use voxray::config::schema::VadType;
use voxray::metrics::Metrics;
use voxray::pipeline::context::{SessionContext, SessionParams};
use voxray::pipeline::{AudioFrame, Frame};
use voxray::transport::output::{OutputOptions, OutputStage};
use voxray::transport::serializer::{self, Inbound, WireFormat, WireMessage};

/// `n` samples of a 440 Hz tone at `rate` Hz, PCM s16le.
fn tone(rate: u32, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let x = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin();
            ((x * 8000.0) as i16).to_le_bytes()
        })
        .collect()
}

fn out_audio(pcm: &bytes::Bytes, rate: u32) -> Frame {
    Frame::OutputAudio {
        audio: AudioFrame::mono(pcm.clone(), rate),
        turn_id: 0,
        t_in: Some(Instant::now()),
    }
}

fn serializers(c: &mut Criterion) {
    let pcm: bytes::Bytes = tone(16_000, 320).into();
    for (name, format) in [
        ("protobuf", WireFormat::Protobuf),
        ("json", WireFormat::Json),
    ] {
        let mut s = serializer::for_format(format, 16_000);
        let frame = out_audio(&pcm, 16_000);
        c.bench_function(&format!("{name}_encode_20ms_16k"), |b| {
            b.iter(|| black_box(s.encode(black_box(&frame))));
        });
        // What a client sends: the same encoding the server would send back.
        let msg = s.encode(&frame).expect("audio has a wire form");
        let mut out: Vec<Inbound> = Vec::with_capacity(4);
        c.bench_function(&format!("{name}_decode_20ms_16k"), |b| {
            b.iter(|| {
                out.clear();
                let m = match &msg {
                    serializer::Outgoing::Binary(b) => WireMessage::Binary(b),
                    serializer::Outgoing::Text(t) => WireMessage::Text(t),
                };
                let _ = black_box(s.decode(m, &mut out));
            });
        });
    }
}

fn resampling(c: &mut Criterion) {
    for (from, to) in [(48_000u32, 16_000u32), (16_000, 48_000)] {
        let pcm = tone(from, from as usize / 50);
        let mut r = StreamResampler::new(from, to).expect("supported rates");
        c.bench_function(
            &format!("resample_{}k_to_{}k_20ms", from / 1000, to / 1000),
            |b| {
                b.iter(|| black_box(r.process_pcm(black_box(&pcm))));
            },
        );
    }
}

fn opus(c: &mut Criterion) {
    let pcm: Vec<i16> = voxray::audio::pcm::from_bytes(&tone(48_000, FRAME_SAMPLES));
    let Ok(mut enc) = OpusEncoder::new() else {
        eprintln!("frames bench: libopus unavailable, Opus skipped");
        return;
    };
    c.bench_function("opus_encode_20ms_48k", |b| {
        b.iter(|| black_box(enc.encode(black_box(&pcm)).expect("encodes")));
    });
    let packet = enc.encode(&pcm).expect("encodes");
    let mut dec = OpusDecoder::new().expect("decoder");
    c.bench_function("opus_decode_20ms_48k", |b| {
        b.iter(|| {
            black_box(dec.decode(black_box(&packet)).expect("decodes").len());
        });
    });
}

fn vad(c: &mut Criterion) {
    let pcm = tone(16_000, 320);
    let mut v = Vad::new(VadParams {
        vad_type: VadType::Earshot,
        ..VadParams::default()
    })
    .expect("earshot");
    c.bench_function("earshot_vad_20ms_16k", |b| {
        b.iter(|| {
            v.push_pcm(black_box(&pcm), |w| {
                black_box(w);
            })
        });
    });
}

fn output_stage(c: &mut Criterion) {
    let session = SessionContext::new("bench", SessionParams::default(), Metrics::new());
    let mut stage = OutputStage::new(
        session,
        OutputOptions {
            wire_rate: None,
            rechunk: false,
            speaking_events: false,
        },
        None,
    );
    let pcm: bytes::Bytes = tone(16_000, 320).into();
    let mut out = Vec::with_capacity(16);
    c.bench_function("output_stage_echo_20ms", |b| {
        b.iter(|| {
            let now = Instant::now();
            stage.push(out_audio(&pcm, 16_000), now, &mut out);
            stage.pop_due(now, &mut out);
            black_box(out.len());
            out.clear();
        });
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    serializers(&mut c);
    resampling(&mut c);
    opus(&mut c);
    vad(&mut c);
    output_stage(&mut c);
    c.final_summary();
}
