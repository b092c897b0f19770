//! Hostile `/ws` clients (issue 10): per-message audio formats a client can size buffers with,
//! and message mixes that once wedged a session. Each test drives the real server over a real
//! socket and checks a positive signal (an echo, an event, a metric) before anything else.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::Server;
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use voxray::audio::pcm;
use voxray::transport::serializer::protobuf;

const FRAME: usize = 320; // 20 ms at 16 kHz

fn audio(samples: &[i16], sample_rate: u32, num_channels: u32) -> Message {
    let frame = protobuf::Frame {
        frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
            id: 0,
            name: String::new(),
            audio: pcm::to_bytes(samples),
            sample_rate,
            num_channels,
            pts: None,
        })),
    };
    Message::Binary(frame.encode_to_vec().into())
}

/// `VmRSS` of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// What one server message carries: echoed audio bytes, or an RTVI event.
enum Got {
    Audio(Vec<u8>),
    Event(Value),
    Other,
}

fn classify(msg: Message) -> Got {
    match msg {
        Message::Binary(b) => match protobuf::Frame::decode(b).ok().and_then(|f| f.frame) {
            Some(protobuf::Kind::Audio(a)) => Got::Audio(a.audio.to_vec()),
            Some(protobuf::Kind::Message(m)) => {
                Got::Event(serde_json::from_str(&m.data).unwrap_or(Value::Null))
            }
            _ => Got::Other,
        },
        Message::Text(t) => {
            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            if v["type"] == "bot-tts-audio" {
                Got::Audio(B64.decode(v["data"]["audio"].as_str().unwrap()).unwrap())
            } else {
                Got::Event(v)
            }
        }
        _ => Got::Other,
    }
}

/// Issue 10 item 1: a per-message `sample_rate` of 4294967295 once made the resampler allocate
/// gigabytes and abort the process; `1` turned 650 B into 10 MB. Every rate outside 8000–48000
/// and every channel count outside 1–2 is now refused with an error event, never resampled.
#[tokio::test]
async fn absurd_per_message_rates_are_refused_and_memory_stays_flat() {
    let server = Server::start(json!({}), &[]);
    let pid = server.child.id();
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();

    // Warm up: a valid frame is echoed (the positive signal that the session works).
    tx.send(audio(&[1; FRAME], 16_000, 1)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Got::Audio(a) = classify(rx.next().await.unwrap().unwrap()) {
                return a;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got, pcm::to_bytes(&[1; FRAME]).to_vec());
    let rss_before = rss_kib(pid);

    let bad: [(u32, u32); 7] = [
        (u32::MAX, 1),
        (2_147_483_647, 1),
        (1, 1),
        (1_000_000_000, 1),
        (7_999, 1),
        (48_001, 1),
        (16_000, 1_000_000),
    ];
    let reader = tokio::spawn(async move {
        let mut errors = 0;
        let mut stray_audio = 0;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), rx.next()).await {
                Ok(Some(Ok(m))) => match classify(m) {
                    Got::Audio(a) if a == pcm::to_bytes(&[9; FRAME]).to_vec() => {
                        return (errors, stray_audio);
                    }
                    Got::Audio(_) => stray_audio += 1,
                    Got::Event(v) if v["type"] == "error" => {
                        assert_eq!(v["data"]["fatal"], false);
                        let text = v["data"]["error"].as_str().unwrap_or("");
                        assert!(
                            text.contains("sample_rate") || text.contains("num_channels"),
                            "{text}"
                        );
                        errors += 1;
                    }
                    _ => {}
                },
                other => panic!("session ended or stalled: {other:?}"),
            }
        }
    });
    for i in 0..1000 {
        let (rate, channels) = bad[i % bad.len()];
        tx.send(audio(&[5; FRAME], rate, channels)).await.unwrap();
    }
    // JSON mode's raw-audio carries its own sampleRate (and a u64 that would truncate).
    for rate in [4_294_967_295u64, 4_294_983_296, 1] {
        let msg = json!({"label":"rtvi-ai","type":"raw-audio",
            "data":{"base64Audio": B64.encode(pcm::to_bytes(&[5; FRAME])),"sampleRate":rate,"numChannels":1}});
        tx.send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
    }
    // Then a valid frame: it must come back, and nothing of the refused ones before it.
    tx.send(audio(&[9; FRAME], 16_000, 1)).await.unwrap();
    let (errors, stray_audio) = reader.await.unwrap();
    assert_eq!(stray_audio, 0, "refused audio was echoed");
    assert!(errors >= 1, "no error event for refused audio");

    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let rss_after = rss_kib(pid);
    assert!(
        rss_after < rss_before + 20 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    assert_eq!(
        server.metric("voxray_ws_invalid_messages_total").await,
        Some(1003.0)
    );
}

/// A raw WebSocket handshake on a plain TCP socket, so the test can send frames no client
/// library would.
async fn raw_upgrade(server: &Server) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.port
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// The close code of the first close frame the server sends (unmasked server frames).
async fn close_code(s: &mut tokio::net::TcpStream) -> Option<u16> {
    use tokio::io::AsyncReadExt;
    let read = async {
        loop {
            let mut h = [0u8; 2];
            s.read_exact(&mut h).await.ok()?;
            let len = usize::from(h[1] & 0x7f);
            let len = match len {
                126 => {
                    let mut l = [0u8; 2];
                    s.read_exact(&mut l).await.ok()?;
                    usize::from(u16::from_be_bytes(l))
                }
                127 => return None,
                n => n,
            };
            let mut payload = vec![0u8; len];
            s.read_exact(&mut payload).await.ok()?;
            if h[0] & 0x0f == 0x8 {
                return Some(u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()?
}

/// A masked client frame: FIN + `first` (opcode and any reserved bits), zero mask.
fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    f.extend_from_slice(payload);
    f
}

/// Issue 10 item 10: protocol errors get a close frame with the RFC 6455 code, not a TCP drop.
#[tokio::test]
async fn protocol_errors_get_1002_and_bad_utf8_gets_1007() {
    use tokio::io::AsyncWriteExt;
    let server = Server::start(json!({}), &[]);
    // Reserved bit RSV1 set on a binary frame.
    let mut s = raw_upgrade(&server).await;
    s.write_all(&client_frame(0x80 | 0x40 | 0x2, &[1, 2]))
        .await
        .unwrap();
    assert_eq!(close_code(&mut s).await, Some(1002));
    // An unmasked client frame.
    let mut s = raw_upgrade(&server).await;
    s.write_all(&[0x82, 0x02, 1, 2]).await.unwrap();
    assert_eq!(close_code(&mut s).await, Some(1002));
    // A text frame that is not UTF-8.
    let mut s = raw_upgrade(&server).await;
    s.write_all(&client_frame(0x81, &[0xff, 0xfe, 0xfd]))
        .await
        .unwrap();
    assert_eq!(close_code(&mut s).await, Some(1007));
    // The server is fine.
    assert_eq!(
        reqwest::get(server.url("/health")).await.unwrap().status(),
        200
    );
}
