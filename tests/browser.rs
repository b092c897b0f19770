//! The built-in browser client (`GET /`) in real headless Chromium (Debian `chromium`, driven
//! by `playwright-core` from npm through `tests/browser/run.mjs`): it connects over WebRTC and
//! over WebSocket with the API-key prompt and with a `/#token=` handed over by a backend, and
//! bot audio reaches the page's AnalyserNode. A page of another local origin checks CORS in
//! the browser: a listed origin can call `/start`, an unlisted one is blocked.
//!
//! Needs `chromium` and `npm ci` (both done by `.ci/run`). Without them the tests fail with
//! instructions; `VOXRAY_SKIP_BROWSER_TESTS=1` skips them explicitly.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, audio_dir, start_websocket};
use serde_json::{Value, json};

const KEY: &str = "browser-test-key-Qm4Zt8Lw2Xc7Nv5Rb1";

/// The runner script, or `None` when the tests are skipped on purpose.
fn runner() -> Option<PathBuf> {
    if std::env::var("VOXRAY_SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("browser tests skipped (VOXRAY_SKIP_BROWSER_TESTS=1)");
        return None;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "browser tests need Debian chromium: apt-get install -y chromium (see .ci/run), \
         or set VOXRAY_SKIP_BROWSER_TESTS=1"
    );
    assert!(
        repo.join("node_modules/playwright-core").is_dir(),
        "browser tests need playwright-core: run `npm ci` in the repository (see .ci/run), \
         or set VOXRAY_SKIP_BROWSER_TESTS=1"
    );
    Some(repo.join("tests/browser/run.mjs"))
}

/// Run the script in `mode` with `args`; its JSON report.
fn run(script: &Path, mode: &str, args: &Value) -> Value {
    let mut child = Command::new("node")
        .arg(script)
        .arg(mode)
        .arg(args.to_string())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("browser script did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "browser script failed: {stderr}\n{stdout}"
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| {
        panic!("bad report ({e}): {stdout}\n{stderr}");
    })
}

/// A minimal page server on its own origin (a thread answering every request with `html`).
fn page_server(html: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    port
}

fn assert_audio_arrived(report: &Value, name: &str) {
    let r = &report[name];
    assert!(r.get("error").is_none(), "{name}: {r:#}");
    assert_eq!(r["levelBefore"], 0.0, "{name}: level before connecting");
    let level = r["maxLevel"].as_f64().unwrap();
    assert!(level > 0.01, "{name}: bot audio level {level}: {r:#}");
    let events: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(events.contains(&"bot-ready"), "{name}: events {events:?}");
    println!(
        "browser {name}: connected after {} ms, bot audio after {} ms, peak RMS {level:.3}",
        r["connectedMs"], r["firstAudioMs"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_client_talks_over_webrtc_and_websocket() {
    let Some(script) = runner() else { return };
    let server = Server::start(json!({"host": "127.0.0.1", "server_api_key": KEY}), &[]);
    // The page is self-contained: no external hosts.
    let html = reqwest::get(server.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("RTCPeerConnection") && html.contains("/ws?format=json"));
    assert!(!html.contains("https://") && !html.contains("src=\"http"));
    // A backend holding the key hands the page a one-time token in the URL fragment.
    let start = start_websocket(&server, KEY).await;
    let wav = audio_dir()
        .join("utt02_command_piper-joe.wav")
        .canonicalize()
        .unwrap();
    let args = json!({"base": server.url(""), "key": KEY, "token": start["token"], "wav": wav});
    let report = tokio::task::spawn_blocking(move || run(&script, "client", &args))
        .await
        .unwrap();
    for name in ["webrtc", "websocket"] {
        assert_eq!(report[name]["askedForKey"], true, "{name}: {report:#}");
        assert_audio_arrived(&report, name);
    }
    assert!(report["token"].get("askedForKey").is_none());
    assert_audio_arrived(&report, "token");
    let log = server.log();
    assert!(!log.contains(KEY), "the key leaked into the log");
    assert!(
        !log.contains(start["token"].as_str().unwrap()),
        "the token leaked into the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_listed_origin_can_call_start_and_unlisted_is_blocked() {
    let Some(script) = runner() else { return };
    let page = "<!doctype html><title>another origin</title>";
    let listed = page_server(page);
    let unlisted = page_server(page);
    let server = Server::start(
        json!({"host": "127.0.0.1", "cors_allowed_origins": [format!("http://127.0.0.1:{listed}")]}),
        &[],
    );
    let args = json!({
        "api": server.url(""),
        "listed": format!("http://127.0.0.1:{listed}/"),
        "unlisted": format!("http://127.0.0.1:{unlisted}/"),
    });
    let report = tokio::task::spawn_blocking(move || run(&script, "cors", &args))
        .await
        .unwrap();
    assert_eq!(report["listed"]["ok"], true, "{report:#}");
    assert_eq!(report["listed"]["status"], 200, "{report:#}");
    assert!(report["listed"]["sessionId"].is_string(), "{report:#}");
    assert_eq!(report["unlisted"]["ok"], false, "{report:#}");
    assert!(
        report["unlisted"]["error"]
            .as_str()
            .unwrap()
            .contains("Failed to fetch"),
        "{report:#}"
    );
}

/// The built-in page with the parrot pipeline chosen in its selector, over WebRTC (`/start`
/// body `{"body":{"pipeline":"parrot"}}`) and WebSocket (`?pipeline=parrot`): Chromium's fake
/// microphone speaks a clip followed by 4 s of silence; the page shows the user's turn
/// (`user-stopped-speaking`) with no bot audio yet (an echo would be audible while the user
/// speaks), then receives the played-back turn (`bot-started-speaking`, level > 0.01 on its
/// AnalyserNode).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_client_parrot_over_webrtc_and_websocket() {
    let Some(script) = runner() else { return };
    let server = Server::start(json!({"host": "127.0.0.1"}), &[]);
    // Chromium loops the fake-microphone file: pad the clip with 4 s of silence so the turn
    // ends (turn_stop_secs 0.6) and its playback is heard before the clip starts again.
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("utt01_then_silence.wav");
    let clip =
        voxray::audio::wav::read_mono(&audio_dir().join("utt01_question_piper-joe.wav")).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: clip.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for s in clip
        .samples
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0.0, clip.sample_rate as usize * 4))
    {
        w.write_sample(voxray::audio::pcm::f32_to_i16(s)).unwrap();
    }
    w.finalize().unwrap();
    let args = json!({"base": server.url(""), "wav": wav});
    let report = tokio::task::spawn_blocking(move || run(&script, "parrot", &args))
        .await
        .unwrap();
    for name in ["webrtc", "websocket"] {
        let r = &report[name];
        assert!(r.get("error").is_none(), "{name}: {r:#}");
        let quiet = r["levelWhileSpeaking"].as_f64().unwrap();
        assert!(
            quiet < 0.01,
            "{name}: bot audio while the user spoke ({quiet}): {r:#}"
        );
        assert!(r["maxLevel"].as_f64().unwrap() > 0.01, "{name}: {r:#}");
        let events: Vec<&str> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|e| e.contains("speaking"))
            .collect();
        assert!(
            events.starts_with(&[
                "user-started-speaking",
                "user-stopped-speaking",
                "bot-started-speaking"
            ]),
            "{name}: {r:#}"
        );
        println!(
            "browser parrot {name}: connected after {} ms, user turn ended after {} ms, bot audio after {} ms",
            r["connectedMs"], r["userStoppedMs"], r["botAudioMs"]
        );
    }
}
