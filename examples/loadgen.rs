//! Load generator for `/ws` echo sessions (`pipeline.md` §10).
//!
//! For each of K sessions it connects, then sends 16 kHz 20 ms frames on absolute deadlines
//! (open loop), sessions staggered by 5 ms. Each frame starts with the marker
//! `0x5A5A, 0xA5A5, seq & 0xFFFF, seq >> 16` followed by a quiet 440 Hz tone; echoed frames are
//! matched by marker and timed. Prints a JSON report: RTT p50/p95/p99/max in ms, first- and
//! last-quarter p50 (drift), loss.
//!
//! ```text
//! cargo run --release --example loadgen -- --url ws://127.0.0.1:8080/ws --sessions 1 --secs 10
//! ```
//! Options: `--url` (default `ws://127.0.0.1:8080/ws`), `--sessions K` (1), `--secs S` (10),
//! `--format protobuf|raw` (protobuf), `--key KEY` (sent as `X-API-Key`), `--metrics URL`
//! (the server's `/metrics`: the report then adds the server-added latency per frame from
//! `voxray_audio_frame_latency_seconds{transport="websocket"}` over the run: the share of
//! frames within each bucket bound and bucket-bound percentiles).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use voxray::audio::pcm;
use voxray::transport::serializer::protobuf;

const SAMPLES: usize = 320;

fn frame(seq: u32) -> Vec<i16> {
    let mut s: Vec<i16> = (0..SAMPLES)
        .map(|i| ((2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16_000.0).sin() * 300.0) as i16)
        .collect();
    s[0] = 0x5A5A;
    s[1] = 0xA5A5u16 as i16;
    s[2] = (seq & 0xFFFF) as u16 as i16;
    s[3] = (seq >> 16) as u16 as i16;
    s
}

fn marker(bytes: &[u8]) -> Option<u32> {
    let s = pcm::from_bytes(&bytes[..bytes.len().min(8)]);
    (s.len() == 4 && s[0] == 0x5A5A && s[1] == 0xA5A5u16 as i16)
        .then(|| u32::from(s[2] as u16) | (u32::from(s[3] as u16) << 16))
}

async fn session(
    url: String,
    key: Option<String>,
    protobuf_mode: bool,
    secs: u64,
    delay: Duration,
) -> (Vec<(u32, f64)>, u32) {
    tokio::time::sleep(delay).await;
    let mut req = url.into_client_request().expect("valid URL");
    if let Some(k) = key {
        req.headers_mut()
            .insert("X-API-Key", k.parse().expect("header-safe key"));
    }
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    let (mut tx, mut rx) = ws.split();
    let total = (secs * 50) as u32;
    let start = tokio::time::Instant::now();
    let sent_at: std::sync::Arc<std::sync::Mutex<HashMap<u32, Instant>>> = Default::default();
    let sent = sent_at.clone();
    let sender = tokio::spawn(async move {
        for seq in 0..total {
            tokio::time::sleep_until(start + Duration::from_millis(20 * u64::from(seq))).await;
            let data = pcm::to_bytes(&frame(seq));
            let msg = if protobuf_mode {
                let f = protobuf::Frame {
                    frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
                        id: 0,
                        name: String::new(),
                        audio: data,
                        sample_rate: 16_000,
                        num_channels: 1,
                        pts: None,
                    })),
                };
                Message::Binary(f.encode_to_vec().into())
            } else {
                Message::Binary(data)
            };
            sent.lock().unwrap().insert(seq, Instant::now());
            if tx.send(msg).await.is_err() {
                break;
            }
        }
        tx
    });
    let mut rtts = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs + 3);
    while rtts.len() < total as usize {
        let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, rx.next()).await else {
            break;
        };
        let Message::Binary(b) = msg else { continue };
        let audio = if protobuf_mode {
            match protobuf::Frame::decode(b).ok().and_then(|f| f.frame) {
                Some(protobuf::Kind::Audio(a)) => a.audio,
                _ => continue,
            }
        } else {
            b
        };
        if let Some(seq) = marker(&audio)
            && let Some(t) = sent_at.lock().unwrap().get(&seq)
        {
            rtts.push((seq, t.elapsed().as_secs_f64() * 1000.0));
        }
    }
    let mut tx = sender.await.expect("sender");
    let _ = tx.send(Message::Close(None)).await;
    (rtts, total)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The cumulative buckets `(le seconds, count)` of the server's WebSocket frame-latency
