//! `voxray audit`: find committed secrets in configs and git history (`security-tools.md` §2).
//!
//! The library scans bytes and returns findings; `cli/audit.rs` turns a [`Report`] into text,
//! JSON or SARIF. Layout:
//! - [`placeholder`]: the shared placeholder/reference classifier (§2.4);
//! - [`rules`]: Tier 1/2/3 rules, DSN passwords, public look-alikes; [`rules::scan_pair`] is the
//!   entry point `voxray check` reuses for literal secrets in a config;
//! - `json` / `lines`: the structural and line passes; [`scan`]: buffers, merging, positions;
//! - [`walk`]: inputs and git hygiene; [`history`]: `--history`; [`suppress`]: allowlist,
//!   inline `voxray:allow`, baselines; [`report`]: the three output formats.

pub mod history;
mod json;
mod lines;
pub mod placeholder;
pub mod report;
pub mod rules;
pub mod scan;
pub mod suppress;
pub mod walk;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

pub use placeholder::is_placeholder;
pub use rules::{Confidence, Hit, Severity, scan_pair};

/// Default `--max-file-size` (50 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 52_428_800;
/// Default `--max-decode-depth`.
pub const DEFAULT_MAX_DECODE_DEPTH: u8 = 3;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// A secret in a file or in history.
    Secret,
    /// A repository hygiene problem (a tracked or un-ignored `config.json`).
    Hygiene,
}

/// The commit a history finding was added in (§2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full commit id.
    pub sha: String,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// Author date, ISO 8601.
    pub date: String,
    /// First line of the message.
    pub summary: String,
    /// The same secret (fingerprint) is still in that file at HEAD.
    pub in_head: bool,
}

/// One finding, in the shape of the JSON report (`schemas/audit-report.v1.json`).
///
/// `line`/`column` are 1-based (columns in Unicode scalar values, BOM not counted) and point at
/// the secret's first character; `offset` is the 0-based byte offset in the file. Hygiene
/// findings have no position, secret or fingerprint. `secret` is `redact()`ed unless
/// `--show-secrets`.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule_id: String,
    /// `secret` or `hygiene`.
    pub kind: FindingKind,
    /// Rule description.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// File, relative to the scan root where possible, `/` separators.
    pub file: String,
    /// 1-based line of the secret's first character.
    pub line: Option<usize>,
    /// 1-based column of the secret's first character.
    pub column: Option<usize>,
    /// 1-based line of the secret's last character.
    pub end_line: Option<usize>,
    /// 1-based column of the secret's last character.
    pub end_column: Option<usize>,
    /// 0-based byte offset of the secret in the file.
    pub offset: Option<usize>,
    /// Key path or variable name holding the value.
    pub key_path: Option<String>,
    /// The decoded secret, redacted unless `--show-secrets`.
    pub secret: Option<String>,
    /// Whether `secret` and `snippet` are redacted.
    pub redacted: bool,
    /// `sha256:` + hex SHA-256 of the raw secret.
    pub fingerprint: Option<String>,
    /// The line around the secret, trimmed, ≤ 120 characters, secrets redacted.
    pub snippet: Option<String>,
    /// Decoding layers, outermost first.
    pub decoded: Vec<String>,
    /// History findings: the commit that added the secret.
    pub commit: Option<CommitInfo>,
    /// Remediation or hygiene message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For `.json` files: `json` when the structural pass ran, `line` when the file did not
    /// parse and only the line pass ran (§2.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    /// The line carries `voxray:allow` (not serialized).
    #[serde(skip)]
    pub inline_allowed: bool,
}

/// A file that was not scanned.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// File.
    pub file: String,
    /// `binary`, `too large`, `symlink`, `not a regular file`, `unreadable: <error>`,
    /// `internal error`.
    pub reason: String,
}

/// A non-fatal error met during the run (a directory that could not be read, …).
#[derive(Debug, Clone, Serialize)]
pub struct RunError {
    /// Path concerned, if any.
    pub path: Option<String>,
    /// What went wrong (no secrets).
    pub message: String,
}

/// Counters of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Files scanned (history: files at HEAD are not included; added-line buffers are not files).
    pub files_scanned: usize,
    /// Files skipped.
    pub files_skipped: usize,
    /// Bytes scanned (files and history diffs).
    pub bytes_scanned: u64,
    /// Unsuppressed findings.
    pub findings: usize,
    /// Findings suppressed by the allowlist or `voxray:allow`.
    pub suppressed: usize,
    /// Findings suppressed by the baseline.
    pub baselined: usize,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Unsuppressed findings per severity.
    pub by_severity: BySeverity,
}

