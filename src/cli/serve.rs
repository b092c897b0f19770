//! `voxray serve`: load the config (`config.md`), start the server, run until a signal.
//!
//! Config errors print one line each (`voxray: config error: <key>: <problem> (from <source>)`)
//! and exit 2 with nothing bound.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::{CliError, EXIT_ERROR, EXIT_OK, GlobalArgs, LogFormat};
use crate::config::{self, LoadOptions};

/// Arguments of `voxray serve` (`config.md` §4). Flags override env and file.
#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    /// Bind address (default 127.0.0.1; the container image sets 0.0.0.0).
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// Port (0 = ephemeral; the chosen port is logged).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Which media routes exist: websocket, smallwebrtc or both.
    #[arg(long, value_name = "TRANSPORT")]
    pub transport: Option<String>,
    /// Allowed browser origin (repeatable; replaces the configured list).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// JSON body limit in bytes.
    #[arg(long, value_name = "N")]
    pub max_body_bytes: Option<u64>,
    /// Concurrent session slots (0 = unlimited).
    #[arg(long, value_name = "N")]
    pub max_sessions: Option<u64>,
    /// Serve /metrics only on this separate host:port.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Enable on-server TLS (tls_enable).
    #[arg(long)]
    pub tls: bool,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// Flag values as `(key path, flag name, value)` for the flag layer.
    pub fn flag_values(&self, global: &GlobalArgs) -> Vec<(&'static str, &'static str, Value)> {
        let mut out: Vec<(&'static str, &'static str, Value)> = Vec::new();
        let mut push = |path, flag, v: Option<Value>| {
            if let Some(v) = v {
                out.push((path, flag, v));
            }
        };
        push("host", "host", self.host.clone().map(Value::from));
        push("port", "port", self.port.map(Value::from));
        push(
            "transport",
            "transport",
            self.transport.clone().map(Value::from),
        );
        push(
            "cors_allowed_origins",
            "cors-origin",
            (!self.cors_origins.is_empty()).then(|| Value::from(self.cors_origins.clone())),
        );
        push(
            "max_request_body_bytes",
            "max-body-bytes",
            self.max_body_bytes.map(Value::from),
        );
        push(
            "max_sessions",
            "max-sessions",
            self.max_sessions.map(Value::from),
        );
        push(
            "metrics_listen",
            "metrics-listen",
            self.metrics_listen.clone().map(Value::from),
        );
        push("tls_enable", "tls", self.tls.then_some(Value::Bool(true)));
        push(
            "tls_cert_file",
            "tls-cert",
            self.tls_cert
                .as_ref()
                .map(|p| Value::from(p.display().to_string())),
        );
        push(
            "tls_key_file",
            "tls-key",
            self.tls_key
                .as_ref()
                .map(|p| Value::from(p.display().to_string())),
        );
        push(
            "log_level",
            "log-level",
            global.effective_log_level().map(Value::from),
        );
        push(
            "log_format",
            "log-format",
            global
                .log_format
                .map(|f| Value::from(if f == LogFormat::Json { "json" } else { "text" })),
        );
        out
    }
}

/// Run `voxray serve`; returns the exit code.
///
/// # Errors
/// Config errors and bind failures, as [`CliError`] with exit code 2.
pub fn run(args: &ServeArgs, global: &GlobalArgs) -> Result<u8, CliError> {
    let mut opts = LoadOptions::from_process_env();
    opts.config_path = global.config.clone();
    opts.flags = args.flag_values(global);
    let loaded = config::load(&opts).map_err(|e| CliError {
        code: EXIT_ERROR,
        lines: e.0,
    })?;
    crate::telemetry::init(&loaded.config.log_level, loaded.config.log_format == "json");
    let runtime = runtime()?;
    runtime
        .block_on(crate::server::run(loaded, opts))
        .map_err(|e| CliError::usage(e.to_string()))?;
    // Sessions and their tasks are gone; do not wait for detached connection tasks.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    Ok(EXIT_OK)
}

/// The async runtime: one worker per CPU the process may use (`taskset`, cgroup quota); with
/// a single CPU a current-thread runtime does the same work without the multi-thread
/// scheduler's cross-thread wake-ups and atomics (`pipeline.md` §10: the capacity figures are
/// per core).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cpus)
            .enable_all()
            .build()
    }
}
