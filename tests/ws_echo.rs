//! `/ws` with real speech over real sockets (`wire.md` §1): real-time 20 ms streaming in
//! protobuf and JSON modes with sample-exact echo, control events, token flow, the 1009 limit,
//! vanishing clients, idle timeout and malformed messages.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Server, audio_dir};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use voxray::audio::{pcm, resample, wav};
use voxray::transport::serializer::protobuf;

const FRAME: usize = 320; // 20 ms at 16 kHz

/// 16 kHz mono s16 samples of a test file, converted with the real resampler when needed.
fn speech(name: &str) -> Vec<i16> {
    let audio = wav::read_mono(&audio_dir().join(name)).unwrap();
    let samples = resample::resample(&audio.samples, audio.sample_rate, 16_000).unwrap();
    samples.into_iter().map(pcm::f32_to_i16).collect()
}

fn audio_message(samples: &[i16]) -> Message {
    let frame = protobuf::Frame {
        frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
            id: 0,
            name: String::new(),
            audio: pcm::to_bytes(samples),
            sample_rate: 16_000,
            num_channels: 1,
            pts: None,
        })),
    };
    Message::Binary(frame.encode_to_vec().into())
}

fn json_audio_message(samples: &[i16]) -> Message {
    let msg = json!({"label": "rtvi-ai", "type": "raw-audio", "id": "a",
        "data": {"base64Audio": B64.encode(pcm::to_bytes(samples)), "sampleRate": 16000, "numChannels": 1}});
    Message::Text(msg.to_string().into())
}

/// Audio bytes carried by a server message, if it is audio.
fn echoed_audio(msg: &Message, json_mode: bool) -> Option<Vec<u8>> {
    match msg {
        Message::Binary(b) if !json_mode => match protobuf::Frame::decode(b.clone()).ok()?.frame? {
            protobuf::Kind::Audio(a) => {
                assert_eq!((a.sample_rate, a.num_channels), (16_000, 1));
                Some(a.audio.to_vec())
            }
            _ => None,
        },
        Message::Text(t) if json_mode => {
            let v: Value = serde_json::from_str(t).unwrap();
            (v["type"] == "bot-tts-audio")
                .then(|| B64.decode(v["data"]["audio"].as_str().unwrap()).unwrap())
        }
        _ => None,
    }
}

