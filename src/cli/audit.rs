//! `voxray audit` (`security-tools.md` §2): find committed secrets in files and git history.
//! Findings go to stdout in the chosen format; the two summary lines go to stderr, the last
//! being `scanned N files, X MB in T s`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CliError, EXIT_FINDINGS, EXIT_OK, GlobalArgs};
use crate::security::audit::{self, AuditOptions, report, suppress::Baseline};

/// Output format of `voxray audit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// One finding per line.
    #[default]
    Text,
    /// One JSON document (schemas/audit-report.v1.json).
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Arguments of `voxray audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Files or directories to scan; `-` reads stdin. Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also scan the lines added by every commit of the repository's history.
    #[arg(long)]
    pub history: bool,
    /// Limit --history to a revision range.
    #[arg(long, value_name = "A..B", requires = "history")]
    pub history_range: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
    /// Print secrets and snippets unredacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Suppress findings listed in this baseline (or --format json report).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write a baseline of the current findings to FILE and exit 0.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Allowlist file (default: .voxray-audit.toml in the current directory, when present).
    #[arg(long, value_name = "FILE")]
    pub allowlist: Option<PathBuf>,
    /// Leave out files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Layers of base64 to decode and rescan (0 = off).
    #[arg(long, value_name = "N", default_value_t = audit::DEFAULT_MAX_DECODE_DEPTH)]
    pub max_decode_depth: u8,
    /// Skip files larger than this.
    #[arg(long, value_name = "BYTES", default_value_t = audit::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// Also scan files that git ignores.
    #[arg(long)]
    pub no_ignore: bool,
    /// Do not check whether config.json is tracked or un-ignored.
    #[arg(long)]
    pub no_git_checks: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Also list suppressed findings.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Exit 0 even when there are findings (report-only use).
    #[arg(long)]
    pub exit_zero: bool,
}

/// Run `voxray audit`; returns the exit code.
pub fn run(args: &AuditArgs, global: &GlobalArgs) -> Result<u8, CliError> {
    let opts = AuditOptions {
        paths: args.paths.clone(),
        history: args.history,
        history_range: args.history_range.clone(),
        show_secrets: args.show_secrets,
        baseline: args.baseline.clone(),
        allowlist: args.allowlist.clone(),
        excludes: args.exclude.clone(),
        max_decode_depth: args.max_decode_depth,
        max_file_size: args.max_file_size,
        no_ignore: args.no_ignore,
        no_git_checks: args.no_git_checks,
        progress: !args.no_progress && std::io::stderr().is_terminal(),
        config_in_use: global.config.clone(),
    };
    // A panic message could quote scanned text; per-file panics are recorded as
    // "internal error" instead of being printed.
    std::panic::set_hook(Box::new(|_| {}));
    let result = audit::run(&opts);
    let _ = std::panic::take_hook();
    let rep = result.map_err(|e| CliError::usage(format!("audit: {e}")))?;
    if let Some(path) = &args.write_baseline {
        let mut all = rep.findings.clone();
        all.extend(rep.suppressed.iter().cloned());
        std::fs::write(path, Baseline::render(&all)).map_err(|e| {
            CliError::usage(format!("audit: --write-baseline {}: {e}", path.display()))
        })?;
        eprintln!("voxray: wrote baseline {}", path.display());
        for l in report::summary_lines(&rep) {
            eprintln!("{l}");
        }
        return Ok(EXIT_OK);
    }
    let out = match args.format {
        AuditFormat::Text => report::render_text(&rep, args.show_suppressed),
        AuditFormat::Json => report::render_json(&rep, args.show_suppressed),
        AuditFormat::Sarif => report::render_sarif(&rep),
    };
    print!("{out}");
    if args.format == AuditFormat::Text {
        for s in &rep.skipped {
            eprintln!("voxray: skipped {}: {}", s.file, s.reason);
        }
        for e in &rep.errors {
            eprintln!("voxray: error: {}", e.message);
        }
    }
    for l in report::summary_lines(&rep) {
        eprintln!("{l}");
    }
    Ok(if rep.findings.is_empty() || args.exit_zero {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}
