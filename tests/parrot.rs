//! The keyless `parrot` agent end to end over `/ws` (`pipeline.md` §4.2, §6, §7): real speech
//! streamed at real time, the recorded turn played back, the speaking events in order, and
//! barge-in during playback.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use common::wsclient::{FRAME, Got, Mode, Received, speech, talk};
use serde_json::json;

/// End of speech in `utt01_question_piper-joe.wav` (manifest), ms.
const UTT01_SPEECH_END_MS: u64 = 2400;
/// `turn_stop_secs` default, ms.
const TURN_STOP_MS: u64 = 600;

async fn parrot_round_trip(mode: Mode) {
    let server = Server::start(json!({}), &[]);
    let url = server.ws_url(&format!("/ws?pipeline=parrot&{}", mode.query()));
    let samples = speech("utt01_question_piper-joe.wav");
    let n = samples.len();
    let (got, start) = talk(&url, mode, samples, 3000, Duration::from_secs(15), |r| {
        r.events().iter().any(|e| e == "bot-stopped-speaking")
    })
    .await;
    let events = got.events();
    let order: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .filter(|e| e.contains("speaking"))
        .collect();
    assert_eq!(
        order,
        [
            "user-started-speaking",
            "user-stopped-speaking",
            "bot-started-speaking",
            "bot-stopped-speaking"
        ],
        "{events:?}"
    );
    // The recording comes back starting within turn_stop_secs + 50 ms of the end of speech.
    let speech_end = start + Duration::from_millis(UTT01_SPEECH_END_MS);
    let first_audio = got.audio().first().expect("bot audio").0;
    let delay = first_audio.duration_since(speech_end);
    assert!(
        delay <= Duration::from_millis(TURN_STOP_MS + 50),
        "first bot audio {delay:?} after the end of speech"
    );
    // It is the whole turn: pre-roll + speech + post-roll, in 20 ms messages at 16 kHz.
    let audio = got.audio();
    let total: usize = audio.iter().map(|(_, len)| len).sum::<usize>() / 2;
    assert!(
        total >= n - 3200 && total <= n + 16_000,
        "played back {total} samples of a {n}-sample clip"
    );
    assert!(
        audio[..audio.len() - 1]
            .iter()
            .all(|(_, len)| *len == FRAME * 2)
    );
    // The server measured the same turn: user turn end → first bot audio, well under 1 s.
    let count = server
        .metric("voxray_user_bot_latency_seconds_count{pipeline=\"parrot\"}")
        .await;
    let sum = server
        .metric("voxray_user_bot_latency_seconds_sum{pipeline=\"parrot\"}")
        .await
        .unwrap();
    assert_eq!(count, Some(1.0));
    assert!((0.0..0.2).contains(&sum), "user-bot latency {sum} s");
    // Paced at real time: the playback lasts about as long as the recording.
    let span = audio.last().unwrap().0.duration_since(audio[0].0);
    let expected = Duration::from_millis((total / 16) as u64);
    assert!(
        span + Duration::from_millis(150) >= expected,
        "played {expected:?} of audio in {span:?}"
    );
}

#[tokio::test]
async fn parrot_plays_the_turn_back_over_protobuf() {
    parrot_round_trip(Mode::Protobuf).await;
}

#[tokio::test]
async fn parrot_plays_the_turn_back_over_json() {
    parrot_round_trip(Mode::Json).await;
}

#[tokio::test]
async fn parrot_plays_the_turn_back_over_raw() {
    parrot_round_trip(Mode::Raw).await;
}

