//! The stable, seeded, time-bounded fuzz pass CI runs (issue 10 "Fuzzing"): the parsers that
//! see untrusted bytes (the config file and `VOXRAY_*` environment, the `audit` scanner, the
//! `/ws` serializers with the input normaliser, the SSE parser, SDP offers, carrier media
//! messages) get mutated inputs from their seed corpora and must never panic.
//!
//! Knobs: `VOXRAY_FUZZ_SECS` (seconds per target, default 3), `VOXRAY_FUZZ_SEED` (default
//! fixed, so a CI failure reproduces). A panicking input is written to
//! `target/fuzz-crashes/<target>-<n>.bin` and the test fails naming it. Coverage-guided
//! fuzzing of the same targets: `fuzz/` (cargo-fuzz, nightly; see fuzz/README.md).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use voxray::config::LoadOptions;
use voxray::config::load::{env_snapshot, load_with_keyring};
use voxray::config::secret::NoKeyring;

/// xorshift64*: small, seeded, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that steer mutations toward the parsers' interesting paths.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"\\u0000",
    b"\\ud800",
    b"${",
    b"}",
    b"${A:-",
    b"file:",
    b"file:/dev/null",
    b"\xff",
    b"\xc3",
    b"\xe2\x80\xa6",
    b"\t",
    b"\xc2\xa0",
    b"\r\n",
    b"null",
    b"true",
    b"1e999",
    b"-1",
    b"18446744073709551616",
    b"vxr_",
    b"sk-proj-",
    b"!env ",
    b"[hidden]",
    b"?api_key=",
    b"&sig=",
    b"://u:p@h/",
    b"eyJ",
    b"-----BEGIN ",
    b"AKIA",
    b"base64:",
    b"QUtJQQ==",
    b"_comment",
    b"api_keys",
    b"server_api_keys",
    b"webrtc_ice_servers",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], max_len: usize) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, rng.next() as u8),
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            3 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                let start = at.min(end);
                v.drain(start..end);
            }
            4 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(64)).min(v.len());
                let chunk = v[start..end].to_vec();
                v.splice(at..at, chunk);
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            _ => {
                let b = TOKENS[rng.below(TOKENS.len())][0];
                let n = 1 + rng.below(300);
                v.splice(at..at, std::iter::repeat_n(b, n));
            }
        }
    }
    v.truncate(max_len);
    v
}

fn budget() -> Duration {
    let secs = std::env::var("VOXRAY_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

fn seed() -> u64 {
    std::env::var("VOXRAY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5E_ED0F_70C5_u64)
        | 1
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if let Ok(b) = std::fs::read(&p)
            && b.len() <= 64 * 1024
        {
            out.push(b);
        }
    }
}

/// Run `f` on mutated inputs until the budget is spent; a panic saves the input and fails.
fn run_target(name: &str, seeds: &[Vec<u8>], max_len: usize, f: impl Fn(&[u8], &mut Rng)) {
    let mut rng = Rng(seed() ^ (name.len() as u64 * 0x9E37_79B9));
    let deadline = Instant::now() + budget();
    let mut execs = 0u64;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut crash: Option<PathBuf> = None;
    while Instant::now() < deadline {
        let input = mutate(&mut rng, seeds, max_len);
        let mut sub = Rng(rng.next() | 1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&input, &mut sub)));
        execs += 1;
        if r.is_err() {
            let dir = repo().join("target/fuzz-crashes");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{name}-{execs}.bin"));
            let _ = std::fs::write(&path, &input);
            crash = Some(path);
            break;
        }
    }
    std::panic::set_hook(prev);
    eprintln!(
        "fuzz {name}: {execs} executions in {:.1} s, seed {}",
        budget().as_secs_f64(),
        seed()
    );
    if let Some(p) = crash {
        panic!("fuzz {name}: an input panicked; saved to {}", p.display());
    }
}

