//! Session lifetimes under load and abuse (issue 10 item 3, issue 11): message mixes that
//! once wedged a session, inbound floods while the output is blocked, many sequential and
//! abruptly ended sessions, and a failing pipeline stage. Every check waits for a positive
//! signal (an echo, an event, a metric) first.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Server;
use common::wsclient::{FRAME, Got, Mode, audio_message, classify, rtvi_message, speech};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// The tests of this file each load the server hard; they run one at a time so that one's
/// load does not make another's server drop real-time audio.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ACTIVE: &str = "voxray_sessions_active{transport=\"websocket\"}";

/// Wait until `metric` equals `want` (or `within` passes); how long it took.
async fn wait_metric(
    server: &Server,
    metric: &str,
    want: f64,
    within: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if server.metric(metric).await == Some(want) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn send_text(n: usize) -> serde_json::Value {
    json!({"label":"rtvi-ai","type":"send-text","id": n.to_string(),"data":{"content": format!("text {n}")}})
}

/// One session: 600 audio frames at real time with an RTVI `send-text` after every 10th.
/// Returns (audio frames echoed, texts echoed).
async fn audio_and_text_session(url: String) -> (usize, usize) {
    let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut tx, mut rx) = ws.split();
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for i in 0..600usize {
            tick.tick().await;
            let mut frame = [0i16; FRAME];
            frame[0] = i as i16;
            tx.send(audio_message(Mode::Protobuf, &frame))
                .await
                .unwrap();
            if i % 10 == 9 {
                tx.send(rtvi_message(Mode::Protobuf, &send_text(i)))
                    .await
                    .unwrap();
            }
        }
        tx
    });
    let (mut audio, mut texts) = (0, 0);
    while audio < 600 || texts < 60 {
        let m = tokio::time::timeout(Duration::from_secs(10), rx.next())
            .await
            .expect("the session keeps answering")
            .unwrap()
            .unwrap();
        match classify(Mode::Protobuf, &m) {
            Got::Audio(bytes, _) => {
                assert_eq!(
                    i16::from_le_bytes([bytes[0], bytes[1]]),
                    audio as i16,
                    "order"
                );
                audio += 1;
            }
            Got::Event(k, _) if k == "text" => texts += 1,
            _ => {}
        }
    }
    let mut tx = sender.await.unwrap();
    tx.send(Message::Close(None)).await.unwrap();
    (audio, texts)
}

/// Issue 10 item 3: audio with an RTVI `send-text` after every 10th frame once stopped the
/// output after 7–11 frames and leaked the session's slot. 100 such sessions at once all
/// echo fully, and the sessions gauge returns to 0 within 1 s of the last close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_sessions_of_audio_and_text_echo_fully_and_release_their_slots() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = Server::start(json!({"max_sessions": 100}), &[]);
    let url = server.ws_url("/ws");
    let sessions: Vec<_> = (0..100)
        .map(|_| tokio::spawn(audio_and_text_session(url.clone())))
        .collect();
    for s in sessions {
        assert_eq!(s.await.unwrap(), (600, 60));
    }
    let took = wait_metric(&server, ACTIVE, 0.0, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t <= Duration::from_secs(1)),
        "sessions still active after the last close ({took:?})"
    );
}

