//! The offline voice agent end to end, real models and no fakes (issue 13 acceptance): with
//! `pipeline: auto`, no cloud LLM and the models installed from the mirror, `/ws` sessions get
//! utt01…03 transcribed by the local Whisper (≥ 80 % word accuracy against manifest.json), a
//! non-empty reply from the managed llama-server, and Piper audio back that the local Whisper
//! transcribes to the bot's text with ≥ 80 % word accuracy.
//!
//! Needs the features `local-whisper` and `local-piper`, the model mirror
//! (`scripts/build-model-mirror.sh`) and llama-server (`scripts/build-llama-server.sh`, or
//! `$VOXRAY_TEST_LLAMA_SERVER`).
#![cfg(all(feature = "local-whisper", feature = "local-piper"))]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Server;
use common::wsclient::{Got, Mode, speech, talk};
use serde_json::json;
use voxray::services::SpeechToText;
use voxray::services::local::whisper::WhisperStt;
use voxray::services::local::{limit, word_accuracy};

fn llama_server() -> PathBuf {
    let p = std::env::var_os("VOXRAY_TEST_LLAMA_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
                .join("llama-server/llama-server")
        });
    assert!(
        p.is_file(),
        "no llama-server at {} (run scripts/build-llama-server.sh or set VOXRAY_TEST_LLAMA_SERVER)",
        p.display()
    );
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_agent_round_trip_over_ws() {
    let dir = common::local::models_dir();
    let server = Server::start(
        json!({
            "pipeline": "auto",
            "models_dir": dir.to_str().unwrap(),
            "local_llama_server": llama_server().to_str().unwrap(),
            "system_prompt": "You are a helpful voice assistant. Answer in one short sentence.",
        }),
        &[],
    );
    assert!(
        server.log().contains("local voice agent"),
        "{}",
        server.log()
    );
    let stt = WhisperStt::load(
        &dir.join("whisper-tiny.en/ggml-tiny.en.bin"),
        2,
        768,
        limit(1),
        None,
    )
    .unwrap();
    for name in [
        "utt01_question_piper-joe.wav",
        "utt02_command_piper-joe.wav",
        "utt05_greeting_flite-awb.wav",
    ] {
        let url = server.ws_url(&format!("/ws?{}", Mode::Json.query()));
        let t = Instant::now();
        let (got, _) = talk(
            &url,
            Mode::Json,
            speech(name),
            2000,
            Duration::from_secs(120),
            |r| r.events().iter().any(|e| e == "bot-stopped-speaking"),
        )
        .await;
        let event_texts = |kind: &str| -> Vec<String> {
            got.items
                .iter()
                .filter_map(|(_, g)| match g {
                    Got::Event(k, v) if k == kind => v["data"]["text"].as_str().map(String::from),
                    _ => None,
                })
                .collect()
        };
        // Voice to voice: the server's user-stopped-speaking → the first bot audio.
        let stopped = got.event_at("user-stopped-speaking", t);
        let first_audio = got.audio().first().map(|(at, _)| *at);
        let v2v = stopped
            .zip(first_audio)
            .map(|(s, a)| a.saturating_duration_since(s));
        let heard = event_texts("user-transcription").join(" ");
        let want = common::local::transcript(name);
        let acc_in = word_accuracy(&want, &heard);
        let llm = event_texts("bot-llm-text").concat();
        let bot = event_texts("bot-tts-text").join(" ");
        let mut pcm = Vec::new();
        let mut rate = 0;
        for (_, g) in &got.items {
            if let Got::Audio(b, r) = g {
                rate = *r;
                pcm.extend(
                    b.chunks_exact(2)
                        .map(|s| i16::from_le_bytes([s[0], s[1]]) as f32 / 32768.0),
                );
            }
        }
        assert!(
            rate > 0 && !pcm.is_empty(),
            "{name}: no bot audio: {:?}",
            got.events()
        );
        let f16k = voxray::audio::resample::resample(&pcm, rate, 16_000).unwrap();
        let pcm16: Vec<i16> = f16k.iter().map(|s| (s * 32767.0) as i16).collect();
        let back = stt.transcribe(&pcm16).await.unwrap();
        let acc_out = word_accuracy(&bot, &back);
        eprintln!(
            "{name} ({:?}, voice-to-voice {v2v:?}): heard {heard:?} ({acc_in:.2}); llm {llm:?}; \
             tts {bot:?}; {:.1} s of bot audio re-transcribed {back:?} ({acc_out:.2})",
            t.elapsed(),
            pcm.len() as f64 / rate as f64
        );
        assert!(acc_in >= 0.8, "{name}: STT {heard:?} vs {want:?}");
        assert!(!llm.trim().is_empty(), "{name}: empty LLM reply");
        assert!(
            acc_out >= 0.8,
            "{name}: bot said {bot:?}, audio heard as {back:?}"
        );
    }
}
