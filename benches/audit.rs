//! Throughput of `voxray audit` (`security-tools.md` §2.13).
//!
//! Generates ≥ 100 MB of config-shaped files (JSON, YAML, .env) in ≥ 400 files in a temp
//! directory, one of them a ≥ 10 MB single-line JSON, then runs the audit library with default
//! options and prints MB/s for the whole set and for the single-line file. Run with
//! `cargo bench --bench audit` (release profile). Prints figures; asserts nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use voxray::security::audit::{self, AuditOptions};

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn rand_str(rng: &mut StdRng, n: usize, alphabet: &[u8]) -> String {
    (0..n)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

fn uuid(rng: &mut StdRng) -> String {
    let h = b"0123456789abcdef";
    format!(
        "{}-{}-4{}-a{}-{}",
        rand_str(rng, 8, h),
        rand_str(rng, 4, h),
        rand_str(rng, 3, h),
        rand_str(rng, 3, h),
        rand_str(rng, 12, h)
    )
}

/// One config-shaped JSON object (≈ 1.3 KB) as a single line.
fn session_json(rng: &mut StdRng, i: usize) -> String {
    let hex = b"0123456789abcdef";
    format!(
        concat!(
            r#"{{"id":"{}","name":"agent-{}","host":"0.0.0.0","port":{},"transport":"both","#,
            r#""cors_allowed_origins":["https://app{}.example.com","https://admin.example.com"],"#,
            r#""server_api_key":"${{VOXRAY_SERVER_API_KEY}}","api_keys":{{"openai":"YOUR_OPENAI_KEY_HERE","deepgram":"${{DEEPGRAM_API_KEY}}","elevenlabs":""}},"#,
            r#""stt_provider":"deepgram","llm_provider":"openai","tts_provider":"elevenlabs","model":"gpt-4o-mini","#,
            r#""system_prompt":"You are a friendly voice assistant for ticket {}. Keep answers short and speak naturally.","#,
            r#""image_digest":"sha256:{}","commit":"{}","#,
            r#""webrtc_ice_servers":[{{"urls":"stun:stun.l.google.com:19302"}},{{"urls":"turn:turn.example.com:3478","username":"u{}","credential":"${{TURN_CREDENTIAL}}"}}],"#,
            r#""recording":{{"enable":false,"bucket":"voxray-rec-{}","region":"eu-west-1","base_path":"recordings/{}"}},"#,
            r#""transcripts":{{"enable":true,"driver":"postgres","dsn":"postgres://voxray:${{DB_PASSWORD}}@db.internal:5432/voxray","table_name":"call_transcripts"}},"#,
            r#""vad_threshold":0.02,"turn_stop_secs":0.6,"max_tokens":512,"metadata":{{"trace":"{}","note":"{}"}}}}"#
        ),
        uuid(rng),
        i,
        8000 + i % 1000,
        i,
        i,
        rand_str(rng, 64, hex),
        rand_str(rng, 40, hex),
        i,
        i,
        rand_str(rng, 12, ALNUM),
        rand_str(rng, 32, hex),
        rand_str(rng, 48, ALNUM),
    )
}

fn yaml_block(rng: &mut StdRng, i: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "- name: agent-{i}\n  image: ghcr.io/voxray/voxray@sha256:{}\n  env:\n    - name: OPENAI_API_KEY\n      valueFrom:\n        secretKeyRef:\n          name: voxray\n          key: openai\n    - name: VOXRAY_PORT\n      value: \"{}\"\n  labels:\n    app: voxray\n    trace: {}\n",
        rand_str(rng, 64, b"0123456789abcdef"),
        8000 + i % 1000,
        uuid(rng)
    );
    s
}

fn env_block(rng: &mut StdRng, i: usize) -> String {
    format!(
        "# agent {i}\nVOXRAY_HOST=0.0.0.0\nVOXRAY_PORT={}\nOPENAI_API_KEY=${{OPENAI_API_KEY}}\nDEEPGRAM_API_KEY=\nVOXRAY_SYSTEM_PROMPT=\"Be brief, agent {i}\"\nTRACE_ID={}\n",
        8000 + i % 1000,
        uuid(rng)
    )
}

