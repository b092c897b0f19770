//! Local Whisper STT (feature `local-whisper`) on real test speech: the models are installed
//! from the mirror with `voxray models pull --mirror`, then utt01…03 are transcribed with
//! ≥ 80 % word accuracy against manifest.json.
#![cfg(feature = "local-whisper")]

mod common;

use std::time::Instant;

use voxray::audio::wav::read_mono;
use voxray::services::SpeechToText;
use voxray::services::local::whisper::WhisperStt;
use voxray::services::local::{limit, word_accuracy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whisper_transcribes_test_utterances_with_80_percent_word_accuracy() {
    let dir = common::local::models_dir();
    let stt = WhisperStt::load(
        &dir.join("whisper-tiny.en/ggml-tiny.en.bin"),
        2,
        768,
        limit(1),
        None,
    )
    .expect("model loads");
    for name in [
        "utt01_question_piper-joe.wav",
        "utt02_command_piper-joe.wav",
        "utt03_numbers_flite-slt.wav",
    ] {
        let audio = read_mono(&common::audio_dir().join(name)).unwrap();
        assert_eq!(audio.sample_rate, 16_000);
        let t = Instant::now();
        let pcm: Vec<i16> = audio
            .samples
            .iter()
            .map(|&s| (s * 32767.0).clamp(-32768.0, 32767.0) as i16)
            .collect();
        let text = stt.transcribe(&pcm).await.unwrap();
        let want = common::local::transcript(name);
        let acc = word_accuracy(&want, &text);
        eprintln!(
            "{name}: {:?} in {:?}: {text:?} (accuracy {acc:.2})",
            want,
            t.elapsed()
        );
        assert!(
            acc >= 0.8,
            "{name}: {text:?} vs {want:?}: accuracy {acc:.2}"
        );
    }
}
