//! Test support: start the real `voxray` binary on an ephemeral port and talk to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `voxray serve` process; killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: Arc<Mutex<String>>,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Start with a config file holding `config` (JSON) and extra env vars.
    pub fn start(config: serde_json::Value, env: &[(&str, &str)]) -> Server {
        Self::start_args(config, env, &[])
    }

    /// Start with extra `serve` arguments.
    pub fn start_args(config: serde_json::Value, env: &[(&str, &str)], args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config;
        if cfg.get("port").is_none() {
            cfg["port"] = 0.into();
        }
        let path = dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_voxray"));
        cmd.arg("serve").arg("--config").arg(&path).args(args);
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // Hermetic by default: no keys from the OS keyring of whoever runs the tests.
            .env("VOXRAY_KEYRING_BACKEND", "none");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(cmd, dir)
    }

    /// Spawn a prepared `voxray serve` command (any wrapper around it, e.g. `setpriv`) and
    /// wait for its `listening addr=` line; `dir` lives as long as the server.
    pub fn spawn(mut cmd: Command, dir: tempfile::TempDir) -> Server {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("voxray starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                {
                    let mut l = sink.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
                if !sent && let Some(rest) = line.split("listening addr=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("");
                    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
                    let _ = tx.send(port);
                    sent = true;
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; log:\n{}", log.lock().unwrap());
            }
        };
        Server {
            child,
            port,
            log,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws://127.0.0.1:{}{path_and_query}", self.port)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Send a signal to the process.
    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Wait for the process to exit; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The value of one metric series (exact line prefix match, e.g. `voxray_sessions_active{transport="websocket"}`).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `voxray` with arguments, env and a working dir; (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], env: &[(&str, &str)], dir: &Path) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voxray"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Hermetic by default: no keys from the OS keyring of whoever runs the tests.
        .env("VOXRAY_KEYRING_BACKEND", "none");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub mod local;
pub mod wsclient;

/// Twilio's request signature written out independently of the library (`wire.md` §3.1,
/// §3.5): base64(HMAC-SHA1(token, url + sorted name+value pairs)).
pub fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The shared test audio directory (`../shared/data/audio` next to the repository).
pub fn audio_dir() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        repo.join("../shared/data/audio"),
        repo.join("shared/data/audio"),
    ] {
        if candidate.is_dir() {
            return candidate;
        }
    }
    panic!("test audio not found next to the repository (../shared/data/audio)");
}

/// A minimal HTTPS/1.1 client (tokio-rustls) to 127.0.0.1:`port` with SNI `sni`, trusting only
/// the certificates in `cert_pem`: (status, lower-cased head, body).
pub async fn https(
    port: u16,
    sni: &str,
    cert_pem: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    use rustls_pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls_pki_types::ServerName::try_from(sni.to_string()).unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    // JSON body routes need the JSON media type (issue 10 item 8).
    let ctype = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {sni}:{port}\r\nConnection: close\r\n{ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_ascii_lowercase(), body.to_string()))
}

/// `POST /start` with `{"transport":"websocket"}` and an API key; the JSON answer
/// (`sessionId`, `wsUrl`, `token`).
pub async fn start_websocket(server: &Server, key: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(server.url("/start"))
        .header("X-API-Key", key)
        .json(&serde_json::json!({"transport": "websocket"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

// ---- helpers of the keygen/audit tests: run the binary with stdin, temp dirs ----

/// Run `voxray args…` in `dir` with extra environment and optional stdin; no inherited
/// `VOXRAY_KEYRING_BACKEND`. Returns the whole [`std::process::Output`].
pub fn voxray(
    args: &[&str],
    dir: &Path,
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_voxray"));
    c.args(args).current_dir(dir).stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    // Hermetic by default: no keys from the OS keyring of whoever runs the tests.
    c.env("VOXRAY_KEYRING_BACKEND", "none");
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("spawn voxray");
    if let Some(s) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s)
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait for voxray")
}

/// A fresh directory under the system temp dir.
pub fn tempdir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("voxray-test-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Stdout as UTF-8.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Stderr as UTF-8.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}