/// Speech during playback interrupts it: exactly one interruption, and no audio of the
/// interrupted turn more than one 20 ms frame after it.
async fn barge_in(mode: Mode) {
    let server = Server::start(json!({}), &[]);
    let url = server.ws_url(&format!("/ws?pipeline=parrot&{}", mode.query()));
    // Turn 1, then 1 s of silence (the playback starts ~0.6 s in), then turn 2 while the
    // 2.6 s playback of turn 1 is still going, then silence.
    let mut samples = speech("utt01_question_piper-joe.wav");
    samples.extend(std::iter::repeat_n(0i16, 16_000));
    samples.extend(speech("utt10_interrupt_piper-joe.wav"));
    let interrupt_marker = if mode == Mode::Protobuf {
        "interruption"
    } else {
        "bot-interrupted"
    };
    let (got, _) = talk(&url, mode, samples, 4000, Duration::from_secs(25), |r| {
        // Stop once turn 2 has been played back too.
        r.event_count("bot-stopped-speaking") >= 2
    })
    .await;
    let events = got.events();
    assert_eq!(
        events.iter().filter(|e| *e == interrupt_marker).count(),
        1,
        "{events:?}"
    );
    if mode != Mode::Protobuf {
        // RTVI order: the user starts speaking, then the bot is interrupted and stops.
        let pos =
            |k: &str, from: usize| events[from..].iter().position(|e| e == k).map(|p| p + from);
        let second_start = pos(
            "user-started-speaking",
            pos("bot-started-speaking", 0).unwrap(),
        )
        .unwrap();
        let interrupted = pos("bot-interrupted", 0).unwrap();
        let stopped = pos("bot-stopped-speaking", interrupted).unwrap();
        assert!(
            second_start < interrupted && interrupted < stopped,
            "{events:?}"
        );
    }
    let t_interrupt = got
        .items
        .iter()
        .find_map(|(t, g)| matches!(g, Got::Event(k, _) if k == interrupt_marker).then_some(*t))
        .unwrap();
    let next_start = got
        .event_at("bot-started-speaking", t_interrupt)
        .expect("turn 2 played back");
    let stale: Vec<Instant> = got
        .audio()
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| *t > t_interrupt && *t < next_start)
        .collect();
    assert!(
        stale.len() <= 1,
        "{} stale frames after the interruption",
        stale.len()
    );
    assert!(
        stale
            .iter()
            .all(|t| t.duration_since(t_interrupt) <= Duration::from_millis(20)),
        "stale audio arrived late"
    );
    assert_eq!(
        server
            .metric("voxray_interruptions_total{strategy=\"none\"}")
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn barge_in_stops_playback_over_protobuf() {
    barge_in(Mode::Protobuf).await;
}

#[tokio::test]
async fn barge_in_stops_playback_over_json() {
    barge_in(Mode::Json).await;
}

#[tokio::test]
async fn silence_gives_no_turn_and_unknown_pipelines_are_refused() {
    let server = Server::start(json!({}), &[]);
    let url = server.ws_url("/ws?pipeline=parrot");
    // 2 s of silence, then one client-ready: the bot-ready reply is the positive signal that
    // everything before it was processed.
    let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut tx, mut rx) = futures_util::StreamExt::split(ws);
    use futures_util::{SinkExt, StreamExt};
    for _ in 0..100 {
        tx.send(common::wsclient::audio_message(Mode::Protobuf, &[0; FRAME]))
            .await
            .unwrap();
    }
    tx.send(common::wsclient::rtvi_message(
        Mode::Protobuf,
        &json!({"label":"rtvi-ai","type":"client-ready","id":"1","data":{"version":"2.0.0"}}),
    ))
    .await
    .unwrap();
    let mut got = Received::default();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), rx.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let g = common::wsclient::classify(Mode::Protobuf, &m);
        let done = matches!(&g, Got::Event(k, _) if k == "bot-ready");
        got.items.push((Instant::now(), g));
        if done {
            break;
        }
    }
    assert!(got.audio().is_empty());
    assert!(!got.events().iter().any(|e| e.contains("speaking")));

    // voice is not configured on a keyless server: 422 before the upgrade.
    for q in ["pipeline=voice", "pipeline=nonsense"] {
        match tokio_tungstenite::connect_async(server.ws_url(&format!("/ws?{q}"))).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 422),
            other => panic!("{q}: expected 422, got {other:?}"),
        }
    }
}
