//! VAD and turn detection on the shared test clips (`../shared/data/audio`, issue 11
//! acceptance; `pipeline.md` §5–6). The WAVs are read with the project's `audio::wav` reader,
//! resampled to 16 kHz with `audio::resample` when needed, converted to PCM s16le and pushed
//! through [`TurnTracker`] in 20 ms chunks, as a transport would.
//!
//! The speech-file acceptance runs at the spec defaults, so with the default `vad_type`,
//! `energy` (`pipeline.md` §5 table), and again with `earshot` (it holds for both). The noise
//! acceptance uses `earshot`, as the issue says. `report_all_files` prints the edges and what
//! each analyzer does with the `ns_*` clips (run with `--nocapture`).

mod common;

use std::path::Path;

use voxray::audio::turn::{RecorderParams, TurnEvent, TurnParams, TurnTracker};
use voxray::audio::vad::{VadParams, samples_to_duration};
use voxray::config::schema::VadType;

/// A user turn, in ms from the stream start.
#[derive(Debug, Clone, Copy)]
struct Turn {
    start_ms: f64,
    end_ms: f64,
}

fn pcm16k(name: &str) -> Vec<u8> {
    let audio = voxray::audio::wav::read_mono(&common::audio_dir().join(name)).unwrap();
    let samples = if audio.sample_rate == 16_000 {
        audio.samples
    } else {
        voxray::audio::resample::resample(&audio.samples, audio.sample_rate, 16_000).unwrap()
    };
    samples
        .into_iter()
        .flat_map(|x| voxray::audio::pcm::f32_to_i16(x).to_le_bytes())
        .collect()
}

fn ms(samples: u64) -> f64 {
    samples_to_duration(samples).as_secs_f64() * 1000.0
}

/// Run a clip through a tracker in 20 ms chunks, then 1 s of digital silence so a turn still
/// open at the end of the clip can end on silence. Returns the turns.
fn turns(name: &str, vad: VadParams, turn: TurnParams) -> Vec<Turn> {
    let mut pcm = pcm16k(name);
    pcm.extend(std::iter::repeat_n(0u8, 32_000));
    let mut tracker = TurnTracker::new(vad, turn, Some(RecorderParams::parrot())).unwrap();
    let mut events = Vec::new();
    for chunk in pcm.chunks(640) {
        tracker.push_pcm(chunk, &mut events);
    }
    let mut out = Vec::new();
    let mut open = None;
    for e in events {
        match e {
            TurnEvent::Started { speech_start } => {
                assert!(open.is_none(), "{name}: two starts in a row");
                open = Some(speech_start);
            }
            TurnEvent::Stopped {
                speech_start,
                speech_end,
                recording,
                ..
            } => {
                assert_eq!(
                    open.take(),
                    Some(speech_start),
                    "{name}: stop without start"
                );
                let rec = recording.expect("the tracker records");
                // Pre-roll 300 ms (or back to the stream start), 200 ms after the last speech.
                assert_eq!(rec.start, speech_start.saturating_sub(4800), "{name}");
                assert_eq!(rec.end(), speech_end + 3200, "{name}");
                out.push(Turn {
                    start_ms: ms(speech_start),
                    end_ms: ms(speech_end),
                });
            }
        }
    }
    assert!(
        open.is_none(),
        "{name}: turn still open after 1 s of silence"
    );
    out
}

fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(common::audio_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `(name, [(start_ms, end_ms)])` of every `utt*` clip.
fn speech_files() -> Vec<(String, Vec<(f64, f64)>)> {
    let m = manifest();
    let mut out: Vec<_> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"].as_str().unwrap().starts_with("utt"))
        .map(|f| {
            let segs = f["speech_segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["start_ms"].as_f64().unwrap(),
                        s["end_ms"].as_f64().unwrap(),
                    )
                })
                .collect();
            (f["name"].as_str().unwrap().to_string(), segs)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(out.len(), 11);
    out
}

fn with_type(vad_type: VadType) -> VadParams {
    VadParams {
        vad_type,
        ..VadParams::default()
    }
}

const UTT06: &str = "utt06_two-sentences-700ms-pause_piper-joe.wav";
const TOLERANCE_MS: f64 = 150.0;

/// Edge errors (ms) of a single turn against the span of the manifest's segments.
fn edge_errors(turn: &Turn, segs: &[(f64, f64)]) -> (f64, f64) {
    let first = segs.first().unwrap().0;
    let last = segs.last().unwrap().1;
    (turn.start_ms - first, turn.end_ms - last)
}

#[test]
fn utt06_splits_at_the_default_stop_and_not_at_one_second() {
    // The default VAD (energy), and earshot.
    for vad_type in [VadType::Energy, VadType::Earshot] {
        let two = turns(UTT06, with_type(vad_type), TurnParams::default());
        assert_eq!(two.len(), 2, "{vad_type:?}: {two:?}");
        let one = turns(
            UTT06,
            with_type(vad_type),
            TurnParams {
                stop_secs: 1.0,
                ..TurnParams::default()
            },
        );
        assert_eq!(one.len(), 1, "{vad_type:?}: {one:?}");
    }
}

#[test]
fn every_utterance_is_one_turn_within_150_ms_of_the_manifest_energy() {
    // The spec defaults, so vad_type energy.
    utterances_match_manifest(VadParams::default());
}

#[test]
fn every_utterance_is_one_turn_within_150_ms_of_the_manifest_earshot() {
    // The spec defaults with vad_type earshot.
    utterances_match_manifest(with_type(VadType::Earshot));
}

fn utterances_match_manifest(vad: VadParams) {
    // Default turn settings; utt06's two sentences are one turn only with a stop longer than
    // its 700 ms pause, so it is checked both ways.
    let mut failures = Vec::new();
    for (name, segs) in speech_files() {
        let found = turns(&name, vad, TurnParams::default());
        if name == UTT06 {
            assert_eq!(found.len(), 2, "{name}: {found:?}");
            for (t, seg) in found.iter().zip(&segs) {
                let (ds, de) = edge_errors(t, std::slice::from_ref(seg));
                if ds.abs() > TOLERANCE_MS || de.abs() > TOLERANCE_MS {
                    failures.push(format!("{name}: {t:?} vs {seg:?}"));
                }
            }
            let found = turns(
                &name,
                vad,
                TurnParams {
                    stop_secs: 1.0,
                    ..TurnParams::default()
                },
            );
            assert_eq!(found.len(), 1, "{name}: {found:?}");
            let (ds, de) = edge_errors(&found[0], &segs);
            if ds.abs() > TOLERANCE_MS || de.abs() > TOLERANCE_MS {
                failures.push(format!("{name} (stop 1.0 s): {:?} vs {segs:?}", found[0]));
            }
            continue;
        }
        if found.len() != 1 {
            failures.push(format!("{name}: {} turns {found:?}", found.len()));
            continue;
        }
        let (ds, de) = edge_errors(&found[0], &segs);
        if ds.abs() > TOLERANCE_MS || de.abs() > TOLERANCE_MS {
            failures.push(format!(
                "{name}: start {ds:+.0} ms, end {de:+.0} ms ({:?} vs {segs:?})",
                found[0]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn earshot_gives_no_turn_on_silence_quiet_noise_or_a_tone() {
    for name in [
        "ns_silence_3s.wav",
        "ns_white-noise_-50dBFS_3s.wav",
        "ns_tone_1kHz_-6dBFS_3s.wav",
    ] {
        let found = turns(name, with_type(VadType::Earshot), TurnParams::default());
        assert!(found.is_empty(), "{name}: {found:?}");
    }
}

#[test]
fn energy_gives_no_turn_on_silence_or_quiet_noise() {
    // -50 dBFS RMS is far under the default vad_threshold × vad_confidence (0.014 ≈ -37 dBFS).
    for name in ["ns_silence_3s.wav", "ns_white-noise_-50dBFS_3s.wav"] {
        let found = turns(name, VadParams::default(), TurnParams::default());
        assert!(found.is_empty(), "{name}: {found:?}");
    }
}

/// Prints, for both analyzers at the defaults, the turns found in every `utt*` and `ns_*`
/// clip and the edge errors against the manifest (the figures in the note).
#[test]
fn report_all_files() {
    let segs: Vec<_> = speech_files();
    for vad_type in [VadType::Energy, VadType::Earshot] {
        println!("== vad_type {vad_type:?}, defaults ==");
        for (name, segs) in &segs {
            let found = turns(name, with_type(vad_type), TurnParams::default());
            let edges: Vec<String> = if found.len() == 1 {
                let (ds, de) = edge_errors(&found[0], segs);
                vec![format!("start {ds:+.0} ms end {de:+.0} ms")]
            } else {
                found
                    .iter()
                    .map(|t| format!("[{:.0}-{:.0}]", t.start_ms, t.end_ms))
                    .collect()
            };
            println!("{name}: {} turn(s) {}", found.len(), edges.join(" "));
        }
        for name in [
            "ns_silence_3s.wav",
            "ns_white-noise_-50dBFS_3s.wav",
            "ns_tone_1kHz_-6dBFS_3s.wav",
            "ns_brown-noise_loud_3s.wav",
            "mix_question_pink-noise_snr10dB.wav",
        ] {
            let found = turns(name, with_type(vad_type), TurnParams::default());
            let spans: Vec<String> = found
                .iter()
                .map(|t| format!("[{:.0}-{:.0} ms]", t.start_ms, t.end_ms))
                .collect();
            println!("{name}: {} turn(s) {}", found.len(), spans.join(" "));
        }
    }
    assert!(Path::new(&common::audio_dir()).is_dir());
}
