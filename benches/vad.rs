//! VAD cost per 20 ms frame (`pipeline.md` §10: earshot VAD sessions per core ≥ 150, RSS per
//! VAD session ≤ 3 MB). Run with `cargo bench --bench vad` (release profile).
//!
//! Criterion times one 20 ms frame (640 bytes of PCM s16le, 16 kHz) through `Vad::push_pcm`
//! for energy and earshot, and through a whole parrot `TurnTracker` (earshot VAD + turn
//! detector + recorder), cycling over a real utterance (`utt01` from the shared test audio,
//! or a synthetic vowel-like signal when the clip is absent). Then it prints a summary:
//! - sessions per core = 20 ms ÷ CPU time per frame (one core fully busy with VAD only);
//! - per-session state in bytes, and RSS growth per session measured over 1000 live
//!   earshot parrot trackers that each consumed the clip (2.6 s of speech whose turn is still
//!   open at its end, so each holds a recording in progress).
//!
//! Prints figures; asserts nothing.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::Criterion;
use voxray::audio::turn::{RecorderParams, TurnParams, TurnTracker};
use voxray::audio::vad::{Vad, VadParams};
use voxray::config::schema::VadType;

const FRAME_BYTES: usize = 640;

/// PCM s16le 16 kHz speech, a whole number of 20 ms frames.
fn speech() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["../shared/data/audio", "shared/data/audio"] {
        let p = path.join(dir).join("utt01_question_piper-joe.wav");
        if let Ok(a) = voxray::audio::wav::read_mono(&p) {
            let mut pcm: Vec<u8> = a
                .samples
                .into_iter()
                .flat_map(|x| voxray::audio::pcm::f32_to_i16(x).to_le_bytes())
                .collect();
            pcm.truncate(pcm.len() / FRAME_BYTES * FRAME_BYTES);
            return pcm;
        }
    }
    // Fallback: 3 s of a 150 Hz buzz with harmonics, amplitude-modulated at 4 Hz.
    (0..48_000u32)
        .flat_map(|i| {
            let t = i as f32 / 16_000.0;
            let env = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 4.0 * t).sin();
            let x: f32 = (1..6)
                .map(|h| (2.0 * std::f32::consts::PI * 150.0 * h as f32 * t).sin() / h as f32)
                .sum();
            ((x * env * 6000.0) as i16).to_le_bytes()
        })
        .collect()
}

fn vad(vad_type: VadType) -> Vad {
    Vad::new(VadParams {
        vad_type,
        ..VadParams::default()
    })
    .unwrap()
}

fn tracker() -> TurnTracker {
    TurnTracker::new(
        VadParams {
            vad_type: VadType::Earshot,
            ..VadParams::default()
        },
        TurnParams::default(),
        Some(RecorderParams::parrot()),
    )
    .unwrap()
}

fn bench(c: &mut Criterion, pcm: &[u8]) {
    let frames: Vec<&[u8]> = pcm.chunks_exact(FRAME_BYTES).collect();
    for (name, vad_type) in [
        ("energy_vad_20ms_frame", VadType::Energy),
        ("earshot_vad_20ms_frame", VadType::Earshot),
    ] {
        let mut v = vad(vad_type);
        let mut i = 0usize;
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut speech = 0u32;
                v.push_pcm(black_box(frames[i % frames.len()]), |w| {
                    speech += u32::from(w.speech)
                });
                i += 1;
                black_box(speech)
            })
        });
    }
    let mut t = tracker();
    let mut events = Vec::with_capacity(4);
    let mut i = 0usize;
    c.bench_function("earshot_parrot_turn_tracker_20ms_frame", |b| {
        b.iter(|| {
            events.clear();
            t.push_pcm(black_box(frames[i % frames.len()]), &mut events);
            i += 1;
            black_box(events.len())
        })
    });
}

/// CPU time per frame over `n` frames, ns (wall clock of a single-threaded loop).
fn ns_per_frame(frames: &[&[u8]], n: usize, mut f: impl FnMut(&[u8])) -> f64 {
    let t0 = Instant::now();
    for i in 0..n {
        f(frames[i % frames.len()]);
    }
    t0.elapsed().as_nanos() as f64 / n as f64
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn summary(pcm: &[u8]) {
    let frames: Vec<&[u8]> = pcm.chunks_exact(FRAME_BYTES).collect();
    let n = 50_000;
    let mut e = vad(VadType::Energy);
    let energy = ns_per_frame(&frames, n, |f| {
        e.push_pcm(f, |w| {
            black_box(w);
        })
    });
    let mut s = vad(VadType::Earshot);
    let earshot = ns_per_frame(&frames, n, |f| {
        s.push_pcm(f, |w| {
            black_box(w);
        })
    });
    let mut t = tracker();
    let mut events = Vec::new();
    let tracked = ns_per_frame(&frames, n, |f| {
        events.clear();
        t.push_pcm(f, &mut events)
    });
    println!("\n== VAD summary (release, one thread) ==");
    for (name, ns) in [
        ("energy VAD", energy),
        ("earshot VAD", earshot),
        ("earshot parrot TurnTracker", tracked),
    ] {
        println!(
            "{name}: {:.2} us per 20 ms frame -> {:.0} sessions per core (VAD alone)",
            ns / 1000.0,
            20_000_000.0 / ns
        );
    }
    println!(
        "per-session state: energy Vad {} B, earshot Vad {} B, earshot parrot TurnTracker {} B idle",
        vad(VadType::Energy).state_bytes(),
        vad(VadType::Earshot).state_bytes(),
        tracker().state_bytes()
    );

    // RSS per live session: 1000 earshot parrot trackers, each fed the clip (at most 3 s).
    let sessions = 1000;
    let three_secs = &pcm[..pcm.len().min(96_000)];
    let before = rss_bytes();
    let mut live: Vec<TurnTracker> = (0..sessions).map(|_| tracker()).collect();
    let mut recording = 0;
    for t in &mut live {
        events.clear();
        for f in three_secs.chunks(FRAME_BYTES) {
            t.push_pcm(f, &mut events);
        }
        recording += usize::from(t.in_turn());
    }
    let after = rss_bytes();
    let state: usize = live.iter().map(TurnTracker::state_bytes).sum();
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "RSS growth over {sessions} earshot parrot sessions after the clip each ({recording} mid-turn): {:.1} KiB per session (state accounted: {:.1} KiB per session)",
            (a.saturating_sub(b)) as f64 / 1024.0 / sessions as f64,
            state as f64 / 1024.0 / sessions as f64
        );
    }
    drop(black_box(live));
}

fn main() {
    let pcm = speech();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &pcm);
    c.final_summary();
    summary(&pcm);
}
