//! Phone-call load generator: N concurrent Twilio Media Streams calls against
//! `/telephony/ws` with the `echo` agent (`wire.md` §3), i.e. μ-law decode + 8→16 kHz
//! resample + 16→8 kHz resample + μ-law encode per 20 ms, per call.
//!
//! Each call sends Twilio's `connected` and `start`, then one `media` message of 160 bytes of
//! μ-law every 20 ms on absolute deadlines (open loop), calls staggered over the first second.
//! The audio is quiet noise with a loud 20 ms burst once a second; the round trip time of a
//! burst is the time from sending it to the first echoed message whose energy crosses the
//! threshold. Reported: RTT p50/p99/max (ms), drift (the p50 of the last quarter of the run
//! minus that of the first), the share of sent audio that came back, how late the
//! generator's own ticks were (p99, to show it kept up), and the server's CPU use from
//! `/proc/<pid>/stat` over the measured window (percent of one core).
//!
//! ```text
//! cargo run --release --example callgen -- --url ws://127.0.0.1:8080/telephony/ws \
//!     --calls 100,200,300 --secs 20 --pid $(pidof voxray)
//! ```
//! Options: `--url`, `--calls N[,N…]` (one run per step, 10 s apart), `--secs S` per step
//! (20), `--pid PID` of the server (CPU figures; omitted without it). The server needs
//! `runner_transport: "twilio"`, `pipeline: "echo"`, `max_sessions: 0`,
//! `max_connections_per_ip: 0` and no `twilio_auth_token`.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use voxray::audio::codec::g711::Law;

/// Messages per second of audio.
const PER_SEC: usize = 50;
/// Energy (mean square of decoded samples) above which an echoed message is a burst.
const BURST_THRESHOLD: f64 = 2000.0 * 2000.0;

/// One second of media messages: a loud 1 kHz burst first, then quiet noise.
fn media_cycle() -> Vec<Utf8Bytes> {
    let mut seed = 0x1234_5678u32;
    (0..PER_SEC)
        .map(|i| {
            let samples: Vec<i16> = (0..160)
                .map(|n| {
                    if i == 0 {
                        ((2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 8000.0).sin() * 12_000.0)
                            as i16
                    } else {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        ((seed >> 16) as i16) >> 8
                    }
                })
                .collect();
            let mut mulaw = Vec::with_capacity(160);
            Law::Mulaw.encode(&samples, &mut mulaw);
            let msg = serde_json::json!({"event":"media","sequenceNumber":"0","media":{"track":"inbound","chunk":"0","timestamp":"0","payload":B64.encode(&mulaw)},"streamSid":"MZ0"});
            Utf8Bytes::from(msg.to_string())
        })
        .collect()
}

/// What one call measured.
#[derive(Default)]
struct CallStats {
    /// (seconds since the step started, RTT ms) per burst.
    rtts: Vec<(f64, f64)>,
    sent: usize,
    received: usize,
    /// How late each send tick fired, ms.
    late: Vec<f64>,
    failed: Option<String>,
}

/// Mean square of the decoded μ-law payload of an outbound `media` message.
fn energy(text: &str, scratch: &mut Vec<u8>, pcm: &mut Vec<i16>) -> Option<f64> {
    let start = text.find("\"payload\":\"")? + 11;
    let end = start + text[start..].find('"')?;
    scratch.clear();
    B64.decode_vec(&text[start..end], scratch).ok()?;
    pcm.clear();
    Law::Mulaw.decode(scratch, pcm);
    Some(
        pcm.iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum::<f64>()
            / pcm.len().max(1) as f64,
    )
}

