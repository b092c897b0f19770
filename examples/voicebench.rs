//! Voice-turn overhead benchmark (`pipeline.md` §10, issue 12): 100 concurrent `voice`
//! sessions over `/ws` against loopback provider fakes with fixed latencies, a user turn every
//! 5 s per session; prints how much the server adds to each turn beyond the providers.
//!
//! The fakes are the test fakes of `tests/fakes` (real OpenAI wire format: batch
//! `/audio/transcriptions`, SSE `/chat/completions`, streamed PCM `/audio/speech`), run on a
//! thread and runtime of their own in this process, each answering after a fixed delay: STT 100 ms, LLM first byte 150 ms, TTS first byte 80 ms
//! (330 ms in all). Each session streams 16 kHz protobuf audio frames on absolute 20 ms
//! deadlines (open loop): a `../shared/data/audio/` utterance at real time, then silence up
//! to the 5 s period, sessions staggered evenly over the first period.
//!
//! Printed figures (per answered turn): the client's view, arrival of `user-stopped-speaking`
//! → arrival of `bot-started-speaking`, minus the 330 ms of provider latency (p50/p99/max);
//! the server's `voxray_turn_overhead_seconds` histogram over the run (p50/p99 interpolated
//! within buckets) when the server exports it, and `voxray_user_bot_latency_seconds` minus
//! 330 ms; server CPU (from `/proc/<pid>/stat`, utime + stime) and RSS (`VmRSS` of
//! `/proc/<pid>/status`, peak during the run minus idle before it) per voice session; the
//! machine's load average before and after.
//!
//! Run (release build; the example starts the fakes and `target/release/voxray serve` itself):
//!
//! ```text
//! cargo build --release --example voicebench --bin voxray
//! target/release/examples/voicebench                       # 100 sessions × 3 turns
//! target/release/examples/voicebench --taskset 0           # server pinned to CPU 0 (`taskset -c 0`)
//! ```
//!
//! Options: `--sessions K` (100), `--turns N` per session (3; at least 100 turns in all is the
//! issue's bar), `--period-ms P` (5000), `--server-bin PATH` (default: `voxray` next to this
//! example's directory, i.e. `target/release/voxray`), `--taskset CPUS` (run the server under
//! `taskset -c CPUS`).
//!
//! Against a server you started yourself: `--fakes-only` starts the fakes, prints the config
//! JSON and the env var to start `voxray serve` with, and serves until killed; then
//! `--url ws://127.0.0.1:PORT/ws [--pid PID] [--key KEY]` drives that server (`/metrics` is
//! read from the same host and port; CPU and RSS need `--pid`).
//!
//! A benchmark that prints figures, not a test: the numbers depend on the machine and its load.

#[path = "../tests/fakes/mod.rs"]
mod fakes;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use voxray::audio::{pcm, resample, wav};
use voxray::transport::serializer::protobuf;

/// The fakes' fixed latencies, ms.
const STT_MS: u64 = 100;
const LLM_MS: u64 = 150;
const TTS_MS: u64 = 80;
const PROVIDER_S: f64 = (STT_MS + LLM_MS + TTS_MS) as f64 / 1000.0;
/// 20 ms at 16 kHz.
const FRAME: usize = 320;
/// Single-segment utterances of at most 2.6 s, so that a 5 s period leaves time for the turn
/// end (600 ms of silence), the providers and the reply.
const UTTERANCES: [&str; 6] = [
    "utt01_question_piper-joe.wav",
    "utt02_command_piper-joe.wav",
    "utt05_greeting_flite-awb.wav",
    "utt08_hello_espeak-en-us.wav",
    "utt10_interrupt_piper-joe.wav",
    "utt11_goodbye_flite-slt.wav",
];
const KEY: &str = "sk-voicebench";