#[test]
fn fuzz_config_file_and_environment() {
    let mut seeds = Vec::new();
    for f in ["config.example.json", "packaging/config.production.json"] {
        if let Ok(b) = std::fs::read(repo().join(f)) {
            seeds.push(b);
        }
    }
    seeds.extend(
        [
            r#"{"server_api_keys": ["vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL"], "port": 0}"#,
            r#"{"api_keys": {"openai": "${OPENAI}"}, "webrtc_ice_servers": [{"urls": "turn:x", "credential": "c"}]}"#,
            r#"{"recording": {"enable": true}, "transcripts": {"driver": "postgres", "dsn": "postgres://u:p@h/db"}}"#,
            r#"["vxr_a", 1]"#,
            "80a",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec()),
    );
    let vars: Vec<String> = voxray::config::keys::KEYS
        .iter()
        .map(|k| voxray::config::keys::canonical_env(k.path))
        .chain(
            [
                "VOXRAY_SERVER_API_KEYS",
                "VOXRAY_API_KEYS",
                "VOXRAY_API_KEYS__OPENAI",
                "OPENAI_API_KEY",
                "VOXRAY_CORS_ORIGINS",
            ]
            .map(String::from),
        )
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    run_target("config", &seeds, 16 * 1024, |input, rng| {
        // Half the inputs are a config file, half an environment.
        let mut opts = LoadOptions::default();
        if rng.below(2) == 0 {
            std::fs::write(&file, input).unwrap();
            opts.config_path = Some(file.clone());
        }
        let mut raw: Vec<(OsString, OsString)> = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let var = vars[rng.below(vars.len())].clone();
            let from = rng.below(input.len() + 1);
            let to = (from + rng.below(200)).min(input.len());
            raw.push((var.into(), OsString::from_vec(input[from..to].to_vec())));
        }
        raw.push(("VOXRAY_KEYRING_BACKEND".into(), "none".into()));
        let (env, invalid) = env_snapshot(raw);
        opts.env = env;
        opts.invalid_env = invalid;
        if let Err(e) = load_with_keyring(&opts, &NoKeyring) {
            assert!(!e.0.is_empty(), "an error names at least one problem");
        }
    });
}

#[test]
fn fuzz_audit_scanner() {
    let mut seeds = Vec::new();
    files_under(&repo().join("tests/audit_corpus/files"), &mut seeds);
    files_under(&repo().join("tests/audit_fixtures"), &mut seeds);
    assert!(seeds.len() >= 10, "audit seed corpus found");
    let names = ["x.json", "x.yaml", ".env", "x.txt", "Dockerfile", "x.toml"];
    run_target("audit", &seeds, 64 * 1024, |input, rng| {
        let name = names[rng.below(names.len())];
        if let Ok(findings) = voxray::security::audit::scan_buffer(name, input, false) {
            for f in findings {
                assert!(f.line.is_none_or(|l| l >= 1));
            }
        }
        let text = String::from_utf8_lossy(input);
        let _ = voxray::secret_text::redact(&text);
        let _ = voxray::secret_text::is_placeholder(&text);
    });
}