/// Stream `samples` at real time in 20 ms frames; return the echoed bytes and per-frame
/// round-trip times in ms.
async fn stream_real_time(
    server: &Server,
    samples: &[i16],
    json_mode: bool,
) -> (Vec<u8>, Vec<f64>) {
    let path = if json_mode { "/ws?format=json" } else { "/ws" };
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url(path))
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let frames: Vec<Vec<i16>> = samples.chunks(FRAME).map(<[i16]>::to_vec).collect();
    let n = frames.len();
    let sent_at = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));
    let sent_clone = sent_at.clone();
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for f in frames {
            tick.tick().await;
            sent_clone.lock().unwrap().push(std::time::Instant::now());
            let msg = if json_mode {
                json_audio_message(&f)
            } else {
                audio_message(&f)
            };
            tx.send(msg).await.unwrap();
        }
        tx
    });
    let mut received = Vec::new();
    let mut rtts = Vec::new();
    let collect = async {
        while rtts.len() < n {
            let msg = rx.next().await.expect("stream open").unwrap();
            if let Some(bytes) = echoed_audio(&msg, json_mode) {
                let t = sent_at.lock().unwrap()[rtts.len()];
                rtts.push(t.elapsed().as_secs_f64() * 1000.0);
                received.extend(bytes);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .expect("all frames echoed");
    let mut tx = sender.await.unwrap();
    tx.send(Message::Close(None)).await.ok();
    (received, rtts)
}

async fn assert_sample_exact(file: &str, json_mode: bool) {
    let server = Server::start(json!({}), &[]);
    let samples = speech(file);
    let (echo, rtts) = stream_real_time(&server, &samples, json_mode).await;
    assert_eq!(
        echo,
        pcm::to_bytes(&samples).to_vec(),
        "{file}: echo must be sample-exact and in order"
    );
    let mut sorted = rtts.clone();
    sorted.sort_by(f64::total_cmp);
    let p = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{file} json={json_mode}: {} frames, RTT p50 {:.3} ms p99 {:.3} ms",
        rtts.len(),
        p(0.5),
        p(0.99)
    );
}

#[tokio::test]
async fn protobuf_echo_is_sample_exact_for_speech() {
    assert_sample_exact("utt01_question_piper-joe.wav", false).await;
    assert_sample_exact("alsa_front-center_48k.wav", false).await;
}

#[tokio::test]
async fn json_echo_is_sample_exact_for_speech() {
    assert_sample_exact("utt02_command_piper-joe.wav", true).await;
}

#[tokio::test]
async fn hello_wav_is_resampled_then_echoed_exactly() {
    let audio = wav::read_mono(&audio_dir().join("hello.wav")).unwrap();
    assert_eq!(audio.sample_rate, 44_100);
    let samples = speech("hello.wav");
    let expected_len = (audio.samples.len() as f64 * 16_000.0 / 44_100.0).ceil() as usize;
    assert_eq!(samples.len(), expected_len);
    assert!(
        samples.iter().any(|&s| s.unsigned_abs() > 3000),
        "loud speech survives resampling"
    );
    assert_sample_exact("hello.wav", false).await;
    assert_sample_exact("hello.wav", true).await;
}

async fn next_json_event(
    rx: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), rx.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match msg {
            Message::Binary(b) => {
                if let Some(protobuf::Kind::Message(m)) = protobuf::Frame::decode(b).unwrap().frame
                {
                    return serde_json::from_str(&m.data).unwrap();
                }
            }
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            _ => {}
        }
    }
}