/// Inbound audio far faster than real time while the paced output is full: the input half
/// drops audio (counted), control messages still go through, pings are answered, and the
/// session ends on the client's close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_while_the_output_is_blocked_keeps_the_session_responsive() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = Server::start(json!({}), &[]);
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let pongs = Arc::new(AtomicUsize::new(0));
    let texts = Arc::new(AtomicUsize::new(0));
    let (p, t) = (pongs.clone(), texts.clone());
    let reader = tokio::spawn(async move {
        while let Some(Ok(m)) = rx.next().await {
            match &m {
                Message::Pong(_) => {
                    p.fetch_add(1, Ordering::SeqCst);
                }
                m => {
                    if matches!(classify(Mode::Protobuf, m), Got::Event(k, _) if k == "text") {
                        t.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
    });
    // 60 s of audio as fast as the socket takes it, with 100 texts among it.
    for i in 0..3000usize {
        tx.send(audio_message(Mode::Protobuf, &[1; FRAME]))
            .await
            .unwrap();
        if i % 30 == 29 {
            tx.send(rtvi_message(Mode::Protobuf, &send_text(i)))
                .await
                .unwrap();
        }
    }
    tx.send(Message::Ping(vec![1, 2, 3].into())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (pongs.load(Ordering::SeqCst) == 0 || texts.load(Ordering::SeqCst) < 100)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pongs.load(Ordering::SeqCst), 1, "ping not answered");
    assert_eq!(texts.load(Ordering::SeqCst), 100, "control messages lost");
    let dropped = server
        .metric("voxray_audio_frames_dropped_total{direction=\"in\",reason=\"queue_full\"}")
        .await
        .unwrap_or(0.0);
    assert!(
        dropped > 0.0,
        "a 60 s burst cannot fit the 2 s output bound"
    );
    tx.send(Message::Close(None)).await.unwrap();
    let took = wait_metric(&server, ACTIVE, 0.0, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t <= Duration::from_secs(1)),
        "{took:?}"
    );
    reader.abort();
}

/// 200 sequential parrot sessions each get their user and bot speaking events; then 50 are
/// dropped mid-playback without a close. Sessions and runtime tasks return to the baseline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_and_abruptly_ended_parrot_sessions_leave_nothing_behind() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = Server::start(json!({"turn_stop_secs": 0.3}), &[]);
    let url = server.ws_url("/ws?pipeline=parrot");
    let mut clip = speech("hello.wav");
    clip.extend(std::iter::repeat_n(0i16, 16_000));
    let frames: Vec<Vec<i16>> = clip.chunks(FRAME).map(<[i16]>::to_vec).collect();

    // Baseline after one warm-up session.
    let one = |abrupt: bool| {
        let (url, frames) = (url.clone(), frames.clone());
        async move {
            let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
            let (mut tx, mut rx) = ws.split();
            let send = tokio::spawn(async move {
                for f in &frames {
                    // 4x real time keeps the VAD busy without overrunning its inbox.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    if tx.send(audio_message(Mode::Protobuf, f)).await.is_err() {
                        break;
                    }
                }
                tx
            });
            let mut seen = Vec::new();
            while !seen.iter().any(|e: &String| e == "bot-started-speaking") {
                let m = tokio::time::timeout(Duration::from_secs(10), rx.next())
                    .await
                    .expect("events arrive")
                    .unwrap()
                    .unwrap();
                if let Got::Event(k, _) = classify(Mode::Protobuf, &m) {
                    seen.push(k);
                }
            }
            assert_eq!(
                seen,
                [
                    "user-started-speaking",
                    "user-stopped-speaking",
                    "bot-started-speaking"
                ]
            );
            let mut tx = send.await.unwrap();
            if abrupt {
                // Drop the TCP connection mid-playback, no close frame.
                drop(tx);
                drop(rx);
            } else {
                tx.send(Message::Close(None)).await.unwrap();
                while let Some(Ok(m)) = rx.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            }
        }
    };
    one(false).await;
    wait_metric(&server, ACTIVE, 0.0, Duration::from_secs(5))
        .await
        .expect("warm-up session ended");
    let baseline = server.metric("voxray_runtime_alive_tasks").await.unwrap();

    for _ in 0..200 {
        one(false).await;
    }
    for _ in 0..50 {
        one(true).await;
    }
    assert!(
        wait_metric(&server, ACTIVE, 0.0, Duration::from_secs(5))
            .await
            .is_some(),
        "sessions still active"
    );
    let mut tasks = f64::MAX;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        tasks = server.metric("voxray_runtime_alive_tasks").await.unwrap();
        if tasks <= baseline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tasks <= baseline, "tasks {tasks} > baseline {baseline}");
    assert_eq!(
        server
            .metric("voxray_sessions_started_total{transport=\"websocket\"}")
            .await,
        Some(251.0)
    );
}
