//! The managed local LLM: a `llama-server` child process (llama.cpp, built by
//! `scripts/build-llama-server.sh`) on a free loopback port, serving the installed GGUF over
//! the OpenAI API; voxray talks to it with its ordinary OpenAI-compatible client
//! (`providers.md` §2.1, §9). Not linked in process: whisper.cpp already brings one ggml.
//!
//! The child dies with voxray (`PR_SET_PDEATHSIG`), and is killed when [`LlamaServer`] drops.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A running llama-server child.
#[derive(Debug)]
pub struct LlamaServer {
    child: tokio::process::Child,
    /// `http://127.0.0.1:<port>/v1`.
    pub base_url: String,
}

/// The llama-server executable: the `local_llama_server` key, else `llama-server` on `PATH`.
pub fn executable(configured: &str) -> Option<PathBuf> {
    if !configured.is_empty() {
        let p = PathBuf::from(configured);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("llama-server"))
            .find(|p| p.is_file())
    })
}

impl LlamaServer {
    /// Start `exe -m model` on a free 127.0.0.1 port (`-c 2048 -t threads --no-webui`) and
    /// wait (≤ `wait`) until its `/health` answers 200.
    ///
    /// # Errors
    /// One line: the child could not start, exited, or did not become healthy in time.
    pub async fn start(
        exe: &Path,
        model: &Path,
        threads: usize,
        wait: Duration,
    ) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port();
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "-c",
                "2048",
                "-t",
                &threads.max(1).to_string(),
                "--no-webui",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe; it only sets this child's parent-death signal.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot start: {e}", exe.display()))?;
        let health = format!("http://127.0.0.1:{port}/health");
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{}: exited at start-up ({status})", exe.display()));
            }
            if let Ok(r) = client
                .get(&health)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            if started.elapsed() > wait {
                let _ = child.kill().await;
                return Err(format!(
                    "{}: not healthy after {} s",
                    exe.display(),
                    wait.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            child,
            base_url: format!("http://127.0.0.1:{port}/v1"),
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