/// histogram, scraped from its Prometheus text.
async fn server_histogram(url: &str) -> Vec<(f64, f64)> {
    let text = reqwest::get(url)
        .await
        .expect("metrics reachable")
        .text()
        .await
        .expect("metrics text");
    let prefix = "voxray_audio_frame_latency_seconds_bucket{transport=\"websocket\",le=\"";
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The run's share of frames under each bucket bound, and p50/p99 as bucket upper bounds (ms).
fn histogram_report(before: &[(f64, f64)], after: &[(f64, f64)]) -> serde_json::Value {
    let delta: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, c)| {
            let b = before
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0.0, |(_, c)| *c);
            (*le, c - b)
        })
        .collect();
    let total = delta.last().map_or(0.0, |(_, c)| *c);
    let bound = |q: f64| {
        delta
            .iter()
            .find(|(_, c)| *c >= q * total)
            .map(|(le, _)| le * 1000.0)
    };
    let shares: serde_json::Map<String, serde_json::Value> = delta
        .iter()
        .filter(|(le, _)| le.is_finite() && *le <= 0.01)
        .map(|(le, c)| {
            (
                format!("le_{}ms", le * 1000.0),
                serde_json::json!(c / total.max(1.0)),
            )
        })
        .collect();
    serde_json::json!({"frames": total, "p50_le_ms": bound(0.5), "p99_le_ms": bound(0.99), "share": shares})
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let url = opt("--url").unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let sessions: usize = opt("--sessions").map_or(1, |v| v.parse().expect("--sessions N"));
    let secs: u64 = opt("--secs").map_or(10, |v| v.parse().expect("--secs S"));
    let protobuf_mode = opt("--format").is_none_or(|f| f == "protobuf");
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = if protobuf_mode {
        url
    } else {
        format!("{url}{sep}format=raw")
    };
    let key = opt("--key");
    let metrics_url = opt("--metrics");
    let before = match &metrics_url {
        Some(u) => server_histogram(u).await,
        None => Vec::new(),
    };

    let tasks: Vec<_> = (0..sessions)
        .map(|i| {
            tokio::spawn(session(
                url.clone(),
                key.clone(),
                protobuf_mode,
                secs,
                Duration::from_millis(5 * i as u64),
            ))
        })
        .collect();
    let mut all = Vec::new();
    let mut expected = 0u64;
    for t in tasks {
        let (rtts, total) = t.await.expect("session task");
        expected += u64::from(total);
        all.extend(rtts);
    }
    let quarter = |lo: u32, hi: u32| {
        let mut v: Vec<f64> = all
            .iter()
            .filter(|(s, _)| *s >= lo && *s < hi)
            .map(|(_, r)| *r)
            .collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, 0.5)
    };
    let n = (secs * 50) as u32;
    let mut sorted: Vec<f64> = all.iter().map(|(_, r)| *r).collect();
    sorted.sort_by(f64::total_cmp);
    let server = match &metrics_url {
        Some(u) => {
            let after = server_histogram(u).await;
            histogram_report(&before, &after)
        }
        None => serde_json::Value::Null,
    };
    let report = serde_json::json!({
        "server_added_latency": server,
        "sessions": sessions,
        "secs": secs,
        "format": if protobuf_mode { "protobuf" } else { "raw" },
        "frames_sent": expected,
        "frames_echoed": sorted.len(),
        "loss": 1.0 - sorted.len() as f64 / expected.max(1) as f64,
        "rtt_ms": {"p50": percentile(&sorted, 0.5), "p95": percentile(&sorted, 0.95),
                   "p99": percentile(&sorted, 0.99), "max": sorted.last().copied().unwrap_or(f64::NAN)},
        "drift_ms": {"first_quarter_p50": quarter(0, n / 4), "last_quarter_p50": quarter(n * 3 / 4, n)},
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("report serialises")
    );
}
