//! Load generator for WebSocket echo sessions: the measuring tool of `pipeline.md` §10.
//!
//! For each of K sessions it connects, then sends 16 kHz 20 ms frames on absolute deadlines
//! (open loop: a late send never shifts the schedule), sessions staggered by 5 ms. Each frame
//! starts with the marker `0x5A5A, 0xA5A5, seq & 0xFFFF, seq >> 16` followed by a quiet 440 Hz
//! tone that cannot form the marker; what comes back is scanned for markers (tolerating
//! re-chunking) and each frame's round-trip time recorded. The same client drives voxray and
//! the Pipecat peer (`bench/pipecat/`): protobuf mode speaks Pipecat's `frames.proto`.
//!
//! ```text
//! cargo run --release --example loadgen -- --url ws://127.0.0.1:8080/ws --sessions 100 --secs 30 \
//!     --server-pid $(pidof voxray) --json
//! cargo run --release --example loadgen -- --url ws://127.0.0.1:8080/ws --sweep --secs 10 --json
//! ```
//!
//! Options:
//! - `--url URL` (`ws://127.0.0.1:8080/ws`), `--format protobuf|json|raw` (protobuf; json and
//!   raw append `format=…` to the URL unless `--no-format-query`), `--key KEY` (`X-API-Key`);
//! - `--sessions K` (1), `--secs S` (10: frames per session = 50·S), `--stagger-ms M` (5);
//! - `--server-pid PID`: adds server CPU-ms per audio-second (from `/proc/PID/stat`, over the
//!   window where every session is sending) and RSS (`VmRSS` before the run, and with every
//!   session connected; per session = the difference / K);
//! - `--metrics URL` (voxray's `/metrics`): adds the server-added latency per frame from
//!   `voxray_audio_frame_latency_seconds{transport="websocket"}` over the run;
//! - `--sweep`: find the knee, the largest K with loss 0, RTT p99 ≤ `--p99-ms` (5) and drift
//!   ≤ `--drift-ms` (1): K doubles from `--from` (50) until a run fails or `--to` (4000) is
//!   reached, then bisects to within 10 %; every run is in the report;
//! - `--json`: print only the JSON report (otherwise a one-line summary per run, then it).
//!
//! Report (per run): `rtt_ms` {p50,p95,p99,max}, `drift_ms` {first_quarter_p50,
//! last_quarter_p50, drift}, `loss`, `send_lag_ms` {p99,max} (the generator is saturated when
//! this grows: such a run is flagged `generator_saturated`), `server` {cpu_ms_per_audio_sec,
//! rss_idle_kb, rss_loaded_kb, rss_per_session_kb}, `load_avg` (the machine's `/proc/loadavg`
//! before the run) and `pass`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Samples per 20 ms frame at 16 kHz.
const SAMPLES: usize = 320;
const RATE: u32 = 16_000;
const FRAME: Duration = Duration::from_millis(20);
const MARK0: [u8; 4] = [0x5A, 0x5A, 0xA5, 0xA5];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Protobuf,
    Json,
    Raw,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Protobuf => "protobuf",
            Format::Json => "json",
            Format::Raw => "raw",
        }
    }
}

/// The PCM s16le of frame 0 (the tone, marker included); later frames patch bytes 4..8.
fn tone() -> Vec<u8> {
    let mut pcm = Vec::with_capacity(SAMPLES * 2);
    for i in 0..SAMPLES {
        let s =
            ((2.0 * std::f32::consts::PI * 440.0 * i as f32 / RATE as f32).sin() * 300.0) as i16;
        pcm.extend_from_slice(&s.to_le_bytes());
    }
    pcm[..4].copy_from_slice(&MARK0);
    pcm[4..8].fill(0);
    pcm
}

/// A message template and where its marker sequence bytes live.
enum Template {
    /// Binary message; seq bytes at `offset..offset + 4`.
    Binary { bytes: Vec<u8>, offset: usize },
    /// JSON text; the first 12 base64 characters (bytes 0..9 of the PCM) at `offset`.
    Json {
        text: String,
        offset: usize,
        head: [u8; 9],
    },
}

