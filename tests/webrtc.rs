//! WebRTC sessions end to end (`wire.md` §2, `http.md` §9): a webrtc-rs client peer on
//! loopback sends Opus made from a real speech file and checks that the echo comes back
//! (energy envelopes correlated, since Opus is lossy), over every offer path and answer shape,
//! with trickle ICE, two concurrent peers, single-use `/start` sessions and teardown.
//!
//! Prints two figures (not gates): offer-to-connected time and echo mouth-to-ear latency.

mod common;
#[path = "common/rtcpeer.rs"]
mod rtcpeer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtcpeer::{Client, Handler, Shared, local_track, opus, speech48};
use serde_json::{Value, json};
use tokio::sync::Notify;
use voxray::audio::codec::opus::FRAME_SAMPLES;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, RTCPeerConnectionState,
    RTCSessionDescription,
};

/// RMS per 20 ms frame.
fn envelope(samples: &[i16]) -> Vec<f64> {
    samples
        .chunks(FRAME_SAMPLES)
        .map(|c| (c.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / c.len() as f64).sqrt())
        .collect()
}

/// Best normalised correlation of `sent` within `got` over lags 0..=max_lag frames, and the
/// lag (frames) where it peaks.
fn best_correlation(sent: &[f64], got: &[f64], max_lag: usize) -> (f64, usize) {
    let mut best = (f64::MIN, 0);
    for lag in 0..=max_lag {
        let n = sent.len().min(got.len().saturating_sub(lag));
        if n < sent.len() / 2 {
            break;
        }
        let a = &sent[..n];
        let b = &got[lag..lag + n];
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let (ma, mb) = (mean(a), mean(b));
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        let r = if va > 0.0 && vb > 0.0 {
            cov / (va * vb).sqrt()
        } else {
            0.0
        };
        if r > best.0 {
            best = (r, lag);
        }
    }
    best
}

/// Tests that stream real-time audio and judge its timing or envelope run one at a time:
/// several at once on a small shared machine starve each other's 20 ms packet clocks and
/// measure the machine, not the server.
async fn realtime() -> tokio::sync::SemaphorePermit<'static> {
    static REALTIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    REALTIME.acquire().await.unwrap()
}

fn server() -> Server {
    Server::start(json!({"host": "127.0.0.1", "log_level": "debug"}), &[])
}

