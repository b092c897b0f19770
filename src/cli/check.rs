//! `voxray check` (`security-tools.md` §3): validate a configuration, or with `--production`
//! run the whole production checklist, as a PASS/FAIL/WARN/INFO/SKIP report.
//!
//! Exit codes: 0 no FAIL; 1 any FAIL (or any WARN with `--strict`); 2 usage error, an
//! unreadable or unparsable config, or an unknown check ID.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CliError, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, GlobalArgs};
use crate::config::{self, LoadOptions};
use crate::security::check::{self, Context, Status, report};

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// `[PASS]`/`[FAIL]` lines for terminals (80 columns).
    Text,
    /// One JSON document (`schemas/check-report.v1.json`).
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Arguments of `voxray check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Run the whole production checklist (TLS, keys, metrics, git, user, network, …).
    #[arg(long)]
    pub production: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Run exactly these checks: comma-separated IDs or prefixes (VXP-TLS-001, VXP-TLS).
    #[arg(long = "check", value_name = "IDS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Leave out these checks: comma-separated IDs or prefixes.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Treat WARN as failure (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Also scan git history for secrets (VXP-GIT-003).
    #[arg(long)]
    pub history: bool,
    /// TLS is terminated by a reverse proxy in front of voxray.
    #[arg(long)]
    pub behind_proxy: bool,
    /// Check this Dockerfile's final stage for a non-root USER (VXP-RUN-001).
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,
}

/// The line of `"key":` for a key path's last segment in the config file (SARIF regions).
fn line_of_key(file_text: &str, path: &str) -> Option<usize> {
    let leaf = path
        .split(['.', '['])
        .next_back()
        .unwrap_or(path)
        .trim_end_matches(']');
    let leaf = path
        .split('[')
        .next()
        .and_then(|p| p.rsplit('.').next())
        .unwrap_or(leaf);
    let needle = format!("\"{leaf}\"");
    file_text
        .lines()
        .position(|l| l.contains(&needle))
        .map(|i| i + 1)
}

/// Run `voxray check`; returns the exit code.
///
/// # Errors
/// Unreadable or unparsable config, or an unknown check ID: exit 2.
pub fn run(args: &CheckArgs, global: &GlobalArgs) -> Result<u8, CliError> {
    let selected = check::select(args.production, &args.only, &args.skip)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let mut opts = LoadOptions::from_process_env();
    opts.config_path = global.config.clone();
    let (loaded, problems) = config::load::load_lenient(&opts, &config::secret::NoKeyring)
        .map_err(|e| CliError {
            code: EXIT_ERROR,
            lines: e.0,
        })?;
    let ctx = Context {
        loaded: &loaded,
        problems: &problems,
        behind_proxy: args.behind_proxy,
        dockerfile: args.dockerfile.as_deref(),
        history: args.history,
        env: &opts.env,
        cwd: std::env::current_dir()?,
    };
    let results = check::run(&ctx, &selected);
    let config_name = loaded.file.as_ref().map(|p| p.display().to_string());
    let rendered = match args.format {
        CheckFormat::Text => {
            let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::text(
                &results,
                args.production,
                config_name.as_deref().unwrap_or("(none; defaults)"),
                ansi,
            )
        }
        CheckFormat::Json => {
            serde_json::to_string_pretty(&report::json(
                &results,
                args.production,
                config_name.as_deref(),
            ))
            .expect("report serialises")
                + "\n"
        }
        CheckFormat::Sarif => {
            let text = loaded
                .file
                .as_ref()
                .and_then(|f| std::fs::read_to_string(f).ok())
                .unwrap_or_default();
            let line_of = |path: &str| line_of_key(&text, path);
            serde_json::to_string_pretty(&report::sarif(&results, config_name.as_deref(), &line_of))
                .expect("report serialises")
                + "\n"
        }
    };
    print!("{rendered}");
    let failed = results
        .iter()
        .any(|r| r.status == Status::Fail || (args.strict && r.status == Status::Warn));
    Ok(if failed { EXIT_FINDINGS } else { EXIT_OK })
}
