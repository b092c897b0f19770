//! Local Piper TTS (feature `local-piper`), checked by ear with the local Whisper STT
//! (feature `local-whisper`): a sentence is synthesised, transcribed back, and must match
//! with ≥ 80 % word accuracy (intelligible speech, not noise).
#![cfg(all(feature = "local-piper", feature = "local-whisper"))]

mod common;

use std::time::Instant;

use futures_util::StreamExt;
use voxray::services::local::piper::PiperTts;
use voxray::services::local::whisper::WhisperStt;
use voxray::services::local::{limit, word_accuracy};
use voxray::services::{SpeechToText, TextToSpeech, TtsEvent, TtsRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piper_speech_transcribes_back_with_80_percent_word_accuracy() {
    let dir = common::local::models_dir();
    let tts = PiperTts::load(
        &dir.join("piper-joe-medium/en_US-joe-medium.onnx"),
        &dir.join("onnxruntime/libonnxruntime.so.1.32.0"),
        2,
        limit(1),
        None,
    )
    .expect("voice loads");
    let stt = WhisperStt::load(
        &dir.join("whisper-tiny.en/ggml-tiny.en.bin"),
        2,
        768,
        limit(1),
        None,
    )
    .expect("model loads");
    let text = "Please turn off the lights in the kitchen before you leave.";
    let t = Instant::now();
    let mut stream = tts
        .synthesize(&TtsRequest {
            text: text.into(),
            previous_text: None,
        })
        .await
        .expect("synthesis");
    let first = t.elapsed();
    let mut pcm = Vec::new();
    let mut rate = 0;
    while let Some(ev) = stream.next().await {
        if let TtsEvent::Audio {
            pcm: p,
            sample_rate,
        } = ev.unwrap()
        {
            rate = sample_rate;
            pcm.extend(p.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        }
    }
    assert_eq!(rate, 24_000);
    let secs = pcm.len() as f64 / 24_000.0;
    assert!(secs > 1.5 && secs < 10.0, "{secs} s of audio");
    // Whisper wants 16 kHz.
    let f: Vec<f32> = pcm.iter().map(|&s| s as f32 / 32768.0).collect();
    let f16k = voxray::audio::resample::resample(&f, 24_000, 16_000).unwrap();
    let pcm16: Vec<i16> = f16k.iter().map(|s| (s * 32767.0) as i16).collect();
    let heard = stt.transcribe(&pcm16).await.unwrap();
    let acc = word_accuracy(text, &heard);
    eprintln!("piper: {secs:.2} s of audio in {first:?}; whisper heard {heard:?} ({acc:.2})");
    assert!(acc >= 0.8, "heard {heard:?} for {text:?}: {acc:.2}");
}