#[tokio::test]
async fn control_events_reach_the_client_in_protobuf_frames() {
    let server = Server::start(json!({}), &[]);
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    let ready = json!({"label": "rtvi-ai", "type": "client-ready", "id": "r1", "data": {"version": "2.0.0"}});
    let frame = protobuf::Frame {
        frame: Some(protobuf::Kind::Message(protobuf::MessageFrame {
            data: ready.to_string(),
        })),
    };
    ws.send(Message::Binary(frame.encode_to_vec().into()))
        .await
        .unwrap();
    let ev = next_json_event(&mut ws).await;
    assert_eq!(ev["type"], "bot-ready");
    assert_eq!(ev["id"], "r1");
    assert_eq!(ev["data"]["version"], "2.2.0");
    assert_eq!(ev["data"]["about"]["library"], "voxray");

    // A text message in protobuf mode is read as a message frame's data; unknown types get error-response.
    ws.send(Message::Text(
        json!({"label": "rtvi-ai", "type": "frobnicate", "id": "x9"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let ev = next_json_event(&mut ws).await;
    assert_eq!(ev["type"], "error-response");
    assert_eq!(ev["id"], "x9");
    assert_eq!(ev["data"]["error"], "unsupported message type: frobnicate");

    // Malformed protobuf: dropped, counted, non-fatal error event; the session goes on.
    ws.send(Message::Binary(vec![0xff, 0xff, 0xff].into()))
        .await
        .unwrap();
    let ev = next_json_event(&mut ws).await;
    assert_eq!(ev["type"], "error");
    assert_eq!(ev["data"]["fatal"], false);
    ws.send(audio_message(&[7; FRAME])).await.unwrap();
    loop {
        let msg = ws.next().await.unwrap().unwrap();
        if let Some(bytes) = echoed_audio(&msg, false) {
            assert_eq!(bytes, pcm::to_bytes(&[7; FRAME]).to_vec());
            break;
        }
    }
    assert_eq!(
        server.metric("voxray_ws_invalid_messages_total").await,
        Some(1.0)
    );
}

#[tokio::test]
async fn oversized_message_closes_with_1009_and_others_are_unaffected() {
    let server = Server::start(json!({}), &[]);
    let (mut other, _) = tokio_tungstenite::connect_async(server.ws_url("/ws?format=raw"))
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws?format=raw"))
        .await
        .unwrap();
    let _ = ws
        .send(Message::Binary(vec![0u8; 2 * 1024 * 1024].into()))
        .await;
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(f))) => break f.expect("close frame"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(frame.code), 1009);
    assert_eq!(frame.reason.as_str(), "message too big");
    other
        .send(Message::Binary(vec![1, 2, 3, 4].into()))
        .await
        .unwrap();
    let back = tokio::time::timeout(Duration::from_secs(5), other.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(back, Message::Binary(vec![1, 2, 3, 4].into()));
}

#[tokio::test]
async fn vanished_client_ends_its_session_within_1s() {
    let server = Server::start(json!({}), &[]);
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws?format=raw"))
        .await
        .unwrap();
    ws.send(Message::Binary(vec![0u8; 640].into()))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap();
    assert_eq!(
        server
            .metric("voxray_sessions_active{transport=\"websocket\"}")
            .await,
        Some(1.0)
    );
    // Drop the TCP connection without a close frame.
    let tcp = ws.into_inner();
    drop(tcp);
    let start = std::time::Instant::now();
    loop {
        if server
            .metric("voxray_sessions_active{transport=\"websocket\"}")
            .await
            == Some(0.0)
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "session still active after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = server.log();
    assert!(log.contains("client disconnected"));
    assert!(!log.contains("ERROR"), "{log}");
}

#[tokio::test]
async fn client_close_is_answered() {
    let server = Server::start(json!({}), &[]);
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws?format=raw"))
        .await
        .unwrap();
    ws.close(None).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .expect("server answers the close");
    assert!(
        matches!(reply, Some(Ok(Message::Close(_))) | None),
        "expected the server's close frame, got {reply:?}"
    );
    assert!(
        matches!(reply, Some(Ok(Message::Close(_)))),
        "a clean close handshake"
    );
}

#[tokio::test]
async fn idle_sessions_close_with_1000() {
    let server = Server::start(json!({"ws_idle_timeout_secs": 1}), &[]);
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(f))) => break f.unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (1000, "idle timeout")
    );
}

#[tokio::test]
async fn ws_tokens_are_single_use_and_keys_are_not_tokens() {
    let key = "ws-token-test-key-Pq72Mz1Kx9Lb4";
    let server = Server::start(json!({"server_api_key": key}), &[]);
    let client = reqwest::Client::new();
    let start: Value = client
        .post(server.url("/start"))
        .bearer_auth(key)
        .json(&json!({"transport": "websocket"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = start["wsUrl"].as_str().unwrap().to_string();
    let (mut ws, res) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    assert_eq!(res.status(), 101);
    ws.send(Message::Binary(audio_message(&[1; FRAME]).into_data()))
        .await
        .unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(echoed_audio(&reply, false).is_some());

    let status = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        status(tokio_tungstenite::connect_async(url.as_str()).await),
        401,
        "replayed token"
    );
    assert_eq!(
        status(tokio_tungstenite::connect_async(server.ws_url(&format!("/ws?token={key}"))).await),
        401,
        "server key as token"
    );
    assert_eq!(
        status(tokio_tungstenite::connect_async(server.ws_url("/ws")).await),
        401,
        "no credentials"
    );
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = server.ws_url("/ws").into_client_request().unwrap();
    req.headers_mut().insert("X-API-Key", key.parse().unwrap());
    assert_eq!(
        status(tokio_tungstenite::connect_async(req).await),
        101,
        "key header admits /ws"
    );
    assert!(
        !server.log().contains(start["token"].as_str().unwrap()),
        "tokens are never logged"
    );
}

#[tokio::test]
async fn bad_query_parameters_are_422_before_upgrade() {
    let server = Server::start(json!({}), &[]);
    for q in ["format=xml", "sample_rate=100", "pipeline=nonsense"] {
        match tokio_tungstenite::connect_async(server.ws_url(&format!("/ws?{q}"))).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 422, "{q}")
            }
            other => panic!("{q}: {other:?}"),
        }
    }
}