/// Findings per severity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BySeverity {
    /// Critical.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
}

/// Options of one audit run (the flags of `voxray audit`).
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Paths to scan; `-` is stdin. Empty means `.`.
    pub paths: Vec<PathBuf>,
    /// Also scan git history.
    pub history: bool,
    /// Limit history to `A..B`.
    pub history_range: Option<String>,
    /// Do not redact.
    pub show_secrets: bool,
    /// Baseline file (a baseline or a JSON report).
    pub baseline: Option<PathBuf>,
    /// Allowlist file; `None` → `.voxray-audit.toml` in the current directory when present.
    pub allowlist: Option<PathBuf>,
    /// Globs of files to leave out.
    pub excludes: Vec<String>,
    /// Base64 decoding depth (0 = off).
    pub max_decode_depth: u8,
    /// Larger files are skipped (`too large`).
    pub max_file_size: u64,
    /// Scan files git ignores.
    pub no_ignore: bool,
    /// Skip the git hygiene checks.
    pub no_git_checks: bool,
    /// Show a progress bar when the scan is large (the caller checks that stderr is a TTY).
    pub progress: bool,
    /// Extra config file in use (`--config`), checked by the hygiene rules.
    pub config_in_use: Option<PathBuf>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            paths: Vec::new(),
            history: false,
            history_range: None,
            show_secrets: false,
            baseline: None,
            allowlist: None,
            excludes: Vec::new(),
            max_decode_depth: DEFAULT_MAX_DECODE_DEPTH,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            no_ignore: false,
            no_git_checks: false,
            progress: false,
            config_in_use: None,
        }
    }
}

/// A fatal audit error (exit 2). Messages say what and where, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A path named on the command line is missing or unreadable.
    #[error("{0}")]
    Path(String),
    /// The allowlist file is missing or invalid.
    #[error("allowlist {0}")]
    Allowlist(String),
    /// The baseline file is missing or invalid.
    #[error("baseline {0}")]
    Baseline(String),
    /// `--history` outside a git repository, or a git failure.
    #[error("{0}")]
    Git(String),
    /// Other I/O failure.
    #[error("{0}")]
    Io(String),
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Unsuppressed findings, in scan order.
    pub findings: Vec<Finding>,
    /// Suppressed findings (allowlist, inline, baseline).
    pub suppressed: Vec<Finding>,
    /// Skipped files.
    pub skipped: Vec<Skipped>,
    /// Non-fatal errors.
    pub errors: Vec<RunError>,
    /// Counters.
    pub summary: Summary,
}

/// Run an audit: walk inputs, scan, check git hygiene and history, apply suppressions.
pub fn run(opts: &AuditOptions) -> Result<Report, AuditError> {
    let started = Instant::now();
    let allow = suppress::Allowlist::load(opts.allowlist.as_deref())?;
    let baseline = match &opts.baseline {
        Some(p) => Some(suppress::Baseline::load(p)?),
        None => None,
    };
    let mut report = Report::default();
    let mut all = walk::scan_inputs(opts, &allow, &mut report)?;
    if opts.history {
        all.extend(history::scan_history(opts, &mut report)?);
    }
    for f in all {
        if f.inline_allowed || allow.matches(&f) {
            report.summary.suppressed += 1;
            report.suppressed.push(f);
        } else if baseline.as_ref().is_some_and(|b| b.matches(&f)) {
            report.summary.baselined += 1;
            report.suppressed.push(f);
        } else {
            match f.severity {
                Severity::Critical => report.summary.by_severity.critical += 1,
                Severity::High => report.summary.by_severity.high += 1,
                Severity::Medium => report.summary.by_severity.medium += 1,
                Severity::Low => report.summary.by_severity.low += 1,
            }
            report.findings.push(f);
        }
    }
    report.summary.findings = report.findings.len();
    report.summary.files_skipped = report.skipped.len();
    report.summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Scan one in-memory buffer (a file's bytes) and return its findings, unsuppressed except for
/// inline `voxray:allow` markers, which are reported in [`Finding::inline_allowed`].
///
/// `name` is the file name used in findings; `.json` names get the structural pass. Binary
/// buffers return `Err` with the skip reason.
pub fn scan_buffer(name: &str, bytes: &[u8], show_secrets: bool) -> Result<Vec<Finding>, String> {
    let d = scan::decode(bytes).map_err(|_| "binary".to_string())?;
    let json_hint = name.to_ascii_lowercase().ends_with(".json");
    Ok(scan::findings_for_text(name, &d, json_hint, DEFAULT_MAX_DECODE_DEPTH, show_secrets).0)
}