struct Opts {
    sessions: usize,
    turns: usize,
    period: Duration,
    server_bin: Option<PathBuf>,
    taskset: Option<String>,
    url: Option<String>,
    pid: Option<u32>,
    key: Option<String>,
    fakes_only: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("voicebench: {msg} (see the doc comment of examples/voicebench.rs)");
    std::process::exit(2);
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        sessions: 100,
        turns: 3,
        period: Duration::from_millis(5000),
        server_bin: None,
        taskset: None,
        url: None,
        pid: None,
        key: None,
        fakes_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--sessions" => o.sessions = val().parse().unwrap_or_else(|_| usage("--sessions")),
            "--turns" => o.turns = val().parse().unwrap_or_else(|_| usage("--turns")),
            "--period-ms" => {
                o.period =
                    Duration::from_millis(val().parse().unwrap_or_else(|_| usage("--period-ms")))
            }
            "--server-bin" => o.server_bin = Some(val().into()),
            "--taskset" => o.taskset = Some(val()),
            "--url" => o.url = Some(val()),
            "--pid" => o.pid = Some(val().parse().unwrap_or_else(|_| usage("--pid"))),
            "--key" => o.key = Some(val()),
            "--fakes-only" => o.fakes_only = true,
            other => usage(&format!("unknown option {other}")),
        }
    }
    if o.sessions == 0 || o.turns == 0 {
        usage("--sessions and --turns must be at least 1");
    }
    o
}

/// The shared test audio directory (`../shared/data/audio` next to the repository).
fn audio_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = repo.join("../shared/data/audio");
    if !dir.is_dir() {
        usage(&format!("test audio not found at {}", dir.display()));
    }
    dir
}

/// An utterance as 16 kHz protobuf audio messages, one per 20 ms.
fn utterance_messages(name: &str) -> Vec<Message> {
    let audio = wav::read_mono(&audio_dir().join(name)).expect("readable test WAV");
    let samples: Vec<i16> = resample::resample(&audio.samples, audio.sample_rate, 16_000)
        .expect("resample")
        .into_iter()
        .map(pcm::f32_to_i16)
        .collect();
    samples
        .chunks(FRAME)
        .map(|c| {
            let mut f = c.to_vec();
            f.resize(FRAME, 0);
            audio_message(&f)
        })
        .collect()
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

/// What a session saw: event kinds with arrival times.
#[derive(Default)]
struct SessionLog {
    events: Vec<(Instant, &'static str)>,
    connect_error: Option<String>,
    /// Audio frames the sender was more than 20 ms late for (client saturation).
    late_frames: u32,
}

const WATCHED: [&str; 4] = [
    "user-stopped-speaking",
    "bot-started-speaking",
    "bot-stopped-speaking",
    "error",
];

async fn session(
    url: String,
    key: Option<String>,
    start_at: tokio::time::Instant,
    turns: Vec<Arc<Vec<Message>>>,
    period: Duration,
) -> SessionLog {
    let mut log = SessionLog::default();
    tokio::time::sleep_until(start_at).await;
    let mut req = url.into_client_request().expect("valid URL");
    if let Some(k) = key {
        req.headers_mut()
            .insert("X-API-Key", k.parse().expect("header-safe key"));
    }
    let ws = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            log.connect_error = Some(e.to_string());
            return log;
        }
    };
    let (mut tx, mut rx) = ws.split();
    let reader = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(Ok(m)) = rx.next().await {
            let Message::Binary(b) = m else { continue };
            let Ok(protobuf::Frame {
                frame: Some(protobuf::Kind::Message(msg)),
            }) = protobuf::Frame::decode(b)
            else {
                continue;
            };
            let now = Instant::now();
            // Cheap: look for the type string rather than parsing every message.
            if let Some(kind) = WATCHED
                .iter()
                .find(|k| msg.data.contains(&format!("\"type\":\"{k}\"")))
            {
                events.push((now, *kind));
            }
        }
        events
    });
    let silence = audio_message(&[0; FRAME]);
    let per_period = (period.as_millis() / 20) as usize;
    let tick = Duration::from_millis(20);
    let t0 = tokio::time::Instant::now();
    let mut n: u32 = 0;
    // Each turn: the utterance, then silence to the end of the period; 2 s more at the end
    // for the last answer.
    let tail = (2000 / 20) as usize;
    'send: for (t, utt) in turns.iter().enumerate() {
        let frames = utt
            .iter()
            .cloned()
            .chain(std::iter::repeat(silence.clone()))
            .take(per_period + if t + 1 == turns.len() { tail } else { 0 });
        for m in frames {
            let due = t0 + tick * n;
            n += 1;
            if tokio::time::Instant::now() > due + tick {
                log.late_frames += 1;
            }
            tokio::time::sleep_until(due).await;
            if tx.send(m).await.is_err() {
                break 'send;
            }
        }
    }
    let _ = tx.close().await;
    match tokio::time::timeout(Duration::from_secs(2), reader).await {
        Ok(Ok(ev)) => log.events = ev,
        _ => {}
    }
    log
}

