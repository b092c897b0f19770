//! `voxray models` against real mirrors: a loopback HTTP server (Range support, a response cut
//! off mid-body) and a mirror directory. Tiny synthetic files with their sha256 stand in for
//! the real models through the hidden `--manifest` test hook, so no model is needed.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// One request the mirror saw: path and its `Range` header.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
}

/// A static HTTP/1.1 file server on 127.0.0.1 serving `root`, with `Range: bytes=N-` support.
/// Paths in `cut` get their first response cut off after half the body (headers promise all).
struct Mirror {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mirror {
    fn start(root: PathBuf, cut: &[&str]) -> Mirror {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let cut: Arc<Mutex<HashSet<String>>> =
            Arc::new(Mutex::new(cut.iter().map(|s| s.to_string()).collect()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (root, log, cut) = (root.clone(), log.clone(), cut.clone());
                std::thread::spawn(move || serve(conn, &root, &log, &cut));
            }
        });
        Mirror { base, seen }
    }
}

fn serve(mut conn: TcpStream, root: &Path, log: &Mutex<Vec<Seen>>, cut: &Mutex<HashSet<String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_string());
        }
    }
    log.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
    });
    let Ok(body) = std::fs::read(root.join(path.trim_start_matches('/'))) else {
        let _ = conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    let (status, part) = match start {
        Some(s) if s < body.len() => ("206 Partial Content", &body[s..]),
        _ => ("200 OK", &body[..]),
    };
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n",
        part.len()
    );
    if let Some(s) = start.filter(|s| *s < body.len()) {
        head.push_str(&format!(
            "Content-Range: bytes {s}-{}/{}\r\n",
            body.len() - 1,
            body.len()
        ));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    if cut.lock().unwrap().remove(&path) {
        let _ = conn.write_all(&part[..part.len() / 2]);
        let _ = conn.flush();
        let _ = conn.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = conn.write_all(part);
}

/// A mirror dir with model `tiny` (files a.bin, b.bin of pseudo-random bytes) and a manifest
/// pinning them. Returns (tempdir, mirror root, manifest path, a.bin bytes, b.bin bytes).
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf, Vec<u8>, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mirror");
    std::fs::create_dir_all(root.join("tiny")).unwrap();
    let noise = |seed: u32, n: usize| -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    };
    let a = noise(1, 300_000);
    let b = noise(2, 5_000);
    std::fs::write(root.join("tiny/a.bin"), &a).unwrap();
    std::fs::write(root.join("tiny/b.bin"), &b).unwrap();
    let pin = |name: &str, data: &[u8]| serde_json::json!({"name": name, "sha256": hex::encode(Sha256::digest(data)), "size": data.len()});
    let manifest = serde_json::json!({"models": [{
        "name": "tiny", "role": "stt", "description": "test model",
        "files": [pin("a.bin", &a), pin("b.bin", &b)]
    }]});
    let mpath = tmp.path().join("manifest.json");
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    (tmp, root, mpath, a, b)
}

fn models(args: &[&str], manifest: &Path, dir: &Path) -> (i32, String, String) {
    let mut all = vec!["models", "--manifest", manifest.to_str().unwrap()];
    all.extend_from_slice(args);
    common::run_cli(
        &all,
        &[("VOXRAY_MODELS_DIR", dir.to_str().unwrap())],
        dir.parent().unwrap(),
    )
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[test]
fn http_mirror_corrupt_file_is_named_with_its_expected_sha256_and_nothing_is_installed() {
    let (tmp, root, manifest, _a, b) = fixture();
    // b.bin on the mirror has one flipped byte (same size): a.bin downloads fine first.
    let mut bad = b.clone();
    bad[100] ^= 0x01;
    std::fs::write(root.join("tiny/b.bin"), &bad).unwrap();
    let mirror = Mirror::start(root, &[]);
    let dir = tmp.path().join("models");
    let (code, out, err) = models(&["pull", "--mirror", &mirror.base], &manifest, &dir);
    assert_ne!(code, 0, "{out}{err}");
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].contains("tiny/b.bin"), "{err}");
    assert!(lines[0].contains(&sha(&b)), "expected sha256 named: {err}");
    assert!(lines[0].contains("nothing installed"), "{err}");
    // All or nothing: neither file is at its final name, the corrupt part is gone.
    assert!(!dir.join("tiny/a.bin").exists());
    assert!(!dir.join("tiny/b.bin").exists());
    assert!(!dir.join("tiny/b.bin.part").exists());
    let (code, out, _) = models(&["list"], &manifest, &dir);
    assert_eq!(code, 0);
    assert!(out.contains("not installed"), "{out}");
}