impl Template {
    fn new(format: Format) -> Self {
        let pcm = tone();
        match format {
            Format::Raw => Template::Binary {
                bytes: pcm,
                offset: 4,
            },
            Format::Protobuf => {
                use prost::Message as _;
                use voxray::transport::serializer::protobuf;
                let bytes = protobuf::Frame {
                    frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
                        id: 0,
                        name: String::new(),
                        audio: pcm.clone().into(),
                        sample_rate: RATE,
                        num_channels: 1,
                        pts: None,
                    })),
                }
                .encode_to_vec();
                let at = find(&bytes, &MARK0).expect("marker in the encoding");
                Template::Binary {
                    bytes,
                    offset: at + 4,
                }
            }
            Format::Json => {
                let b64 = B64.encode(&pcm);
                let text = format!(
                    r#"{{"label":"rtvi-ai","type":"raw-audio","data":{{"base64Audio":"{b64}","sampleRate":{RATE},"numChannels":1}}}}"#
                );
                let offset = text.find(&b64).expect("audio in the JSON");
                let mut head = [0u8; 9];
                head.copy_from_slice(&pcm[..9]);
                Template::Json { text, offset, head }
            }
        }
    }

    fn message(&self, seq: u32) -> Message {
        let mut sb = [0u8; 4];
        sb[..2].copy_from_slice(&((seq & 0xFFFF) as u16).to_le_bytes());
        sb[2..].copy_from_slice(&((seq >> 16) as u16).to_le_bytes());
        match self {
            Template::Binary { bytes, offset } => {
                let mut b = bytes.clone();
                b[*offset..offset + 4].copy_from_slice(&sb);
                Message::Binary(b.into())
            }
            Template::Json { text, offset, head } => {
                let mut h = *head;
                h[4..8].copy_from_slice(&sb);
                let mut enc = [0u8; 12];
                B64.encode_slice(h, &mut enc).expect("12 characters");
                let mut t = text.clone();
                // SAFETY-free: base64 is ASCII; replace_range keeps the string valid.
                t.replace_range(
                    *offset..offset + 12,
                    std::str::from_utf8(&enc).expect("ascii"),
                );
                Message::Text(t.into())
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Scans echoed PCM for markers across message boundaries (sample-aligned).
#[derive(Default)]
struct Scanner {
    tail: Vec<u8>,
}

impl Scanner {
    fn scan(&mut self, pcm: &[u8], mut found: impl FnMut(u32)) {
        let mut buf = std::mem::take(&mut self.tail);
        buf.extend_from_slice(pcm);
        let n = buf.len() & !1;
        let mut i = 0;
        while i + 8 <= n {
            if buf[i..i + 4] == MARK0 {
                let lo = u16::from_le_bytes([buf[i + 4], buf[i + 5]]);
                let hi = u16::from_le_bytes([buf[i + 6], buf[i + 7]]);
                found(u32::from(lo) | (u32::from(hi) << 16));
                i += 8;
            } else {
                i += 2;
            }
        }
        // Keep up to 7 bytes (sample aligned) that may start a marker.
        let keep_from = i.max(n.saturating_sub(6));
        self.tail.clear();
        self.tail.extend_from_slice(&buf[keep_from..]);
    }
}

/// The PCM inside one echoed message, or `None` for anything else.
fn audio_of(format: Format, msg: &Message) -> Option<Vec<u8>> {
    match (format, msg) {
        (Format::Protobuf, Message::Binary(b)) => {
            use prost::Message as _;
            use voxray::transport::serializer::protobuf;
            match protobuf::Frame::decode(b.clone()).ok()?.frame? {
                protobuf::Kind::Audio(a) => Some(a.audio.to_vec()),
                _ => None,
            }
        }
        (Format::Json | Format::Raw, Message::Binary(b)) => Some(b.to_vec()),
        (Format::Json, Message::Text(t)) => {
            let t = t.as_str();
            let key = "\"audio\":\"";
            let start = t.find(key)? + key.len();
            let end = start + t[start..].find('"')?;
            B64.decode(&t[start..end]).ok()
        }
        _ => None,
    }
}

struct SessionResult {
    /// (seq, rtt ms)
    rtts: Vec<(u32, f32)>,
    /// Send lag per frame, ms.
    lags: Vec<f32>,
    sent: u32,
    failed: bool,
}

#[derive(Clone)]
struct RunOpts {
    url: String,
    key: Option<String>,
    format: Format,
    secs: u64,
    stagger: Duration,
}

async fn session(
    o: RunOpts,
    template: std::rc::Rc<Template>,
    start_at: tokio::time::Instant,
) -> SessionResult {
    tokio::time::sleep_until(start_at).await;
    let total = (o.secs * 50) as u32;
    let mut res = SessionResult {
        rtts: Vec::with_capacity(total as usize),
        lags: Vec::with_capacity(total as usize),
        sent: 0,
        failed: false,
    };
    let mut req = o.url.clone().into_client_request().expect("valid URL");
    if let Some(k) = &o.key {
        req.headers_mut()
            .insert("X-API-Key", k.parse().expect("header-safe key"));
    }
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await else {
        res.failed = true;
        return res;
    };
    if let Ok(tcp) = match ws.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(s) => Ok(s),
        _ => Err(()),
    } {
        let _ = tcp.set_nodelay(true);
    }
    let mut sent_at: Vec<Option<Instant>> = vec![None; total as usize];
    let mut scanner = Scanner::default();
    let first = tokio::time::Instant::now();
    let mut seq = 0u32;
    let mut got = 0usize;
    let end_by = first + FRAME * total + Duration::from_secs(2);
    let timer = tokio::time::sleep_until(first);
    tokio::pin!(timer);
    loop {
        if seq >= total && got >= total as usize {
            break;
        }
        tokio::select! {
            biased;
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { break };
                let now = Instant::now();
                if let Some(pcm) = audio_of(o.format, &msg) {
                    scanner.scan(&pcm, |s| {
                        if let Some(Some(t)) = sent_at.get_mut(s as usize).map(Option::take) {
                            res.rtts.push((s, (now - t).as_secs_f32() * 1000.0));
                            got += 1;
                        }
                    });
                }
            }
            () = &mut timer => {
                if seq >= total {
                    break; // the straggler deadline passed
                }
                let due = first + FRAME * seq;
                let msg = template.message(seq);
                let now = Instant::now();
                res.lags.push((tokio::time::Instant::from_std(now) - due).as_secs_f32() * 1000.0);
                sent_at[seq as usize] = Some(now);
                if ws.send(msg).await.is_err() {
                    res.failed = true;
                    break;
                }
                seq += 1;
                res.sent = seq;
                timer.as_mut().reset(if seq < total { first + FRAME * seq } else { end_by });
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    res
}

fn percentile(sorted: &[f32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    f64::from(sorted[((sorted.len() - 1) as f64 * q).round() as usize])
}

/// utime + stime of `pid` in ms (USER_HZ = 100 on Linux).
fn cpu_ms(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

fn rss_kb(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The cumulative buckets `(le seconds, count)` of the server's WebSocket frame-latency
/// histogram, scraped from its Prometheus text.
async fn server_histogram(url: &str) -> Vec<(f64, f64)> {
    let Ok(resp) = reqwest::get(url).await else {
        return Vec::new();
    };
    let text = resp.text().await.unwrap_or_default();
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
    if total == 0.0 {
        return serde_json::Value::Null;
    }
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

struct Limits {
    p99_ms: f64,
    drift_ms: f64,
}

/// One run of `k` sessions; the JSON report.
async fn run(
    k: usize,
    o: &RunOpts,
    pid: Option<u32>,
    metrics: Option<&str>,
    limits: &Limits,
) -> serde_json::Value {
    let load = loadavg();
    let before_hist = match metrics {
        Some(u) => server_histogram(u).await,
        None => Vec::new(),
    };
    let rss_idle = pid.and_then(rss_kb);
    let template = std::rc::Rc::new(Template::new(o.format));
    let t0 = tokio::time::Instant::now() + Duration::from_millis(50);
    let local = tokio::task::LocalSet::new();
    let handles: Vec<_> = (0..k)
        .map(|i| {
            local.spawn_local(session(
                o.clone(),
                template.clone(),
                t0 + o.stagger * i as u32,
            ))
        })
        .collect();
    // Sample the server while every session is sending: from 1 s after the last one started
    // to 1 s before the first one stops.
    let all_in = t0 + o.stagger * k as u32 + Duration::from_secs(1);
    let first_out = t0 + Duration::from_secs(o.secs).saturating_sub(Duration::from_secs(1));
    let sampler = async move {
        let pid = pid?;
        if first_out <= all_in {
            return None;
        }
        tokio::time::sleep_until(all_in).await;
        let (c0, w0) = (cpu_ms(pid)?, Instant::now());
        let rss_loaded = rss_kb(pid);
        tokio::time::sleep_until(first_out).await;
        let (c1, w1) = (cpu_ms(pid)?, Instant::now());
        let audio_secs = (w1 - w0).as_secs_f64() * k as f64;
        Some((
            (c1 - c0) / audio_secs,
            (c1 - c0) / (w1 - w0).as_secs_f64() / 10.0,
            rss_loaded,
        ))
    };
    let (results, sample) = local
        .run_until(async {
            let s = tokio::task::spawn_local(sampler);
            let mut results = Vec::with_capacity(k);
            for h in handles {
                results.push(h.await.expect("session task"));
            }
            (results, s.await.ok().flatten())
        })
        .await;
    let n = (o.secs * 50) as u32;
    let mut expected = 0u64;
    let mut failed = 0usize;
    let mut all: Vec<f32> = Vec::new();
    let mut q1: Vec<f32> = Vec::new();
    let mut q4: Vec<f32> = Vec::new();
    let mut lags: Vec<f32> = Vec::new();
    for r in &results {
        expected += u64::from(n);
        failed += usize::from(r.failed);
        for &(s, rtt) in &r.rtts {
            all.push(rtt);
            if s < n / 4 {
                q1.push(rtt);
            } else if s >= n * 3 / 4 {
                q4.push(rtt);
            }
        }
        lags.extend_from_slice(&r.lags);
    }
    for v in [&mut all, &mut q1, &mut q4, &mut lags] {
        v.sort_by(f32::total_cmp);
    }
    let loss = 1.0 - all.len() as f64 / expected.max(1) as f64;
    let (p50_1, p50_4) = (percentile(&q1, 0.5), percentile(&q4, 0.5));
    let drift = p50_4 - p50_1;
    let p99 = percentile(&all, 0.99);
    let lag_p99 = percentile(&lags, 0.99);
    let pass = loss == 0.0 && p99 <= limits.p99_ms && drift.abs() <= limits.drift_ms;
    let server_hist = match metrics {
        Some(u) => histogram_report(&before_hist, &server_histogram(u).await),
        None => serde_json::Value::Null,
    };
    let server = match (pid, sample) {
        (Some(_), Some((cpu, util, rss_loaded))) => serde_json::json!({
            "cpu_ms_per_audio_sec": cpu,
            "cpu_util_percent": util,
            "rss_idle_kb": rss_idle,
            "rss_loaded_kb": rss_loaded,
            "rss_per_session_kb": rss_loaded.zip(rss_idle).map(|(l, i)| (l - i) / k as f64),
        }),
        (Some(_), None) => serde_json::json!({"rss_idle_kb": rss_idle}),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "sessions": k,
        "secs": o.secs,
        "format": o.format.name(),
        "load_avg": load,
        "frames_sent": results.iter().map(|r| u64::from(r.sent)).sum::<u64>(),
        "frames_expected": expected,
        "frames_echoed": all.len(),
        "sessions_failed": failed,
        "loss": loss,
        "rtt_ms": {"p50": percentile(&all, 0.5), "p95": percentile(&all, 0.95),
                   "p99": p99, "max": all.last().map_or(f64::NAN, |v| f64::from(*v))},
        "drift_ms": {"first_quarter_p50": p50_1, "last_quarter_p50": p50_4, "drift": drift},
        "send_lag_ms": {"p99": lag_p99, "max": lags.last().map_or(f64::NAN, |v| f64::from(*v))},
        "generator_saturated": lag_p99 > 2.0,
        "server": server,
        "server_added_latency": server_hist,
        "pass": pass,
    })
}

fn summary(r: &serde_json::Value) -> String {
    format!(
        "K={:<5} p50={:.2} p99={:.2} max={:.1} ms drift={:.2} ms loss={:.4} lag_p99={:.2} ms cpu={} ms/audio-s rss/session={} KB load=[{}] {}",
        r["sessions"],
        r["rtt_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        r["rtt_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        r["rtt_ms"]["max"].as_f64().unwrap_or(f64::NAN),
        r["drift_ms"]["drift"].as_f64().unwrap_or(f64::NAN),
        r["loss"].as_f64().unwrap_or(f64::NAN),
        r["send_lag_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        r["server"]["cpu_ms_per_audio_sec"]
            .as_f64()
            .map_or("-".into(), |v| format!("{v:.3}")),
        r["server"]["rss_per_session_kb"]
            .as_f64()
            .map_or("-".into(), |v| format!("{v:.0}")),
        r["load_avg"].as_str().unwrap_or(""),
        if r["pass"].as_bool() == Some(true) {
            "PASS"
        } else {
            "FAIL"
        }
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let flag = |name: &str| args.iter().any(|a| a == name);
    let num = |name: &str, d: f64| opt(name).map_or(d, |v| v.parse().expect("a number"));
    let format = match opt("--format").as_deref() {
        None | Some("protobuf") => Format::Protobuf,
        Some("json") => Format::Json,
        Some("raw") => Format::Raw,
        Some(other) => {
            eprintln!("loadgen: --format {other}: expected protobuf, json or raw");
            std::process::exit(2);
        }
    };
    let mut url = opt("--url").unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    if format != Format::Protobuf && !flag("--no-format-query") {
        let sep = if url.contains('?') { '&' } else { '?' };
        url = format!("{url}{sep}format={}", format.name());
    }
    let o = RunOpts {
        url,
        key: opt("--key"),
        format,
        secs: num("--secs", 10.0) as u64,
        stagger: Duration::from_secs_f64(num("--stagger-ms", 5.0) / 1000.0),
    };
    let pid = opt("--server-pid").map(|p| p.parse::<u32>().expect("--server-pid PID"));
    let metrics = opt("--metrics");
    let limits = Limits {
        p99_ms: num("--p99-ms", 5.0),
        drift_ms: num("--drift-ms", 1.0),
    };
    let json_only = flag("--json");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(async {
        let once = |k: usize| {
            let o = o.clone();
            let metrics = metrics.clone();
            let limits = &limits;
            async move {
                let r = run(k, &o, pid, metrics.as_deref(), limits).await;
                if !json_only {
                    eprintln!("{}", summary(&r));
                }
                // Let the server tear the sessions down before the next run.
                tokio::time::sleep(Duration::from_secs(2)).await;
                r
            }
        };
        if !flag("--sweep") {
            return once(num("--sessions", 1.0) as usize).await;
        }
        let to = num("--to", 4000.0) as usize;
        let mut k = num("--from", 50.0) as usize;
        let mut runs = Vec::new();
        let (mut lo, mut hi): (Option<usize>, Option<usize>) = (None, None);
        loop {
            let r = once(k).await;
            let pass = r["pass"].as_bool() == Some(true);
            runs.push(r);
            if pass {
                lo = Some(k);
            } else {
                hi = Some(k);
            }
            k = match (lo, hi) {
                (Some(l), None) if l >= to => break,
                (Some(l), None) => (l * 2).min(to),
                (None, Some(h)) if h <= 1 => break,
                (None, Some(h)) => h / 2,
                (Some(l), Some(h)) if h - l <= (l / 10).max(10) => break,
                (Some(l), Some(h)) => (l + h) / 2,
                (None, None) => unreachable!(),
            };
        }
        let knee = lo.unwrap_or(0);
        let at_knee = runs
            .iter()
            .find(|r| r["sessions"].as_u64() == Some(knee as u64) && r["pass"] == true)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "knee_sessions": knee,
            "first_failing_sessions": hi,
            "limits": {"p99_ms": limits.p99_ms, "drift_ms": limits.drift_ms, "loss": 0},
            "at_knee": at_knee,
            "runs": runs,
        })
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("report serialises")
    );
}