/// Per turn of a session: (user-stopped-speaking → bot-started-speaking) in seconds, for each
/// `user-stopped-speaking` answered before the next one; and how many were not answered.
fn turn_latencies(events: &[(Instant, &'static str)]) -> (Vec<f64>, usize) {
    let mut out = Vec::new();
    let mut unanswered = 0;
    let mut pending: Option<Instant> = None;
    for (t, k) in events {
        match *k {
            "user-stopped-speaking" => {
                if pending.replace(*t).is_some() {
                    unanswered += 1;
                }
            }
            "bot-started-speaking" => {
                if let Some(s) = pending.take() {
                    out.push(t.duration_since(s).as_secs_f64());
                }
            }
            _ => {}
        }
    }
    if pending.is_some() {
        unanswered += 1;
    }
    (out, unanswered)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// `(le, cumulative count)` of histogram `name` with label `pipeline="voice"` in a Prometheus
/// text exposition; empty when absent.
fn buckets(text: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{");
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        if !rest.contains("pipeline=\"voice\"") {
            continue;
        }
        let Some(le) = rest.split("le=\"").nth(1).and_then(|r| r.split('"').next()) else {
            continue;
        };
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::NAN)
        };
        let count: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        out.push((le, count));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Quantile `p` of the observations between two snapshots of a histogram (linear within the
/// bucket that holds it); `None` when nothing was observed.
fn hist_quantile(before: &[(f64, f64)], after: &[(f64, f64)], p: f64) -> Option<(f64, f64)> {
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
    let total = delta.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let want = p * total;
    let mut prev = (0.0, 0.0);
    for (le, c) in &delta {
        if *c >= want {
            if le.is_infinite() {
                return Some((prev.0, total));
            }
            let frac = if c > &prev.1 {
                (want - prev.1) / (c - prev.1)
            } else {
                1.0
            };
            return Some((prev.0 + (le - prev.0) * frac, total));
        }
        prev = (*le, *c);
    }
    None
}

/// Sum over the series of `name` (a histogram's `_sum` or `_count`) whose labels contain
/// `label` in a Prometheus text exposition.
fn series_total(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
                && l.contains(label)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Mean of histogram `name` (series matching `label`) over the observations between two
/// snapshots, seconds, and how many there were.
fn hist_mean(before: &str, after: &str, name: &str, label: &str) -> Option<(f64, f64)> {
    let n = series_total(after, &format!("{name}_count"), label)
        - series_total(before, &format!("{name}_count"), label);
    let sum = series_total(after, &format!("{name}_sum"), label)
        - series_total(before, &format!("{name}_sum"), label);
    (n > 0.0).then(|| (sum / n, n))
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`: state is field 3; utime 14, stime 15.
    let rest = stat.rsplit(')').next()?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn metrics_text(url: &str) -> String {
    match reqwest::get(url).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

struct Fakes {
    stt: fakes::Fake,
    llm: fakes::Fake,
    tts: fakes::Fake,
}

/// The provider base URLs (STT, LLM, TTS).
struct FakeUrls {
    stt: String,
    llm: String,
    tts: String,
}

/// Start the three fakes on their own thread and runtime, so that their fixed delays are not
/// stretched by the 100 sessions' tasks of this process; they live until the process exits.
fn start_fakes() -> FakeUrls {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("fakes runtime");
        rt.block_on(async move {
            let f = Fakes {
                stt: fakes::Fake::openai(KEY).await,
                llm: fakes::Fake::openai(KEY).await,
                tts: fakes::Fake::openai(KEY).await,
            };
            f.stt.set_latency(Duration::from_millis(STT_MS));
            f.llm.set_latency(Duration::from_millis(LLM_MS));
            f.tts.set_latency(Duration::from_millis(TTS_MS));
            let _ = tx.send(FakeUrls {
                stt: f.stt.base_url(),
                llm: f.llm.base_url(),
                tts: f.tts.base_url(),
            });
            std::future::pending::<()>().await;
            drop(f);
        });
    });
    rx.recv().expect("fakes started")
}

fn server_config(f: &FakeUrls) -> serde_json::Value {
    serde_json::json!({
        "host": "127.0.0.1",
        "port": 0,
        "pipeline": "voice",
        "provider": "openai",
        "stt_base_url": f.stt,
        "llm_base_url": f.llm,
        "tts_base_url": f.tts,
        "max_sessions": 10_000,
        "max_connections_per_ip": 0,
        "log_level": "info",
    })
}

/// `voxray serve` with `config`; returns the child and its port.
fn spawn_server(bin: &PathBuf, taskset: Option<&str>, config: &serde_json::Value) -> (Child, u16) {
    let dir = std::env::temp_dir().join(format!("voicebench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).expect("config written");
    let mut cmd = match taskset {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.arg("serve")
        .arg("--config")
        .arg(&path)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VOXRAY_KEYRING_BACKEND", "none")
        .env("OPENAI_API_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| usage(&format!("cannot start {}: {e}", bin.display())));
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(rest) = line.split("listening addr=").nth(1) {
                    let port = rest
                        .split_whitespace()
                        .next()
                        .and_then(|a| a.rsplit(':').next())
                        .and_then(|p| p.parse::<u16>().ok());
                    let _ = tx.send(port);
                    sent = true;
                    continue;
                }
            }
            if line.contains("ERROR") || !sent {
                eprintln!("server: {line}");
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(port)) => (child, port),
        _ => {
            let _ = child.kill();
            usage("the server did not print its `listening addr=` line within 30 s");
        }
    }
}

#[tokio::main]
async fn main() {
    let o = parse_opts();
    let mut child: Option<Child> = None;
    let (url, pid) = if let Some(url) = o.url.clone() {
        (url, o.pid)
    } else {
        let f = start_fakes();
        let config = server_config(&f);
        if o.fakes_only {
            println!("fakes up (STT {STT_MS} ms, LLM {LLM_MS} ms, TTS {TTS_MS} ms).");
            println!("config.json for `voxray serve --config config.json`:\n{config:#}");
            println!("env: OPENAI_API_KEY={KEY}");
            std::future::pending::<()>().await;
        }
        let bin = o.server_bin.clone().unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("own path");
            exe.parent()
                .and_then(|p| p.parent())
                .expect("target/<profile>/examples")
                .join("voxray")
        });
        let (c, port) = spawn_server(&bin, o.taskset.as_deref(), &config);
        let pid = c.id();
        child = Some(c);
        (format!("ws://127.0.0.1:{port}/ws"), Some(pid))
    };
    let base = url
        .split("/ws")
        .next()
        .unwrap_or(&url)
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let metrics_url = format!("{base}/metrics");
    let session_url = format!(
        "{url}{}pipeline=voice&format=protobuf",
        if url.contains('?') { '&' } else { '?' }
    );

    let utts: Vec<Arc<Vec<Message>>> = UTTERANCES
        .iter()
        .map(|n| Arc::new(utterance_messages(n)))
        .collect();
    // Let the server settle, then take the idle figures.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let load_before = loadavg();
    let idle_rss = pid.and_then(rss_kib);
    let metrics_before = metrics_text(&metrics_url).await;

    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let stagger = o.period / o.sessions as u32;
    let mut handles = Vec::with_capacity(o.sessions);
    for i in 0..o.sessions {
        let turns: Vec<Arc<Vec<Message>>> = (0..o.turns)
            .map(|t| utts[(i + t) % utts.len()].clone())
            .collect();
        handles.push(tokio::spawn(session(
            session_url.clone(),
            o.key.clone(),
            start + stagger * i as u32,
            turns,
            o.period,
        )));
    }
    // Sample CPU over the steady part (all sessions streaming: after the stagger, until the
    // first session finishes) and RSS every 250 ms over the whole run.
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let steady_from = start + o.period;
    let steady_to = start + o.period * o.turns as u32;
    let sampler = tokio::spawn(async move {
        let mut peak = 0u64;
        let mut cpu = (None, None);
        let mut iv = tokio::time::interval(Duration::from_millis(250));
        loop {
            iv.tick().await;
            let now = tokio::time::Instant::now();
            if let Some(p) = pid {
                peak = peak.max(rss_kib(p).unwrap_or(0));
                if cpu.0.is_none() && now >= steady_from {
                    cpu.0 = cpu_ticks(p).map(|t| (t, Instant::now()));
                }
                if cpu.1.is_none() && now >= steady_to {
                    cpu.1 = cpu_ticks(p).map(|t| (t, Instant::now()));
                    return (peak, cpu);
                }
            } else if now >= steady_to {
                return (peak, cpu);
            }
        }
    });
    let mut logs = Vec::with_capacity(o.sessions);
    for h in handles {
        logs.push(h.await.expect("session task"));
    }
    let (peak_rss, cpu) = sampler.await.expect("sampler");
    let metrics_after = metrics_text(&metrics_url).await;
    let load_after = loadavg();

    let mut lat = Vec::new();
    let mut unanswered = 0;
    let mut errors = 0;
    let mut failed = Vec::new();
    let mut late = 0u32;
    for l in &logs {
        if let Some(e) = &l.connect_error {
            failed.push(e.clone());
            continue;
        }
        let (v, u) = turn_latencies(&l.events);
        lat.extend(v);
        unanswered += u;
        errors += l.events.iter().filter(|(_, k)| *k == "error").count();
        late += l.late_frames;
    }
    lat.sort_by(f64::total_cmp);
    let ms = |s: f64| s * 1000.0;
    println!(
        "voicebench: {} voice sessions over /ws (protobuf), {} turns each every {} ms; fakes: \
         STT {STT_MS} ms, LLM TTFB {LLM_MS} ms, TTS TTFB {TTS_MS} ms ({:.0} ms)",
        o.sessions,
        o.turns,
        o.period.as_millis(),
        ms(PROVIDER_S)
    );
    println!(
        "turns: {} answered, {} unanswered, {} client errors, {} sessions failed to connect{}, \
         {} audio frames sent > 20 ms late",
        lat.len(),
        unanswered,
        errors,
        failed.len(),
        failed
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        late
    );
    if !lat.is_empty() {
        let over: Vec<f64> = lat.iter().map(|l| l - PROVIDER_S).collect();
        println!(
            "client view, user-stopped-speaking → bot-started-speaking minus {:.0} ms: \
             p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (raw p50 {:.1} ms, p99 {:.1} ms)",
            ms(PROVIDER_S),
            ms(percentile(&over, 0.50)),
            ms(percentile(&over, 0.99)),
            ms(*over.last().unwrap()),
            ms(percentile(&lat, 0.50)),
            ms(percentile(&lat, 0.99)),
        );
    }
    let name = "voxray_turn_overhead_seconds";
    let (b0, b1) = (
        buckets(&metrics_before, name),
        buckets(&metrics_after, name),
    );
    if b1.is_empty() {
        println!(
            "server view: {name} is not exported by this server (no such histogram on /metrics)"
        );
    } else {
        match (hist_quantile(&b0, &b1, 0.5), hist_quantile(&b0, &b1, 0.99)) {
            (Some((p50, n)), Some((p99, _))) => println!(
                "server view, {name}{{pipeline=\"voice\"}} over the run ({n:.0} turns): \
                 p50 {:.2} ms, p99 {:.2} ms (interpolated within buckets)",
                ms(p50),
                ms(p99)
            ),
            _ => println!("server view: {name} observed nothing during the run"),
        }
    }
    let name = "voxray_user_bot_latency_seconds";
    let (b0, b1) = (
        buckets(&metrics_before, name),
        buckets(&metrics_after, name),
    );
    if let (Some((p50, n)), Some((p99, _))) =
        (hist_quantile(&b0, &b1, 0.5), hist_quantile(&b0, &b1, 0.99))
    {
        println!(
            "server view, {name} minus {:.0} ms ({n:.0} turns): p50 {:.1} ms, p99 {:.1} ms \
             (bucket-interpolated: coarse)",
            ms(PROVIDER_S),
            ms(p50 - PROVIDER_S),
            ms(p99 - PROVIDER_S)
        );
    }
    // The server's own share on average, from the histograms every voice server exports:
    // mean user-bot latency minus the mean STT, LLM and TTS TTFB it measured.
    let means: Vec<Option<(f64, f64)>> = [
        ("voxray_user_bot_latency_seconds", "pipeline=\"voice\""),
        ("voxray_stt_ttfb_seconds", "provider=\"openai\""),
        ("voxray_llm_ttfb_seconds", "provider=\"openai\""),
        ("voxray_tts_ttfb_seconds", "provider=\"openai\""),
    ]
    .iter()
    .map(|(n, l)| hist_mean(&metrics_before, &metrics_after, n, l))
    .collect();
    if let [
        Some((ub, n)),
        Some((stt, _)),
        Some((llm, _)),
        Some((tts, _)),
    ] = means[..]
    {
        println!(
            "server view, means over the run ({n:.0} turns): user-bot latency {:.1} ms = STT TTFB \
             {:.1} + LLM TTFB {:.1} + TTS TTFB {:.1} (fakes: {STT_MS}/{LLM_MS}/{TTS_MS}) + {:.1} ms \
             of the server's own",
            ms(ub),
            ms(stt),
            ms(llm),
            ms(tts),
            ms(ub - stt - llm - tts)
        );
    }
    if let Some(p) = pid {
        if let (Some((t0, w0)), Some((t1, w1))) = cpu {
            let cpu_s = (t1 - t0) as f64 / ticks_per_s;
            let wall = w1.duration_since(w0).as_secs_f64();
            let share = cpu_s / wall;
            println!(
                "server CPU (pid {p}, /proc stat utime+stime over {wall:.1} s with all sessions \
                 live): {:.1}% of one core in all, {:.2}% per voice session ({:.1} CPU-ms per \
                 session-second)",
                share * 100.0,
                share * 100.0 / o.sessions as f64,
                share * 1000.0 / o.sessions as f64
            );
        }
        if let Some(idle) = idle_rss {
            println!(
                "server RSS: idle {:.1} MB, peak {:.1} MB with {} sessions: {:.2} MB per voice \
                 session",
                idle as f64 / 1024.0,
                peak_rss as f64 / 1024.0,
                o.sessions,
                (peak_rss.saturating_sub(idle)) as f64 / 1024.0 / o.sessions as f64
            );
        }
    } else {
        println!("server CPU and RSS: not measured (give --pid)");
    }
    println!(
        "machine: {} CPUs, load average before {load_before}, after {load_after} (shared \
         machine: other work competes with the server and this client)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
}