#[test]
fn dir_mirror_corrupt_file_is_named_and_nothing_is_installed_then_a_good_mirror_installs() {
    let (tmp, root, manifest, a, b) = fixture();
    let mut bad = a.clone();
    bad[7] ^= 0x80;
    let bad_root = tmp.path().join("bad-mirror");
    std::fs::create_dir_all(bad_root.join("tiny")).unwrap();
    std::fs::write(bad_root.join("tiny/a.bin"), &bad).unwrap();
    std::fs::write(bad_root.join("tiny/b.bin"), &b).unwrap();
    let dir = tmp.path().join("models");
    let (code, _, err) = models(
        &["pull", "tiny", "--mirror", bad_root.to_str().unwrap()],
        &manifest,
        &dir,
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("tiny/a.bin") && err.contains(&sha(&a)),
        "{err}"
    );
    assert!(!dir.join("tiny/a.bin").exists() && !dir.join("tiny/b.bin").exists());

    let (code, out, err) = models(
        &["pull", "--mirror", root.to_str().unwrap()],
        &manifest,
        &dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read(dir.join("tiny/a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(dir.join("tiny/b.bin")).unwrap(), b);
    let (code, out, _) = models(
        &["pull", "--mirror", root.to_str().unwrap()],
        &manifest,
        &dir,
    );
    assert_eq!(code, 0);
    assert!(out.contains("already installed"), "{out}");
}

#[test]
fn interrupted_http_download_is_resumed_by_a_rerun() {
    let (tmp, root, manifest, a, b) = fixture();
    let mirror = Mirror::start(root, &["/tiny/a.bin"]);
    let dir = tmp.path().join("models");
    let (code, out, err) = models(&["pull", "--mirror", &mirror.base], &manifest, &dir);
    assert_ne!(code, 0, "the cut-off download fails: {out}{err}");
    assert!(
        err.contains("tiny/a.bin") && err.contains("resume"),
        "{err}"
    );
    let part = dir.join("tiny/a.bin.part");
    let have = std::fs::metadata(&part)
        .expect("partial download kept")
        .len();
    assert!(
        have > 0 && (have as usize) < a.len(),
        "part has {have} bytes"
    );
    assert!(
        !dir.join("tiny/a.bin").exists(),
        "a partial file is never installed"
    );

    let (code, out, err) = models(&["pull", "--mirror", &mirror.base], &manifest, &dir);
    assert_eq!(code, 0, "{out}{err}");
    let seen = mirror.seen.lock().unwrap().clone();
    let resumed = seen
        .iter()
        .filter(|s| s.path == "/tiny/a.bin")
        .nth(1)
        .expect("a second request for a.bin");
    assert_eq!(
        resumed.range.as_deref(),
        Some(format!("bytes={have}-").as_str())
    );
    assert_eq!(std::fs::read(dir.join("tiny/a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(dir.join("tiny/b.bin")).unwrap(), b);
    assert!(!part.exists());
}

#[test]
fn verify_detects_a_flipped_byte_and_remove_deletes() {
    let (tmp, root, manifest, _a, b) = fixture();
    let dir = tmp.path().join("models");
    let (code, _, err) = models(
        &["pull", "--mirror", root.to_str().unwrap()],
        &manifest,
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = models(&["verify"], &manifest, &dir);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("tiny: ok"), "{out}");

    let path = dir.join("tiny/b.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4321] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let (code, out, err) = models(&["verify"], &manifest, &dir);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(path.to_str().unwrap()),
        "names the file: {err}"
    );
    assert!(err.contains(&sha(&b)), "names the expected sha256: {err}");

    // pull repairs it; remove deletes it.
    let (code, _, err) = models(
        &["pull", "--mirror", root.to_str().unwrap()],
        &manifest,
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b);
    let (code, _, _) = models(&["remove", "tiny"], &manifest, &dir);
    assert_eq!(code, 0);
    assert!(!dir.join("tiny").exists());
    let (code, _, err) = models(&["remove", "nope"], &manifest, &dir);
    assert_eq!(code, 2);
    assert!(err.contains("unknown model"), "{err}");
}

/// `pipeline: auto`, no cloud LLM, no models installed: the server runs echo and its start-up
/// log names the command that installs the local voice agent; `voxray check` reports the
/// missing models (INFO, exit 0).
#[test]
fn auto_without_models_stays_on_echo_and_names_models_pull() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("models");
    let server = common::Server::start(
        serde_json::json!({"pipeline": "auto", "models_dir": dir.to_str().unwrap()}),
        &[],
    );
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("pipeline auto: echo"))
        .unwrap_or_else(|| panic!("no start-up line about the pipeline: {log}"));
    assert!(line.contains("voxray models pull"), "{line}");
    drop(server);

    let (code, out, err) = common::run_cli(
        &["check", "--check", "VXP-MODELS-001"],
        &[("VOXRAY_MODELS_DIR", dir.to_str().unwrap())],
        tmp.path(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("[INFO] VXP-MODELS-001"), "{out}");
    assert!(out.contains("voxray models pull"), "{out}");
}