async fn call(
    url: String,
    id: usize,
    cycle: std::sync::Arc<Vec<Utf8Bytes>>,
    begin: tokio::time::Instant,
    step_start: Instant,
    secs: u64,
) -> CallStats {
    let mut stats = CallStats::default();
    tokio::time::sleep_until(begin).await;
    let ws = match tokio_tungstenite::connect_async(&url).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            stats.failed = Some(e.to_string());
            return stats;
        }
    };
    let (mut tx, mut rx) = ws.split();
    let sid = format!("MZ{id:032}");
    let start = serde_json::json!({"event":"start","sequenceNumber":"1","start":{"accountSid":"AC0","streamSid":sid,"callSid":format!("CA{id:032}"),"tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{}},"streamSid":sid});
    for m in [
        r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#.to_string(),
        start.to_string(),
    ] {
        if tx.send(Message::Text(m.into())).await.is_err() {
            stats.failed = Some("send failed".into());
            return stats;
        }
    }
    let t0 = tokio::time::Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let mut next = t0;
    let mut burst_sent: Option<Instant> = None;
    let (mut scratch, mut pcm) = (Vec::with_capacity(160), Vec::with_capacity(160));
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                if next >= end {
                    break;
                }
                stats.late.push(next.elapsed().as_secs_f64() * 1000.0);
                let i = stats.sent % PER_SEC;
                if tx.send(Message::Text(cycle[i].clone())).await.is_err() {
                    stats.failed = Some("send failed".into());
                    break;
                }
                if i == 0 {
                    burst_sent = Some(Instant::now());
                }
                stats.sent += 1;
                next += Duration::from_millis(20);
            }
            msg = rx.next() => {
                let Some(Ok(Message::Text(text))) = msg else {
                    if matches!(msg, None | Some(Err(_))) {
                        stats.failed = Some("socket closed".into());
                        break;
                    }
                    continue;
                };
                let Some(e) = energy(text.as_str(), &mut scratch, &mut pcm) else { continue };
                stats.received += 1;
                if e > BURST_THRESHOLD && let Some(t) = burst_sent.take() {
                    let now = Instant::now();
                    stats.rtts.push((
                        now.duration_since(step_start).as_secs_f64(),
                        now.duration_since(t).as_secs_f64() * 1000.0,
                    ));
                }
            }
        }
    }
    let stop = r#"{"event":"stop","sequenceNumber":"9","stop":{"accountSid":"AC0","callSid":"CA0"},"streamSid":"MZ0"}"#;
    let _ = tx.send(Message::Text(stop.into())).await;
    let _ = tx.close().await;
    stats
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

async fn step(url: &str, n: usize, secs: u64, pid: Option<u32>) {
    let cycle = std::sync::Arc::new(media_cycle());
    let step_start = Instant::now();
    let t0 = tokio::time::Instant::now();
    let stagger = Duration::from_secs(1).as_secs_f64() / n as f64;
    let mut handles = Vec::with_capacity(n);
    for id in 0..n {
        let begin = t0 + Duration::from_secs_f64(stagger * id as f64);
        handles.push(tokio::spawn(call(
            url.to_string(),
            id,
            cycle.clone(),
            begin,
            step_start,
            secs,
        )));
    }
    // CPU over the steady middle of the step (all calls up, none ending).
    let window = Duration::from_secs(secs.saturating_sub(2).max(1));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cpu0 = pid.and_then(cpu_ticks);
    let w0 = Instant::now();
    tokio::time::sleep(window - Duration::from_millis(500)).await;
    let cpu = match (cpu0, pid.and_then(cpu_ticks)) {
        (Some(a), Some(b)) => {
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
            Some((b - a) as f64 / hz / w0.elapsed().as_secs_f64() * 100.0)
        }
        _ => None,
    };
    let mut all = Vec::new();
    let (mut sent, mut received, mut failed) = (0, 0, 0);
    let mut late = Vec::new();
    for h in handles {
        let s = h.await.unwrap();
        sent += s.sent;
        received += s.received;
        failed += usize::from(s.failed.is_some());
        all.extend(s.rtts);
        late.extend(s.late);
    }
    let total = step_start.elapsed().as_secs_f64();
    let mut rtt: Vec<f64> = all.iter().map(|r| r.1).collect();
    rtt.sort_by(f64::total_cmp);
    let quarter = |from: f64, to: f64| {
        let mut v: Vec<f64> = all
            .iter()
            .filter(|(t, _)| *t >= from * total && *t < to * total)
            .map(|r| r.1)
            .collect();
        v.sort_by(f64::total_cmp);
        pct(&v, 0.5)
    };
    late.sort_by(f64::total_cmp);
    let report = serde_json::json!({
        "calls": n,
        "secs": secs,
        "failed_calls": failed,
        "bursts": rtt.len(),
        "rtt_ms": {"p50": pct(&rtt, 0.5), "p99": pct(&rtt, 0.99), "max": rtt.last().copied().unwrap_or(f64::NAN)},
        "drift_ms": quarter(0.75, 1.0) - quarter(0.0, 0.25),
        "returned_share": received as f64 / sent.max(1) as f64,
        "generator_late_ms_p99": pct(&late, 0.99),
        "server_cpu_pct_of_one_core": cpu,
    });
    println!("{report}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut url = "ws://127.0.0.1:8080/telephony/ws".to_string();
    let mut calls = vec![100usize];
    let mut secs = 20u64;
    let mut pid = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--url" => url = v,
            "--calls" => {
                calls = v
                    .split(',')
                    .map(|n| n.trim().parse().expect("--calls"))
                    .collect()
            }
            "--secs" => secs = v.parse().expect("--secs"),
            "--pid" => pid = Some(v.parse().expect("--pid")),
            other => panic!("unknown option {other}"),
        }
    }
    for (i, n) in calls.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        step(&url, *n, secs, pid).await;
    }
}