async fn request(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (u16, String) {
    let res = reqwest::Client::new()
        .request(method, server.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = request(server, reqwest::Method::POST, path, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn patch(server: &Server, path: &str, body: &Value) -> (u16, String) {
    request(server, reqwest::Method::PATCH, path, body).await
}

async fn active(server: &Server) -> f64 {
    server
        .metric("voxray_sessions_active{transport=\"webrtc\"}")
        .await
        .unwrap_or(0.0)
}

/// Poll until the webrtc session gauge reads `want`; how long that took.
async fn wait_active(server: &Server, want: f64, within: Duration) -> Duration {
    let t0 = Instant::now();
    while active(server).await != want {
        assert!(
            t0.elapsed() < within,
            "voxray_sessions_active{{transport=\"webrtc\"}} did not reach {want} within {within:?}; log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}

/// Echo check: the received audio's envelope matches the sent speech. Returns the lag in ms.
fn assert_echo(sent: &[i16], got: &[i16]) -> f64 {
    let (es, eg) = (envelope(sent), envelope(got));
    let got_energy: f64 = eg.iter().sum();
    assert!(got_energy > 0.0, "the echo is silent");
    let (r, lag) = best_correlation(&es, &eg, 150);
    assert!(
        r > 0.8,
        "echo envelope correlation {r:.3} (lag {lag} frames)"
    );
    lag as f64 * 20.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_over_webrtc_legacy_path_and_teardown() {
    let _realtime = realtime().await;
    let server = server();
    let speech = speech48("utt02_command_piper-joe.wav");
    let mut client = Client::new().await;
    let sdp = client.offer(true).await;

    let t_offer = Instant::now();
    let (status, answer) = post(&server, "/api/offer", &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(status, 200, "{answer}");
    // Pipecat shape: bare {sdp, type, pc_id}.
    assert_eq!(answer["type"], "answer");
    let pc_id = answer["pc_id"].as_str().unwrap().to_string();
    assert!(!pc_id.is_empty() && pc_id.len() <= 64);
    assert!(answer.get("data").is_none());
    let answer_sdp = answer["sdp"].as_str().unwrap();
    assert!(answer_sdp.contains("opus/48000/2") && answer_sdp.contains("a=candidate"));
    client.apply_answer(answer_sdp, &pc_id).await;
    client.wait_connected().await;
    let connect_ms = t_offer.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(active(&server).await, 1.0);

    // RTVI over the data channel: client-ready → bot-ready with the same id.
    tokio::time::timeout(Duration::from_secs(5), client.dc_open.notified())
        .await
        .expect("data channel opens");
    client
        .dc
        .send_text(
            &json!({"label":"rtvi-ai","type":"client-ready","id":"r1","data":{"version":"2.2.0"}})
                .to_string(),
        )
        .await
        .unwrap();
    let ready = client.wait_message("bot-ready").await;
    assert_eq!(ready["id"], "r1");
    assert_eq!(ready["data"]["about"]["library"], "voxray");

    // Before any speech the server sends paced silence, never our audio.
    let t_send = Instant::now();
    client
        .send_audio(&speech, Duration::from_millis(1500))
        .await;
    let got = client.received();
    let lag_ms = assert_echo(&speech, &got);
    let first = client.shared.first_audio_at.lock().unwrap().unwrap();
    println!(
        "webrtc loopback: offer-to-connected {connect_ms:.0} ms; echo mouth-to-ear {lag_ms:.0} ms \
         (envelope lag incl. the server's paced silence before the echo); first echoed audio after {:.0} ms",
        first.duration_since(t_send).as_secs_f64() * 1000.0
    );

    // A peer that closes ends its session within 1 s (generous margin for the poll).
    client.close().await;
    let took = wait_active(&server, 0.0, Duration::from_millis(1500)).await;
    println!(
        "webrtc teardown after client close: {:.0} ms",
        took.as_secs_f64() * 1000.0
    );
    // Its pc_id is gone.
    let (status, body) = patch(
        &server,
        "/api/offer",
        &json!({"pc_id": pc_id, "candidates": []}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("peer connection not found"));
    assert!(!server.log().contains(" ERROR "), "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_session_is_single_use_with_trickle_ice() {
    let _realtime = realtime().await;
    let server = server();
    let (status, start) = post(&server, "/start", &json!({})).await;
    assert_eq!(status, 200);
    let sid = start["sessionId"].as_str().unwrap().to_string();
    let path = format!("/sessions/{sid}/api/offer");

    // Unknown session ids are 404 before anything else is looked at.
    let (status, body) = post(
        &server,
        &format!("/sessions/{}/api/offer", uuid::Uuid::new_v4()),
        &json!({"sdp": "v=0", "type": "offer"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (404, Some("session not found"))
    );
    let (status, _) = post(&server, "/sessions/not-a-uuid/api/offer", &json!({})).await;
    assert_eq!(status, 404);
    // A bad offer is 422 and does not consume the session.
    let (status, body) = post(&server, &path, &json!({"sdp": "v=0\r\n", "type": "offer"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "sdp");

    // Offer without candidates (trickle): they follow by PATCH.
    let mut client = Client::new().await;
    let sdp = client.offer(false).await;
    let (status, answer) = post(&server, &path, &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(status, 200, "{answer}");
    let pc_id = answer["pc_id"].as_str().unwrap().to_string();
    client
        .apply_answer(answer["sdp"].as_str().unwrap(), &pc_id)
        .await;
    tokio::time::timeout(Duration::from_secs(5), client.gathered.notified())
        .await
        .unwrap();
    let candidates = client.candidates();
    assert!(!candidates.is_empty());
    let (status, body) = patch(
        &server,
        &path,
        &json!({"pc_id": pc_id, "candidates": candidates}),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"success"}"#));
    // The server parses candidates: garbage is 422, a missing field is 422.
    let (status, body) = patch(
        &server,
        &path,
        &json!({"pc_id": pc_id, "candidates": [{"candidate": "candidate:garbage", "sdp_mid": "0", "sdp_mline_index": 0}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = patch(&server, &path, &json!({"pc_id": pc_id})).await;
    assert_eq!(status, 422);
    client.wait_connected().await;

    // Consumed: the same id without its pc_id is 404, with another pc_id too.
    let (status, body) = post(&server, &path, &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (404, Some("session not found"))
    );
    let (status, _) = patch(&server, &path, &json!({"pc_id": "other", "candidates": []})).await;
    assert_eq!(status, 404);
    // Renegotiation with its pc_id keeps the peer connection.
    let offer = client.pc.create_offer(None).await.unwrap();
    client.pc.set_local_description(offer).await.unwrap();
    let sdp2 = client.pc.local_description().await.unwrap().sdp;
    let (status, again) = post(
        &server,
        &path,
        &json!({"sdp": sdp2, "type": "offer", "pc_id": pc_id}),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["pc_id"], pc_id.as_str());
    client
        .apply_answer(again["sdp"].as_str().unwrap(), &pc_id)
        .await;
    assert_eq!(active(&server).await, 1.0);
    client.close().await;
    wait_active(&server, 0.0, Duration::from_millis(1500)).await;
    let (status, _) = patch(&server, &path, &json!({"pc_id": pc_id, "candidates": []})).await;
    assert_eq!(status, 404);

    // restart_pc on another /start session: a new peer connection with a new pc_id, the old
    // one gone, the session bound to the new one, and still exactly one slot held.
    let (_, start) = post(&server, "/start", &json!({})).await;
    let path = format!(
        "/sessions/{}/api/offer",
        start["sessionId"].as_str().unwrap()
    );
    let mut first = Client::new().await;
    let sdp = first.offer(true).await;
    let (status, answer) = post(&server, &path, &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(status, 200);
    let old_pc = answer["pc_id"].as_str().unwrap().to_string();
    first
        .apply_answer(answer["sdp"].as_str().unwrap(), &old_pc)
        .await;
    first.wait_connected().await;
    let mut second = Client::new().await;
    let sdp = second.offer(true).await;
    let (status, answer) = post(
        &server,
        &path,
        &json!({"sdp": sdp, "type": "offer", "pc_id": old_pc, "restart_pc": true}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let pc_id = answer["pc_id"].as_str().unwrap().to_string();
    assert_ne!(pc_id, old_pc);
    second
        .apply_answer(answer["sdp"].as_str().unwrap(), &pc_id)
        .await;
    second.wait_connected().await;
    wait_active(&server, 1.0, Duration::from_millis(1500)).await;
    let (status, _) = patch(&server, &path, &json!({"pc_id": old_pc, "candidates": []})).await;
    assert_eq!(status, 404);
    let (status, _) = patch(&server, &path, &json!({"pc_id": pc_id, "candidates": []})).await;
    assert_eq!(status, 200);
    // A real client talks before it hangs up: once the data channel is up on both sides the
    // server notices the close (webrtc-rs reports a peer's DTLS close only as channel closes).
    tokio::time::timeout(Duration::from_secs(5), second.dc_open.notified())
        .await
        .expect("data channel opens");
    second
        .dc
        .send_text(
            &json!({"label":"rtvi-ai","type":"client-ready","id":"r2","data":{"version":"2.2.0"}})
                .to_string(),
        )
        .await
        .unwrap();
    assert_eq!(second.wait_message("bot-ready").await["id"], "r2");
    first.close().await;
    second.close().await;
    wait_active(&server, 0.0, Duration::from_millis(1500)).await;
    // Ended: even its own pc_id no longer finds the session.
    let (status, body) = patch(&server, &path, &json!({"pc_id": pc_id, "candidates": []})).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("session not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_peers_each_hear_their_own_echo() {
    let _realtime = realtime().await;
    let server = server();
    let speech_a = speech48("utt02_command_piper-joe.wav");
    let speech_b = speech48("utt05_greeting_flite-awb.wav");

    // Peer A: the Go Voxray form on /webrtc/offer (envelope + stringified answer).
    let mut a = Client::new().await;
    let sdp = a.offer(true).await;
    let offer_text = json!({"type": "offer", "sdp": sdp}).to_string();
    let (status, body) = post(&server, "/webrtc/offer", &json!({"offer": offer_text})).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert!(body["meta"]["requestId"].is_string());
    let answer: Value = serde_json::from_str(data["answer"].as_str().unwrap()).unwrap();
    assert_eq!(answer["type"], "answer");
    assert_eq!(answer["sdp"], data["sdp"]);
    a.apply_answer(
        data["sdp"].as_str().unwrap(),
        data["pc_id"].as_str().unwrap(),
    )
    .await;

    // Peer B: /api/v1/start then /api/v1/sessions/{id}/offer (envelope), PATCH 204.
    let (status, started) = post(&server, "/api/v1/start", &json!({})).await;
    assert_eq!(status, 201);
    let sid = started["data"]["sessionId"].as_str().unwrap();
    let path = format!("/api/v1/sessions/{sid}/offer");
    let mut b = Client::new().await;
    let sdp = b.offer(true).await;
    let (status, body) = post(&server, &path, &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].get("answer").is_none());
    let pc_b = body["data"]["pc_id"].as_str().unwrap().to_string();
    b.apply_answer(body["data"]["sdp"].as_str().unwrap(), &pc_b)
        .await;
    let (status, text) = patch(&server, &path, &json!({"pc_id": pc_b, "candidates": []})).await;
    assert_eq!((status, text.as_str()), (204, ""));

    a.wait_connected().await;
    b.wait_connected().await;
    assert_eq!(active(&server).await, 2.0);
    tokio::join!(
        a.send_audio(&speech_a, Duration::from_millis(1500)),
        b.send_audio(&speech_b, Duration::from_millis(1500)),
    );
    let (got_a, got_b) = (a.received(), b.received());
    assert_echo(&speech_a, &got_a);
    assert_echo(&speech_b, &got_b);
    // Not crossed: each peer's echo matches its own speech better than the other's.
    let own = best_correlation(&envelope(&speech_a), &envelope(&got_a), 150).0;
    let other = best_correlation(&envelope(&speech_b), &envelope(&got_a), 150).0;
    assert!(own > other + 0.2, "own {own:.2} other {other:.2}");

    a.close().await;
    wait_active(&server, 1.0, Duration::from_millis(1500)).await;
    b.close().await;
    wait_active(&server, 0.0, Duration::from_millis(1500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_duration_closes_the_peer_connection() {
    let _realtime = realtime().await;
    let server = Server::start(
        json!({"host": "127.0.0.1", "rtc_max_duration_secs": 1}),
        &[],
    );
    let mut client = Client::new().await;
    let sdp = client.offer(true).await;
    let (status, answer) = post(&server, "/api/offer", &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(status, 200);
    client
        .apply_answer(
            answer["sdp"].as_str().unwrap(),
            answer["pc_id"].as_str().unwrap(),
        )
        .await;
    client.wait_connected().await;
    let speech = speech48("utt02_command_piper-joe.wav");
    let sender = client.send_audio(&speech, Duration::ZERO);
    let watch = async {
        let t0 = Instant::now();
        wait_active(&server, 0.0, Duration::from_secs(4)).await;
        t0.elapsed()
    };
    let (_, ended_after) = tokio::join!(sender, watch);
    assert!(
        ended_after >= Duration::from_millis(900),
        "ended after {ended_after:?}"
    );
    // The client sees the connection go away too.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = *client.shared.state.lock().unwrap();
        if matches!(
            s,
            Some(
                RTCPeerConnectionState::Closed
                    | RTCPeerConnectionState::Failed
                    | RTCPeerConnectionState::Disconnected
            )
        ) {
            break;
        }
        assert!(Instant::now() < deadline, "client state {s:?}");
        let _ =
            tokio::time::timeout(Duration::from_millis(200), client.state_change.notified()).await;
    }
    assert!(
        server.log().contains("max duration reached"),
        "{}",
        server.log()
    );
}

/// `(media, direction)` per m-line of an SDP: `audio`/`video`/`application` and its
/// `a=sendrecv|sendonly|recvonly|inactive` (RFC 3264 §5.1; none given means `sendrecv`; a port
/// of 0 means rejected, reported as `rejected`).
fn m_line_directions(sdp: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, Option<String>, bool)> = None;
    let flush = |c: Option<(String, Option<String>, bool)>, out: &mut Vec<(String, String)>| {
        if let Some((media, dir, rejected)) = c {
            let dir = if rejected {
                "rejected".to_string()
            } else {
                dir.unwrap_or_else(|| "sendrecv".into())
            };
            out.push((media, dir));
        }
    };
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            flush(current.take(), &mut out);
            let mut parts = m.split_whitespace();
            let media = parts.next().unwrap_or("").to_string();
            let rejected = parts.next() == Some("0");
            current = Some((media, None, rejected));
        } else if let Some(c) = current.as_mut()
            && let Some(a) = line.strip_prefix("a=")
            && matches!(a, "sendrecv" | "sendonly" | "recvonly" | "inactive")
        {
            c.1 = Some(a.to_string());
        }
    }
    flush(current.take(), &mut out);
    out
}

/// Pipecat's prebuilt browser client offers `audio:sendrecv, video:sendrecv, video:sendonly,
/// application` (issue 11): its audio must be echoed back, and the answer's directions must
/// follow RFC 3264 §6.1 (we send no video: the video m-lines are answered `recvonly` or
/// `inactive`, never `sendrecv`/`sendonly`, and not rejected with port 0, which would stop the
/// client's camera transceiver; the audio m-line `sendrecv`). The client also sends the
/// `trackStatus` messages Pipecat's client sends on open (camera off must not mute the mic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipecat_shaped_offer_with_video_m_lines_gets_its_audio_echoed() {
    let _realtime = realtime().await;
    let server = server();
    let speech = speech48("utt02_command_piper-joe.wav");
    let mut client = Client::pipecat_shaped().await;
    let sdp = client.offer(true).await;
    let offered = m_line_directions(&sdp);
    assert_eq!(
        offered,
        [
            ("audio".to_string(), "sendrecv".to_string()),
            ("video".to_string(), "sendrecv".to_string()),
            ("video".to_string(), "sendonly".to_string()),
            ("application".to_string(), "sendrecv".to_string()),
        ],
        "the client's offer has Pipecat's m-lines:\n{sdp}"
    );
    let (status, start) = post(&server, "/start", &json!({})).await;
    assert_eq!(status, 200);
    let sid = start["sessionId"].as_str().unwrap().to_string();
    let (status, answer) = post(
        &server,
        &format!("/sessions/{sid}/api/offer"),
        &json!({"sdp": sdp, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let answer_sdp = answer["sdp"].as_str().unwrap().to_string();
    let answered = m_line_directions(&answer_sdp);
    assert_eq!(
        answered.len(),
        4,
        "one answer m-line per offer m-line:\n{answer_sdp}"
    );
    assert_eq!(
        answered[0],
        ("audio".into(), "sendrecv".into()),
        "{answer_sdp}"
    );
    for (i, (media, dir)) in answered.iter().enumerate().skip(1).take(2) {
        assert_eq!(media, "video");
        assert!(
            matches!(dir.as_str(), "recvonly" | "inactive"),
            "video m-line {i} answered {dir} (RFC 3264 §6.1: we send no video):\n{answer_sdp}"
        );
    }
    assert_eq!(answered[3].0, "application");
    client
        .apply_answer(&answer_sdp, answer["pc_id"].as_str().unwrap())
        .await;
    client.wait_connected().await;
    tokio::time::timeout(Duration::from_secs(5), client.dc_open.notified())
        .await
        .expect("data channel opens");
    // What Pipecat's client sends on every data-channel open (`syncTrackStatus`): one
    // trackStatus per transceiver, mic on, camera and screen off. Only index 0 is our audio.
    for (index, enabled) in [(0, true), (1, false), (2, false)] {
        client
            .dc
            .send_text(
                &json!({"type": "signalling", "message":
                    {"type": "trackStatus", "receiver_index": index, "enabled": enabled}})
                .to_string(),
            )
            .await
            .unwrap();
    }
    client
        .send_audio(&speech, Duration::from_millis(1500))
        .await;
    let lag_ms = assert_echo(&speech, &client.received());
    println!("pipecat-shaped offer: answer m-lines {answered:?}; echo envelope lag {lag_ms:.0} ms");
    client.close().await;
    wait_active(&server, 0.0, Duration::from_millis(1500)).await;
    assert!(!server.log().contains(" ERROR "), "{}", server.log());
}

/// End of speech in `utt01_question_piper-joe.wav` (manifest `speech_segments`), ms.
const UTT01_SPEECH_END_MS: u64 = 2400;
/// Start of speech in that file, ms: the parrot recording (300 ms pre-roll, but the stream
/// starts only 200 ms before the speech) begins at the stream's start, so the speech sits
/// this far into the played-back recording.
const UTT01_SPEECH_START_MS: u64 = 200;
/// `turn_stop_secs` default, ms.
const TURN_STOP_MS: u64 = 600;

/// A connected webrtc-rs peer running the parrot agent, chosen by the `/start` body.
async fn parrot_peer(server: &Server) -> Client {
    let mut client = Client::new().await;
    let sdp = client.offer(true).await;
    let (status, start) = post(server, "/start", &json!({"body": {"pipeline": "parrot"}})).await;
    assert_eq!(status, 200, "{start}");
    let sid = start["sessionId"].as_str().unwrap().to_string();
    let (status, answer) = post(
        server,
        &format!("/sessions/{sid}/api/offer"),
        &json!({"sdp": sdp, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    client
        .apply_answer(
            answer["sdp"].as_str().unwrap(),
            answer["pc_id"].as_str().unwrap(),
        )
        .await;
    client.wait_connected().await;
    tokio::time::timeout(Duration::from_secs(5), client.dc_open.notified())
        .await
        .expect("data channel opens");
    client
}

/// parrot over WebRTC (`pipeline.md` §4.2, issue 11): speech sent as real-time Opus comes back
/// as the recorded turn, starting within `turn_stop_secs` + 50 ms of the end of speech, with
/// the RTVI speaking events in order on the data channel.
///
/// Timing is measured on the received audio: the first audible packet after the speech ended
/// is the speech inside the played-back recording, which starts 200 ms into it (see
/// [`UTT01_SPEECH_START_MS`]), so the playback started at that onset minus 200 ms. The
/// `bot-started-speaking` event's arrival is printed (it travels on SCTP, not with the audio).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parrot_plays_the_turn_back_over_webrtc() {
    let _realtime = realtime().await;
    let server = server();
    let client = parrot_peer(&server).await;
    let speech = speech48("utt01_question_piper-joe.wav");
    let t_start = Instant::now();
    client
        .send_audio(&speech, Duration::from_millis(3000))
        .await;
    client
        .wait_events("bot-stopped-speaking", 1, Duration::from_secs(10))
        .await;
    let events = client.events();
    let order: Vec<&str> = events
        .iter()
        .map(|(_, k)| k.as_str())
        .filter(|k| k.contains("speaking"))
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
    let speech_end = t_start + Duration::from_millis(UTT01_SPEECH_END_MS);
    let onset = *client
        .audible_between(speech_end, Instant::now())
        .first()
        .expect("the turn is played back");
    let playback_start = onset - Duration::from_millis(UTT01_SPEECH_START_MS);
    let delay = playback_start.saturating_duration_since(speech_end);
    let bot_started = events
        .iter()
        .find(|(_, k)| k == "bot-started-speaking")
        .unwrap()
        .0;
    let event_delay = bot_started.saturating_duration_since(speech_end);
    println!(
        "webrtc parrot: playback starts {:.0} ms after the end of speech (audio onset {:.0} ms \
         − 200 ms of leading recording); bot-started-speaking after {:.0} ms",
        delay.as_secs_f64() * 1000.0,
        onset.duration_since(speech_end).as_secs_f64() * 1000.0,
        event_delay.as_secs_f64() * 1000.0
    );
    let bound = Duration::from_millis(TURN_STOP_MS + 50);
    assert!(delay <= bound, "playback {delay:?} after the end of speech");
    // What comes back is the turn: its envelope matches the speech.
    let got = client.received();
    let from = (speech.len() / FRAME_SAMPLES) * FRAME_SAMPLES;
    assert_echo(&speech, &got[from.min(got.len())..]);
    client.close().await;
}

/// Barge-in over WebRTC (`pipeline.md` §7): speech during playback yields exactly one
/// `bot-interrupted`, and the interrupted turn's audio stops. Asserted: no audible packet
/// arrives more than 40 ms after the `bot-interrupted` message (one 20 ms frame, the one
/// possibly already in the encoder, plus 20 ms for the data channel (SCTP) and the media
/// (SRTP) taking separate paths through both stacks; the client has no jitter buffer: packets
/// are decoded as they arrive), and at most two audible packets arrive after it at all, until
/// the next turn's `bot-started-speaking`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_stops_playback_over_webrtc() {
    let _realtime = realtime().await;
    let server = server();
    let client = parrot_peer(&server).await;
    // Turn 1, 1 s of silence (playback starts ~0.6 s in), turn 2 during the 2.6 s playback.
    let mut samples = speech48("utt01_question_piper-joe.wav");
    samples.extend(std::iter::repeat_n(0i16, 48_000));
    samples.extend(speech48("utt10_interrupt_piper-joe.wav"));
    client
        .send_audio(&samples, Duration::from_millis(3000))
        .await;
    client
        .wait_events("bot-stopped-speaking", 2, Duration::from_secs(15))
        .await;
    let events = client.events();
    let kinds: Vec<&str> = events.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "bot-interrupted").count(),
        1,
        "{kinds:?}"
    );
    let pos = |k: &str, from: usize| kinds[from..].iter().position(|e| *e == k).map(|p| p + from);
    let second_start = pos(
        "user-started-speaking",
        pos("bot-started-speaking", 0).unwrap(),
    )
    .unwrap();
    let interrupted = pos("bot-interrupted", 0).unwrap();
    let stopped = pos("bot-stopped-speaking", interrupted).unwrap();
    let next_start = pos("bot-started-speaking", interrupted).expect("turn 2 played back");
    assert!(
        second_start < interrupted && interrupted < stopped && stopped < next_start,
        "{kinds:?}"
    );
    let t_interrupt = events[interrupted].0;
    let stale = client.audible_between(t_interrupt, events[next_start].0);
    let last_ms = stale.last().map_or(0.0, |t| {
        t.duration_since(t_interrupt).as_secs_f64() * 1000.0
    });
    println!(
        "webrtc barge-in: {} audible packets after bot-interrupted, the last {last_ms:.0} ms after it",
        stale.len()
    );
    assert!(stale.len() <= 2, "{} stale audible packets", stale.len());
    assert!(
        last_ms <= 40.0,
        "stale audio {last_ms:.0} ms after the interruption"
    );
    // Playback was really going on when the interruption came.
    let played = client.audible_between(
        events[pos("bot-started-speaking", 0).unwrap()].0,
        t_interrupt,
    );
    assert!(
        played.len() > 10,
        "turn 1 was playing: {} audible packets",
        played.len()
    );
    assert_eq!(
        server
            .metric("voxray_interruptions_total{strategy=\"none\"}")
            .await,
        Some(1.0)
    );
    client.close().await;
}

/// Issue 10 #7: an offer with 1,000 ICE candidates must not make the server probe 1,000
/// endpoints, and trickle PATCHes cannot add more past the cap (422 envelope).
///
/// The offer's first 8 candidates are real loopback sockets (low priority); candidates 100 to
/// 299 are 200 more real sockets with a *higher* priority, so an ICE agent that kept them
/// would check them first (RFC 8445 §6.1.2.6 orders checks by pair priority); the rest point
/// at TEST-NET-1. Positive signal first: each of the first 8 receives a STUN binding request;
/// then none of the 200 may have received anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_offered_candidates_do_not_make_the_server_probe_a_thousand_endpoints() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let server = server();
    let client = Client::new().await;
    let sdp = client.offer(true).await;
    let mut sockets = Vec::new();
    for _ in 0..208 {
        sockets.push(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    }
    let hits: Arc<Vec<AtomicUsize>> = Arc::new((0..208).map(|_| AtomicUsize::new(0)).collect());
    let mut lines = String::new();
    for i in 0..1000usize {
        let (addr, prio) = match i {
            0..8 => (sockets[i].local_addr().unwrap().to_string(), 1000),
            100..300 => (
                sockets[8 + i - 100].local_addr().unwrap().to_string(),
                2_000_000_000,
            ),
            _ => (format!("192.0.2.1:{}", 20_000 + i), 1000),
        };
        let (ip, port) = addr.rsplit_once(':').unwrap();
        lines.push_str(&format!(
            "a=candidate:{i} 1 udp {prio} {ip} {port} typ host\r\n"
        ));
    }
    for (i, s) in sockets.into_iter().enumerate() {
        let hits = hits.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok(n) = s.recv(&mut buf).await {
                if n >= 20 && buf[0] == 0 && buf[1] == 1 {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    // The client's own candidates go; ours go into the audio section, after its a=mid.
    let mut offer: String = sdp
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("a=candidate") && !l.starts_with("a=end-of-candidates"))
        .collect();
    let at = offer.find("a=mid:0\r\n").unwrap() + "a=mid:0\r\n".len();
    offer.insert_str(at, &lines);
    let (status, answer) = post(
        &server,
        "/api/offer",
        &json!({"sdp": offer, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let pc_id = answer["pc_id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while hits[..8].iter().any(|h| h.load(Ordering::Relaxed) == 0) {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "the first 8 candidates were not all checked: {:?}",
            hits[..8]
                .iter()
                .map(|h| h.load(Ordering::Relaxed))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let probed_beyond: usize = hits[8..]
        .iter()
        .filter(|h| h.load(Ordering::Relaxed) > 0)
        .count();
    println!(
        "1,000 offered candidates: first 8 checked after {:.0} ms; {probed_beyond} of 200 \
         higher-priority candidates beyond the cap contacted",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(probed_beyond, 0, "candidates beyond the cap were contacted");
    // Trickle cannot add more: the offer already used the whole budget.
    let one = json!([{"candidate": "candidate:9999 1 udp 1000 127.0.0.1 9 typ host",
        "sdp_mid": "0", "sdp_mline_index": 0}]);
    let (status, body) = patch(
        &server,
        "/api/offer",
        &json!({"pc_id": pc_id, "candidates": one}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "validation_error", "{body}");
    assert!(body.contains("too many ICE candidates"), "{body}");
    // The end-of-candidates marker (empty) is not a candidate.
    let eoc = json!([{"candidate": "", "sdp_mid": "0", "sdp_mline_index": 0}]);
    let (status, body) = patch(
        &server,
        "/api/offer",
        &json!({"pc_id": pc_id, "candidates": eoc}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// A fresh peer cannot trickle 1,000 candidates either: the PATCH is refused whole (422).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_a_thousand_candidates_is_refused() {
    let server = server();
    let mut client = Client::new().await;
    let sdp = client.offer(false).await;
    let (status, answer) = post(&server, "/api/offer", &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(status, 200, "{answer}");
    let pc_id = answer["pc_id"].as_str().unwrap().to_string();
    let many: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"candidate": format!("candidate:{i} 1 udp 1000 192.0.2.1 {} typ host", 20_000 + i),
                "sdp_mid": "0", "sdp_mline_index": 0})
        })
        .collect();
    let (status, body) = patch(
        &server,
        "/api/offer",
        &json!({"pc_id": pc_id, "candidates": many}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("too many ICE candidates"), "{body}");
    // The client's real candidates still go in, and it connects.
    client
        .apply_answer(answer["sdp"].as_str().unwrap(), &pc_id)
        .await;
    tokio::time::timeout(Duration::from_secs(5), client.gathered.notified())
        .await
        .ok();
    let (status, body) = patch(
        &server,
        "/api/offer",
        &json!({"pc_id": pc_id, "candidates": client.candidates()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    client.wait_connected().await;
    client.close().await;
}

/// Issue 10 "Real networks": with `webrtc_udp_port_min..max` and a 1:1 NAT address
/// (`webrtc_public_ips`), the answer's candidates carry the public address and a port of the
/// range, and media flows through that address. The NAT is emulated on loopback: a relay
/// owns `127.0.0.2:P` (the public face) and forwards to the server's `127.0.0.1:P`; the
/// client's own candidates are withheld, so every packet must cross the relay. A second peer
/// while the one-port range is in use gets 503 `too_many_sessions`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_udp_port_and_nat_address_are_in_the_answer_and_media_flows() {
    let _realtime = realtime().await;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A port free on 127.0.0.1 (for the server) whose twin on 127.0.0.2 the relay takes.
    let (port, public) = loop {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        if let Ok(s) = tokio::net::UdpSocket::bind(("127.0.0.2", port)).await {
            break (port, s);
        }
    };
    let server = Server::start(
        json!({"host": "127.0.0.1", "log_level": "debug", "webrtc_udp_port_min": port,
            "webrtc_udp_port_max": port, "webrtc_public_ips": ["127.0.0.2"]}),
        &[],
    );
    let inner = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let forwarded = Arc::new(AtomicUsize::new(0));
    {
        let forwarded = forwarded.clone();
        let server_addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        tokio::spawn(async move {
            let (mut a, mut b) = ([0u8; 2048], [0u8; 2048]);
            let mut client_addr = None;
            loop {
                tokio::select! {
                    Ok((n, from)) = public.recv_from(&mut a) => {
                        client_addr = Some(from);
                        let _ = inner.send_to(&a[..n], server_addr).await;
                    }
                    Ok((n, _)) = inner.recv_from(&mut b) => {
                        if let Some(to) = client_addr {
                            forwarded.fetch_add(1, Ordering::Relaxed);
                            let _ = public.send_to(&b[..n], to).await;
                        }
                    }
                }
            }
        });
    }
    let mut client = Client::new().await;
    let sdp = client.offer(true).await;
    let hidden: String = sdp
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("a=candidate"))
        .collect();
    let (status, answer) = post(
        &server,
        "/api/offer",
        &json!({"sdp": hidden, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let answer_sdp = answer["sdp"].as_str().unwrap();
    let candidates: Vec<&str> = answer_sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate") && l.contains(" udp "))
        .collect();
    assert!(!candidates.is_empty(), "{answer_sdp}");
    for c in &candidates {
        let f: Vec<&str> = c.split_whitespace().collect();
        assert_eq!(
            (f[4], f[5]),
            ("127.0.0.2", port.to_string().as_str()),
            "candidate {c} does not carry the NAT address and the fixed port"
        );
    }
    // The range has one port, and it is taken.
    let other = Client::new().await;
    let (status, body) = post(
        &server,
        "/api/offer",
        &json!({"sdp": other.offer(true).await, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "too_many_sessions", "{body}");
    // Media flows through the public address.
    let t0 = Instant::now();
    client
        .apply_answer(answer_sdp, answer["pc_id"].as_str().unwrap())
        .await;
    client.wait_connected().await;
    let connect_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let speech = speech48("utt02_command_piper-joe.wav");
    client
        .send_audio(&speech, Duration::from_millis(1500))
        .await;
    let lag_ms = assert_echo(&speech, &client.received());
    println!(
        "fixed port {port} behind NAT address 127.0.0.2: connected in {connect_ms:.0} ms, echo lag \
         {lag_ms:.0} ms, {} packets relayed to the client",
        forwarded.load(Ordering::Relaxed)
    );
    assert!(forwarded.load(Ordering::Relaxed) > 100);
    client.close().await;
    wait_active(&server, 0.0, Duration::from_millis(1500)).await;
    // The port is free again for the next peer.
    let again = Client::new().await;
    let (status, body) = post(
        &server,
        "/api/offer",
        &json!({"sdp": again.offer(true).await, "type": "offer"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// A peer that hangs up before any data channel opens (here: it never opens one) is noticed
/// from its DTLS close_notify, within 1 s, not after the ICE consent and 5 s disconnect grace
/// (issue 10 "Real networks", `wire.md` §2.5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_closing_before_any_data_channel_is_noticed_within_a_second() {
    let server = server();
    let shared = Arc::new(Shared::default());
    let (connected, gathered) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let mut media = MediaEngine::default();
    media.register_codec(opus(), RtpCodecKind::Audio).unwrap();
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_handler(Arc::new(Handler {
            shared,
            connected: connected.clone(),
            gathered: gathered.clone(),
            state_change: Arc::new(Notify::new()),
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .unwrap();
    pc.add_track(local_track("mic", RtpCodecKind::Audio, opus().rtp_codec) as Arc<dyn TrackLocal>)
        .await
        .unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), gathered.notified())
        .await
        .unwrap();
    let sdp = pc.local_description().await.unwrap().sdp;
    assert!(!sdp.contains("m=application"));
    let (status, answer) = post(&server, "/api/offer", &json!({"sdp": sdp, "type": "offer"})).await;
    assert_eq!(status, 200, "{answer}");
    pc.set_remote_description(
        RTCSessionDescription::answer(answer["sdp"].as_str().unwrap().to_string()).unwrap(),
    )
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), connected.notified())
        .await
        .expect("connects");
    wait_active(&server, 1.0, Duration::from_secs(2)).await;
    pc.close().await.unwrap();
    let took = wait_active(&server, 0.0, Duration::from_millis(1000)).await;
    println!(
        "peer without a data channel: session ended {:.0} ms after its close",
        took.as_secs_f64() * 1000.0
    );
    assert!(server.log().contains("dtls closed"), "{}", server.log());
}