/// The `/ws` wire: protobuf frames, RTVI/JSON text and raw PCM through every serializer, then
/// whatever decoded through the input normaliser (the path of issue 10 item 1, which a pass
/// like this finds: an absurd per-message rate sizing the resampler).
#[test]
fn fuzz_ws_serializers() {
    use prost::Message as _;
    use voxray::transport::input::AudioIn;
    use voxray::transport::serializer::{self, Inbound, WireFormat, WireMessage, protobuf};
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for (rate, ch) in [(16_000u32, 1u32), (48_000, 2), (8_000, 1), (0, 0)] {
        let f = protobuf::Frame {
            frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
                id: 1,
                name: "a".into(),
                audio: vec![1u8; 64].into(),
                sample_rate: rate,
                num_channels: ch,
                pts: Some(3),
            })),
        };
        seeds.push(f.encode_to_vec());
    }
    for text in [
        r#"{"label":"rtvi-ai","type":"raw-audio","data":{"base64Audio":"AAEC","sampleRate":16000,"numChannels":1}}"#,
        r#"{"label":"rtvi-ai","type":"raw-audio-batch","data":{"base64AudioBatch":["AAEC","AQID"],"sampleRate":8000}}"#,
        r#"{"label":"rtvi-ai","type":"client-ready","id":"1","data":{"version":"2.0.0"}}"#,
        r#"{"label":"rtvi-ai","type":"send-text","data":{"content":"hi","options":{"run_immediately":false}}}"#,
        r##"{"label":"rtvi-ai","type":"dtmf","data":{"buttons":["1","#"]}}"##,
    ] {
        let msg = protobuf::Frame {
            frame: Some(protobuf::Kind::Message(protobuf::MessageFrame {
                data: text.into(),
            })),
        };
        seeds.push(msg.encode_to_vec());
        seeds.push(text.as_bytes().to_vec());
    }
    run_target("ws_serializers", &seeds, 4096, |input, rng| {
        let format = [WireFormat::Protobuf, WireFormat::Json, WireFormat::Raw][rng.below(3)];
        let mut ser = serializer::for_format(format, 16_000);
        let mut out = Vec::new();
        let bytes = bytes::Bytes::copy_from_slice(input);
        let _ = ser.decode(WireMessage::Binary(&bytes), &mut out);
        if let Ok(text) = std::str::from_utf8(input) {
            let _ = ser.decode(WireMessage::Text(text), &mut out);
        }
        let mut audio_in = AudioIn::new(16_000);
        for item in out {
            if let Inbound::Audio {
                pcm,
                sample_rate,
                num_channels,
            } = item
            {
                let rate = if sample_rate == 0 {
                    16_000
                } else {
                    sample_rate
                };
                if let Ok(a) = audio_in.normalise(&pcm, rate, num_channels) {
                    // Bounded: never more than 6x the input (8 kHz → 48 kHz at most).
                    assert!(a.pcm.len() <= pcm.len() * 6 + 4096);
                }
            }
        }
    });
}

/// The SSE parser shared by the OpenAI-compatible family and Anthropic, fed in random splits.
#[test]
fn fuzz_sse_parser() {
    let seeds: Vec<Vec<u8>> = vec![
        b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n".to_vec(),
        b"event: content_block_delta\r\ndata: {\"delta\":{\"text\":\"x\"}}\r\n\r\n: comment\n"
            .to_vec(),
        b"data: a\rdata: b\r\rid: 1\nretry: 10\n\n".to_vec(),
    ];
    run_target("sse_parser", &seeds, 8192, |input, rng| {
        let mut p = voxray::services::sse::SseParser::new();
        let mut rest = input;
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len());
            p.push(&rest[..n]);
            rest = &rest[n..];
            while p.next_event().is_some() {}
        }
    });
}

/// SDP offers: the candidate cap (our code) and then the WebRTC stack's SDP parser, as an
/// offer body reaches them.
#[test]
fn fuzz_sdp_offers() {
    let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\n\
a=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n\
a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n\
a=candidate:2 1 udp 2130706431 127.0.0.1 5001 typ host\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\na=sctp-port:5000\r\n";
    run_target(
        "sdp_offers",
        &[offer.as_bytes().to_vec()],
        8192,
        |input, _| {
            let text = String::from_utf8_lossy(input);
            let (capped, kept) = voxray::transport::webrtc::cap_candidates(&text, 32);
            assert!(kept <= 32);
            let _ = webrtc::peer_connection::RTCSessionDescription::offer(capped);
        },
    );
}

/// Carrier media-stream messages: the first-message detection and `start` parsing.
#[test]
fn fuzz_telephony_messages() {
    let seeds: Vec<Vec<u8>> = [
        r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#,
        r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"a":"b"}},"streamSid":"MZ1"}"#,
        r#"{"event":"start","start":{"call_control_id":"v3:1","media_format":{"encoding":"PCMA","sample_rate":8000,"channels":1}},"stream_id":"s1"}"#,
        r#"{"event":"start","start":{"callId":"c1","streamId":"s1","mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}}}"#,
        r#"{"event":"start","stream_sid":"s1","start":{"call_sid":"c1","media_format":{"encoding":"raw/slin","sample_rate":"8000"}}}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    run_target("telephony_messages", &seeds, 4096, |input, _| {
        let _ = voxray::telephony::start::detect(&String::from_utf8_lossy(input));
    });
}