fn generate(dir: &Path) -> (u64, PathBuf) {
    let mut rng = StdRng::seed_from_u64(42);
    let mut total = 0u64;
    // 420 files of ≈ 225 KB each: JSON (pretty-ish, one object per line), YAML and .env.
    for f in 0..420 {
        let mut s = String::new();
        let target = 225_000;
        match f % 3 {
            0 => {
                s.push_str("{\"sessions\": [\n");
                let mut i = 0;
                while s.len() < target {
                    if i > 0 {
                        s.push_str(",\n");
                    }
                    s.push_str(&session_json(&mut rng, i));
                    i += 1;
                }
                s.push_str("\n]}\n");
            }
            1 => {
                s.push_str("apiVersion: v1\nkind: List\nitems:\n");
                let mut i = 0;
                while s.len() < target {
                    s.push_str(&yaml_block(&mut rng, i));
                    i += 1;
                }
            }
            _ => {
                let mut i = 0;
                while s.len() < target {
                    s.push_str(&env_block(&mut rng, i));
                    i += 1;
                }
            }
        }
        let ext = ["json", "yaml", "env"][f % 3];
        let p = dir.join(format!("cfg-{f:03}.{ext}"));
        std::fs::write(&p, &s).expect("write");
        total += s.len() as u64;
    }
    // One ≥ 10 MB single-line JSON.
    let mut s = String::from("{\"sessions\":[");
    let mut i = 0;
    while s.len() < 10_500_000 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&session_json(&mut rng, i));
        i += 1;
    }
    s.push_str("]}");
    let big = dir.join("big-single-line.json");
    std::fs::write(&big, &s).expect("write");
    total += s.len() as u64;
    (total, big)
}

fn run(paths: Vec<PathBuf>) -> (f64, u64, usize, usize) {
    let opts = AuditOptions {
        paths,
        no_git_checks: true,
        ..AuditOptions::default()
    };
    let t = Instant::now();
    let r = audit::run(&opts).expect("audit runs");
    (
        t.elapsed().as_secs_f64(),
        r.summary.bytes_scanned,
        r.summary.files_scanned,
        r.findings.len(),
    )
}

fn main() {
    let dir = std::env::temp_dir().join(format!("voxray-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (total, big) = generate(&dir);
    // Warm the page cache, then time several runs: the best shows the scanner, the median
    // how much other load on the machine cost.
    let _ = run(vec![dir.clone()]);
    let report = |name: &str, paths: Vec<PathBuf>, n: usize| {
        let mut rates = Vec::new();
        let (mut mb, mut files, mut findings) = (0.0, 0, 0);
        for _ in 0..n {
            let (secs, bytes, f, k) = run(paths.clone());
            mb = bytes as f64 / 1e6;
            (files, findings) = (f, k);
            rates.push(mb / secs);
        }
        rates.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        println!(
            "{name}: {files} files, {mb:.1} MB: best {:.1} MB/s, median {:.1} MB/s over {n} runs ({findings} findings)",
            rates[n - 1],
            rates[n / 2]
        );
    };
    report("audit set", vec![dir.clone()], 3);
    if std::env::var("VOXRAY_BENCH_PASSES").is_ok() {
        profile(&big);
    }
    report("single-line JSON", vec![big.clone()], 5);
    println!("(generated {:.1} MB)", total as f64 / 1e6);
    let _ = std::fs::remove_dir_all(&dir);
}

fn profile(big: &Path) {
    use voxray::security::audit::{rules, scan};
    let text = std::fs::read_to_string(big).expect("read");
    let yaml = std::fs::read_to_string(big.with_file_name("cfg-001.yaml")).expect("read");
    let envf = std::fs::read_to_string(big.with_file_name("cfg-002.env")).expect("read");
    let cpu = || {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
    };
    let t = |name: &str, f: &dyn Fn()| {
        let (s, c) = (Instant::now(), cpu());
        f();
        println!(
            "  {name}: {:.3} s wall, {:.3} s thread CPU",
            s.elapsed().as_secs_f64(),
            cpu() - c
        );
    };
    t("scan_text depth3", &|| {
        scan::scan_text(&text, true, 3);
    });
    t("scan_text depth0", &|| {
        scan::scan_text(&text, true, 0);
    });
    t("tokens", &|| {
        let mut v = Vec::new();
        rules::scan_tokens(&text, rules::TokenCtx::default(), &mut v);
    });
    t("dsn", &|| {
        let mut v = Vec::new();
        rules::scan_dsn(&text, &mut v);
    });
    t("yaml x47 depth0", &|| {
        for _ in 0..47 {
            scan::scan_text(&yaml, false, 0);
        }
    });
    t("env x47 depth0", &|| {
        for _ in 0..47 {
            scan::scan_text(&envf, false, 0);
        }
    });
}
